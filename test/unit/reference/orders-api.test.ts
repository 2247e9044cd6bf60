import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  QueryCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { TransactItem } from '../../../functions/runtime/outbox/outbox-writer';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import { MAX_BODY_BYTES } from '../../../reference/functions/http/request-body';
import type { Order } from '../../../reference/functions/orders/order-service';
import {
  apiEvent,
  jsonHeaders,
  ORDERS_TABLE,
  OUTBOX_TABLE,
  ordersApiAt,
  PROJECTION_TABLE,
} from './support/orders-api-wiring';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const ddb = mockClient(DynamoDBDocumentClient);

/** The orders table as the API reads it (the mocked GetCommand answers from here). */
let orders: Map<string, Order>;
let unexpectedErrors: unknown[];
let api: OrdersApi;

function existingOrder(orderId: string, changes: Partial<Order> = {}): Order {
  const order: Order = {
    orderId,
    customerId: 'customer-1',
    items: [
      { sku: 'sku-a', quantity: 2 },
      { sku: 'sku-b', quantity: 1 },
    ],
    status: 'PLACED',
    version: 1,
    notes: [],
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
    ...changes,
  };
  orders.set(orderId, order);
  return order;
}

interface RequestOptions {
  readonly stage?: string;
  readonly isBase64Encoded?: boolean;
}

function request(
  method: string,
  path: string,
  body?: string | object,
  options: RequestOptions = {},
): APIGatewayProxyEventV2 {
  return apiEvent(method, path, {
    ...options,
    headers: jsonHeaders(),
    body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
  });
}

function bodyOf(response: APIGatewayProxyStructuredResultV2): unknown {
  return JSON.parse(response.body ?? '');
}

/** Every DynamoDB call that could write: all but reads. */
function writesSent(): number {
  return ddb
    .calls()
    .filter((call) => !(call.args[0] instanceof GetCommand || call.args[0] instanceof QueryCommand)).length;
}

function transactions(): TransactItem[][] {
  return ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems ?? []);
}

function conditionFailed(codes: readonly string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

function expectBadRequest(
  response: APIGatewayProxyStructuredResultV2,
  error: string,
  paths?: readonly string[],
): void {
  expect(response.statusCode).toBe(400);
  expect(response.headers).toEqual({ 'content-type': 'application/json' });
  const body = bodyOf(response);
  expect(body).toEqual({
    error,
    details: expect.arrayContaining([
      expect.objectContaining({ path: expect.any(String), message: expect.any(String) }),
    ]),
  });
  if (paths !== undefined) {
    const reported = (body as { details: Array<{ path: string }> }).details.map((detail) => detail.path);
    expect(reported).toEqual(expect.arrayContaining([...paths]));
  }
  expect(writesSent()).toBe(0);
}

beforeEach(() => {
  ddb.reset();
  orders = new Map();
  unexpectedErrors = [];
  ddb.on(GetCommand).callsFake(async (input: GetCommandInput) => {
    if (input.TableName !== ORDERS_TABLE) return {};
    const order = orders.get(String(input.Key?.orderId));
    return order === undefined ? {} : { Item: { ...order } };
  });
  ddb.on(TransactWriteCommand).resolves({});
  api = ordersApiAt(NOW, (error) => unexpectedErrors.push(error));
});

describe('OrdersApi', () => {
  describe('POST /orders', () => {
    const validOrder = { customerId: 'customer-1', items: [{ sku: 'sku-a', quantity: 2 }] };

    it('answers 201 with orderId, version 1 and messageId after committing the order and its OrderPlaced message', async () => {
      // GIVEN
      const body = { ...validOrder, orderId: 'order-1' };

      // WHEN
      const response = await api.handle(request('POST', '/orders', body));

      // THEN
      expect(response.statusCode).toBe(201);
      const answer = bodyOf(response) as { messageId: string };
      expect(answer).toEqual({ orderId: 'order-1', version: 1, messageId: expect.stringMatching(UUID_V7) });
      expect(transactions()).toEqual([
        [
          {
            Put: {
              TableName: ORDERS_TABLE,
              Item: {
                orderId: 'order-1',
                customerId: 'customer-1',
                items: [{ sku: 'sku-a', quantity: 2 }],
                status: 'PLACED',
                version: 1,
                notes: [],
                createdAt: NOW.toISOString(),
                updatedAt: NOW.toISOString(),
              },
              ConditionExpression: 'attribute_not_exists(orderId)',
            },
          },
          {
            Put: {
              TableName: OUTBOX_TABLE,
              Item: {
                groupKey: 'order-1',
                sequence: 1,
                messageId: answer.messageId,
                type: 'OrderPlaced',
                payload: JSON.stringify({
                  orderId: 'order-1',
                  customerId: 'customer-1',
                  items: [{ sku: 'sku-a', quantity: 2 }],
                }),
                // the request's correlation id: a fresh W3C traceparent outside an X-Ray trace
                traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
                status: 'PENDING',
                attempts: 0,
                createdAt: NOW.toISOString(),
              },
              ConditionExpression: 'attribute_not_exists(groupKey)',
            },
          },
        ],
      ]);
    });

    it('gives the order a new UUIDv7 id when the body has none', async () => {
      // WHEN
      const response = await api.handle(request('POST', '/orders', validOrder));

      // THEN
      expect(response.statusCode).toBe(201);
      const { orderId } = bodyOf(response) as { orderId: string };
      expect(orderId).toMatch(UUID_V7);
      expect(transactions()[0]?.[1]?.Put?.Item?.groupKey).toBe(orderId);
    });

    it('reads a base64-encoded body', async () => {
      // GIVEN
      const encoded = Buffer.from(JSON.stringify({ ...validOrder, orderId: 'order-64' })).toString('base64');

      // WHEN
      const response = await api.handle(request('POST', '/orders', encoded, { isBase64Encoded: true }));

      // THEN
      expect(response.statusCode).toBe(201);
      expect(bodyOf(response)).toMatchObject({ orderId: 'order-64' });
    });

    it('answers 409 when an order with that id exists', async () => {
      // GIVEN
      ddb.on(TransactWriteCommand).rejects(conditionFailed(['ConditionalCheckFailed', 'None']));

      // WHEN
      const response = await api.handle(request('POST', '/orders', { ...validOrder, orderId: 'order-1' }));

      // THEN
      expect(response.statusCode).toBe(409);
      expect(bodyOf(response)).toEqual({ error: 'order order-1 already exists' });
    });

    it('answers 503, and reports the error, when the transaction failed for another reason', async () => {
      // GIVEN
      const failure = new Error('service unavailable');
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const response = await api.handle(request('POST', '/orders', validOrder));

      // THEN
      expect(response.statusCode).toBe(503);
      expect(bodyOf(response)).toEqual({ error: expect.stringContaining('not committed') });
      expect(unexpectedErrors).toEqual([
        expect.objectContaining({ name: 'OutboxCommitError', cause: failure }),
      ]);
    });

    describe('bad input: 400 {error, details} and nothing written', () => {
      it('refuses malformed JSON', async () => {
        const response = await api.handle(request('POST', '/orders', '{"customerId": "c", "items": ['));
        expectBadRequest(response, 'malformed JSON', ['']);
      });

      it('refuses a missing body', async () => {
        const response = await api.handle(request('POST', '/orders'));
        expectBadRequest(response, 'request body required', ['']);
      });

      it('refuses a blank body', async () => {
        const response = await api.handle(request('POST', '/orders', '   '));
        expectBadRequest(response, 'request body required');
      });

      it.each([
        ['a JSON array', []],
        ['a JSON string', 'order'],
        ['a JSON null', null],
      ])('refuses %s instead of an object', async (_case, body) => {
        const response = await api.handle(request('POST', '/orders', JSON.stringify(body)));
        expectBadRequest(response, 'invalid request body');
      });

      it('refuses missing fields, naming each of them', async () => {
        const response = await api.handle(request('POST', '/orders', {}));
        expectBadRequest(response, 'invalid request body', ['customerId', 'items']);
      });

      it.each([
        ['a numeric customerId', { customerId: 42, items: validOrder.items }, 'customerId'],
        ['a blank customerId', { customerId: '   ', items: validOrder.items }, 'customerId'],
        ['items that are not an array', { customerId: 'c', items: { sku: 'sku-a', quantity: 1 } }, 'items'],
        ['no items', { customerId: 'c', items: [] }, 'items'],
        [
          'a quantity given as text',
          { customerId: 'c', items: [{ sku: 'sku-a', quantity: '2' }] },
          'items.0.quantity',
        ],
        [
          'a fractional quantity',
          { customerId: 'c', items: [{ sku: 'sku-a', quantity: 1.5 }] },
          'items.0.quantity',
        ],
        ['a zero quantity', { customerId: 'c', items: [{ sku: 'sku-a', quantity: 0 }] }, 'items.0.quantity'],
        ['a line without sku', { customerId: 'c', items: [{ quantity: 1 }] }, 'items.0.sku'],
        ['a sku with a space', { customerId: 'c', items: [{ sku: 'sku a', quantity: 1 }] }, 'items.0.sku'],
        ['an orderId with a slash', { ...validOrder, orderId: 'a/b' }, 'orderId'],
        ['an orderId of 65 characters', { ...validOrder, orderId: 'x'.repeat(65) }, 'orderId'],
        [
          'more than 50 lines',
          { customerId: 'c', items: Array.from({ length: 51 }, () => ({ sku: 'sku-a', quantity: 1 })) },
          'items',
        ],
      ])('refuses %s', async (_case, body, path) => {
        const response = await api.handle(request('POST', '/orders', body));
        expectBadRequest(response, 'invalid request body', [path]);
      });

      it('refuses an unknown field on the order', async () => {
        const response = await api.handle(request('POST', '/orders', { ...validOrder, discount: 10 }));
        expectBadRequest(response, 'invalid request body');
      });

      it('refuses an unknown field on a line', async () => {
        const body = { customerId: 'c', items: [{ sku: 'sku-a', quantity: 1, price: 3 }] };
        const response = await api.handle(request('POST', '/orders', body));
        expectBadRequest(response, 'invalid request body', ['items.0']);
      });

      it('refuses a body over 256 KiB before parsing it', async () => {
        // GIVEN a well-formed body of MAX_BODY_BYTES + 1 bytes
        const emptyCustomer = JSON.stringify({ ...validOrder, customerId: '' });
        const oversized = JSON.stringify({
          ...validOrder,
          customerId: 'x'.repeat(MAX_BODY_BYTES + 1 - emptyCustomer.length),
        });
        expect(Buffer.byteLength(oversized)).toBe(MAX_BODY_BYTES + 1);

        // WHEN
        const response = await api.handle(request('POST', '/orders', oversized));

        // THEN
        expectBadRequest(response, 'request body too large', ['']);
      });

      it('counts the size of a body in bytes, not characters', async () => {
        // GIVEN fewer than 256 Ki characters, but more than 256 KiB in UTF-8
        const oversized = JSON.stringify({ ...validOrder, customerId: 'é'.repeat(MAX_BODY_BYTES / 2 + 1) });
        expect(oversized.length).toBeLessThan(MAX_BODY_BYTES);

        // WHEN
        const response = await api.handle(request('POST', '/orders', oversized));

        // THEN
        expectBadRequest(response, 'request body too large');
      });

      it('does not refuse a body of exactly 256 KiB for its size', async () => {
        // GIVEN a body of exactly MAX_BODY_BYTES bytes, invalid only because its customerId is too long
        const exact = JSON.stringify({
          ...validOrder,
          customerId: 'x'.repeat(MAX_BODY_BYTES - JSON.stringify({ ...validOrder, customerId: '' }).length),
        });
        expect(Buffer.byteLength(exact)).toBe(MAX_BODY_BYTES);

        // WHEN
        const response = await api.handle(request('POST', '/orders', exact));

        // THEN
        expectBadRequest(response, 'invalid request body', ['customerId']);
      });
    });
  });

  describe('POST /orders/{orderId}/notes', () => {
    it('answers 201 with the next version after updating the order under its old version and committing OrderNoteAdded', async () => {
      // GIVEN
      existingOrder('order-1', { version: 3 });

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/notes', { text: 'ring twice' }));

      // THEN
      expect(response.statusCode).toBe(201);
      const answer = bodyOf(response) as { messageId: string };
      expect(answer).toEqual({ orderId: 'order-1', version: 4, messageId: expect.stringMatching(UUID_V7) });
      const [transaction] = transactions();
      expect(transaction).toHaveLength(2);
      expect(transaction?.[0]).toEqual({
        Update: {
          TableName: ORDERS_TABLE,
          Key: { orderId: 'order-1' },
          UpdateExpression: 'SET notes = list_append(notes, :note), version = :next, updatedAt = :now',
          ConditionExpression: 'version = :current',
          ExpressionAttributeValues: {
            ':note': ['ring twice'],
            ':next': 4,
            ':current': 3,
            ':now': NOW.toISOString(),
          },
        },
      });
      expect(transaction?.[1]?.Put).toMatchObject({
        TableName: OUTBOX_TABLE,
        Item: {
          groupKey: 'order-1',
          sequence: 4,
          messageId: answer.messageId,
          type: 'OrderNoteAdded',
          payload: JSON.stringify({ orderId: 'order-1', text: 'ring twice' }),
          status: 'PENDING',
          attempts: 0,
        },
        ConditionExpression: 'attribute_not_exists(groupKey)',
      });
    });

    it('answers 404 for an unknown order, writing nothing', async () => {
      // WHEN
      const response = await api.handle(request('POST', '/orders/missing/notes', { text: 'hello' }));

      // THEN
      expect(response.statusCode).toBe(404);
      expect(bodyOf(response)).toEqual({ error: 'order missing does not exist' });
      expect(writesSent()).toBe(0);
    });

    it('answers 201 when expectedVersion is the current version', async () => {
      // GIVEN
      existingOrder('order-1', { version: 2 });

      // WHEN
      const response = await api.handle(
        request('POST', '/orders/order-1/notes', { text: 'hi', expectedVersion: 2 }),
      );

      // THEN
      expect(response.statusCode).toBe(201);
      expect(bodyOf(response)).toMatchObject({ version: 3 });
    });

    it('answers 409 when expectedVersion is not the current version, writing nothing', async () => {
      // GIVEN
      existingOrder('order-1', { version: 3 });

      // WHEN
      const response = await api.handle(
        request('POST', '/orders/order-1/notes', { text: 'hi', expectedVersion: 2 }),
      );

      // THEN
      expect(response.statusCode).toBe(409);
      expect(bodyOf(response)).toEqual({ error: expect.stringContaining('version 3') });
      expect(writesSent()).toBe(0);
    });

    it('answers 409 when the order changed between the read and the commit of an expectedVersion note', async () => {
      // GIVEN
      existingOrder('order-1', { version: 2 });
      ddb.on(TransactWriteCommand).rejects(conditionFailed(['ConditionalCheckFailed', 'None']));

      // WHEN
      const response = await api.handle(
        request('POST', '/orders/order-1/notes', { text: 'hi', expectedVersion: 2 }),
      );

      // THEN
      expect(response.statusCode).toBe(409);
      expect(transactions()).toHaveLength(1);
    });

    it('re-reads the order and commits at the new version when another change won the race', async () => {
      // GIVEN another change moves the order from version 4 to 5 while the first attempt commits
      existingOrder('order-1', { version: 4 });
      ddb
        .on(TransactWriteCommand)
        .callsFakeOnce(async () => {
          existingOrder('order-1', { version: 5 });
          throw conditionFailed(['ConditionalCheckFailed', 'None']);
        })
        .resolves({});

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/notes', { text: 'hi' }));

      // THEN
      expect(response.statusCode).toBe(201);
      expect(bodyOf(response)).toMatchObject({ version: 6 });
      const second = transactions()[1];
      expect(second?.[0]?.Update?.ExpressionAttributeValues).toMatchObject({ ':current': 5, ':next': 6 });
      expect(second?.[1]?.Put?.Item).toMatchObject({ sequence: 6 });
    });

    it('answers 409 after losing the race five times', async () => {
      // GIVEN
      existingOrder('order-1', { version: 4 });
      ddb.on(TransactWriteCommand).rejects(conditionFailed(['ConditionalCheckFailed', 'None']));

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/notes', { text: 'hi' }));

      // THEN
      expect(response.statusCode).toBe(409);
      expect(transactions()).toHaveLength(5);
    });

    describe('bad input: 400 {error, details} and nothing written', () => {
      it.each([
        ['missing text', {}, 'text'],
        ['an empty text', { text: '' }, 'text'],
        ['a numeric text', { text: 7 }, 'text'],
        ['a text over 2000 characters', { text: 'x'.repeat(2001) }, 'text'],
        ['expectedVersion 0', { text: 'hi', expectedVersion: 0 }, 'expectedVersion'],
        ['expectedVersion as text', { text: 'hi', expectedVersion: '2' }, 'expectedVersion'],
      ])('refuses %s', async (_case, body, path) => {
        // GIVEN
        existingOrder('order-1');

        // WHEN
        const response = await api.handle(request('POST', '/orders/order-1/notes', body));

        // THEN
        expectBadRequest(response, 'invalid request body', [path]);
      });

      it('refuses an unknown field', async () => {
        existingOrder('order-1');
        const response = await api.handle(
          request('POST', '/orders/order-1/notes', { text: 'hi', author: 'me' }),
        );
        expectBadRequest(response, 'invalid request body');
      });

      it('refuses malformed JSON', async () => {
        existingOrder('order-1');
        const response = await api.handle(request('POST', '/orders/order-1/notes', '{text: hi}'));
        expectBadRequest(response, 'malformed JSON');
      });
    });
  });

  describe('POST /orders/{orderId}/cancel', () => {
    it('answers 200 after cancelling the order under its old version and committing OrderCancelled with its lines', async () => {
      // GIVEN
      const order = existingOrder('order-1', { version: 2 });

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/cancel', { reason: 'too late' }));

      // THEN
      expect(response.statusCode).toBe(200);
      const answer = bodyOf(response) as { messageId: string };
      expect(answer).toEqual({ orderId: 'order-1', version: 3, messageId: expect.stringMatching(UUID_V7) });
      const [transaction] = transactions();
      expect(transaction?.[0]).toEqual({
        Update: {
          TableName: ORDERS_TABLE,
          Key: { orderId: 'order-1' },
          UpdateExpression: 'SET #status = :cancelled, version = :next, updatedAt = :now',
          ConditionExpression: 'version = :current',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':cancelled': 'CANCELLED',
            ':next': 3,
            ':current': 2,
            ':now': NOW.toISOString(),
          },
        },
      });
      expect(transaction?.[1]?.Put?.Item).toMatchObject({
        groupKey: 'order-1',
        sequence: 3,
        messageId: answer.messageId,
        type: 'OrderCancelled',
        payload: JSON.stringify({ orderId: 'order-1', items: order.items, reason: 'too late' }),
        status: 'PENDING',
        attempts: 0,
      });
    });

    it('accepts a cancel without a body', async () => {
      // GIVEN
      existingOrder('order-1');

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/cancel'));

      // THEN
      expect(response.statusCode).toBe(200);
      const payload = JSON.parse(String(transactions()[0]?.[1]?.Put?.Item?.payload)) as object;
      expect(payload).not.toHaveProperty('reason');
    });

    it('answers 409 for an order already cancelled, writing nothing', async () => {
      // GIVEN
      existingOrder('order-1', { status: 'CANCELLED', version: 2 });

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/cancel'));

      // THEN
      expect(response.statusCode).toBe(409);
      expect(bodyOf(response)).toEqual({ error: 'order order-1 is already cancelled' });
      expect(writesSent()).toBe(0);
    });

    it('answers 409 when the order changed between the read and the commit', async () => {
      // GIVEN
      existingOrder('order-1');
      ddb.on(TransactWriteCommand).rejects(conditionFailed(['ConditionalCheckFailed', 'None']));

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/cancel'));

      // THEN
      expect(response.statusCode).toBe(409);
    });

    it('answers 404 for an unknown order, writing nothing', async () => {
      const response = await api.handle(request('POST', '/orders/missing/cancel'));
      expect(response.statusCode).toBe(404);
      expect(writesSent()).toBe(0);
    });

    it.each([
      ['an unknown field', { reason: 'x', refund: true }],
      ['a numeric reason', { reason: 5 }],
      ['a reason over 500 characters', { reason: 'x'.repeat(501) }],
    ])('refuses %s with 400, writing nothing', async (_case, body) => {
      existingOrder('order-1');
      const response = await api.handle(request('POST', '/orders/order-1/cancel', body));
      expectBadRequest(response, 'invalid request body');
    });
  });

  describe('POST /orders/{orderId}/payments', () => {
    it.each([
      ['a missing amount', {}],
      ['a zero amount', { amount: 0 }],
      ['a negative amount', { amount: -5 }],
      ['an amount given as text', { amount: '10' }],
      ['an amount over 1,000,000,000', { amount: 1_000_000_001 }],
      ['an amount too small for DynamoDB to store', { amount: 1e-200 }],
      ['an unknown field', { amount: 10, currency: 'EUR' }],
    ])('fails with 400, writing nothing, if the body has %s', async (_case, body) => {
      // GIVEN
      existingOrder('order-1');

      // WHEN
      const response = await api.handle(request('POST', '/orders/order-1/payments', body));

      // THEN
      expectBadRequest(response, 'invalid request body');
    });
  });

  describe('text fields', () => {
    it.each([
      ['a note with a lone surrogate', '/orders/order-1/notes', { text: 'a\ud800b' }, 'text'],
      ['a blank note', '/orders/order-1/notes', { text: ' \n ' }, 'text'],
      ['a note with a NUL character', '/orders/order-1/notes', { text: 'a\u0000b' }, 'text'],
      ['an empty cancel reason', '/orders/order-1/cancel', { reason: '' }, 'reason'],
      [
        'a customerId with a control character',
        '/orders',
        { customerId: 'c\u0007d', items: [{ sku: 'sku-a', quantity: 1 }] },
        'customerId',
      ],
    ])('fails with 400, writing nothing, if the body has %s', async (_case, path, body, field) => {
      // GIVEN
      existingOrder('order-1');

      // WHEN
      const response = await api.handle(request('POST', path, body));

      // THEN
      expectBadRequest(response, 'invalid request body', [field]);
    });

    it('keeps tabs and line breaks in a note', async () => {
      // GIVEN
      existingOrder('order-1');

      // WHEN
      const response = await api.handle(
        request('POST', '/orders/order-1/notes', { text: 'first\tline\r\nsecond' }),
      );

      // THEN
      expect(response.statusCode).toBe(201);
      expect(transactions()[0]?.[0]?.Update?.ExpressionAttributeValues?.[':note']).toEqual([
        'first\tline\r\nsecond',
      ]);
    });
  });

  describe('body encoding', () => {
    it('answers 400 for a base64 body that is not UTF-8, writing nothing', async () => {
      // GIVEN a note whose text holds the byte 0xFF
      existingOrder('order-1');
      const bytes = Buffer.concat([Buffer.from('{"text":"a'), Buffer.from([0xff]), Buffer.from('"}')]);

      // WHEN
      const response = await api.handle(
        request('POST', '/orders/order-1/notes', bytes.toString('base64'), { isBase64Encoded: true }),
      );

      // THEN
      expectBadRequest(response, 'malformed body', ['']);
    });
  });

  describe('path ids', () => {
    it.each([
      ['POST', '/orders//payments', { amount: 1 }],
      ['POST', '/orders/bad%20id/notes', { text: 'hi' }],
      ['POST', '/orders/bad.id/cancel', undefined],
      ['POST', `/orders/${'x'.repeat(65)}/notes`, { text: 'hi' }],
      ['GET', '/orders/a%2Fb', undefined],
      ['GET', '/orders/bad%20id/view', undefined],
    ])('%s %s answers 400 naming orderId, and nothing is written', async (method, path, body) => {
      // GIVEN
      existingOrder('order-1');

      // WHEN
      const response = await api.handle(request(method, path, body));

      // THEN
      expectBadRequest(response, 'invalid orderId', ['orderId']);
      expect(ddb.calls()).toHaveLength(0);
    });

    it('answers 400 for a path id that is not valid URL encoding', async () => {
      // WHEN
      const response = await api.handle(request('POST', '/orders/%E0%A4%A/notes', { text: 'hi' }));

      // THEN
      expectBadRequest(response, 'invalid orderId', ['orderId']);
      expect(bodyOf(response)).toMatchObject({ details: [{ message: 'is not valid URL encoding' }] });
    });

    it('answers 400 for an invalid sku', async () => {
      const response = await api.handle(request('GET', '/inventory/sku%20a'));
      expectBadRequest(response, 'invalid sku', ['sku']);
    });
  });

  describe('reads', () => {
    it('GET /orders/{orderId} answers the stored order', async () => {
      // GIVEN
      const order = existingOrder('order-1', { version: 3, notes: ['a', 'b'] });

      // WHEN
      const response = await api.handle(request('GET', '/orders/order-1'));

      // THEN
      expect(response.statusCode).toBe(200);
      expect(bodyOf(response)).toEqual(order);
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: ORDERS_TABLE,
        Key: { orderId: 'order-1' },
        ConsistentRead: true,
      });
    });

    it('GET /orders/{orderId} answers 404 for an unknown order', async () => {
      const response = await api.handle(request('GET', '/orders/missing'));
      expect(response.statusCode).toBe(404);
      expect(bodyOf(response)).toEqual({ error: 'order missing not found' });
    });

    it('GET /orders/{orderId}/view answers the projection, and 404 before there is one', async () => {
      // GIVEN
      ddb.on(GetCommand, { TableName: PROJECTION_TABLE, Key: { pk: 'ORDER#order-1', sk: 'VIEW' } }).resolves({
        Item: { orderId: 'order-1', status: 'PLACED', version: 2, notes: ['n'], paid: false },
      });

      // WHEN
      const present = await api.handle(request('GET', '/orders/order-1/view'));
      const absent = await api.handle(request('GET', '/orders/order-2/view'));

      // THEN
      expect(present.statusCode).toBe(200);
      expect(bodyOf(present)).toEqual({
        orderId: 'order-1',
        status: 'PLACED',
        version: 2,
        notes: ['n'],
        paid: false,
      });
      expect(absent.statusCode).toBe(404);
    });

    it('GET /inventory/{sku} answers the reserved quantity', async () => {
      // GIVEN
      ddb
        .on(GetCommand, { TableName: PROJECTION_TABLE, Key: { pk: 'SKU#sku-a', sk: 'INVENTORY' } })
        .resolves({
          Item: { sku: 'sku-a', reserved: 12 },
        });

      // WHEN
      const response = await api.handle(request('GET', '/inventory/sku-a'));

      // THEN
      expect(response.statusCode).toBe(200);
      expect(bodyOf(response)).toEqual({ sku: 'sku-a', reserved: 12 });
    });

    it('answers 500, and reports the error, when a read fails unexpectedly', async () => {
      // GIVEN
      const failure = new Error('boom');
      ddb.on(GetCommand).rejects(failure);

      // WHEN
      const response = await api.handle(request('GET', '/orders/order-1'));

      // THEN
      expect(response.statusCode).toBe(500);
      expect(bodyOf(response)).toEqual({ error: 'internal error' });
      expect(unexpectedErrors).toEqual([failure]);
    });
  });

  describe('routing', () => {
    it.each(['/customers', '/orders/order-1/notes/extra', '/'])(
      'answers 404 for %s, which no route serves',
      async (path) => {
        // WHEN
        const response = await api.handle(request('GET', path));

        // THEN
        expect(response.statusCode).toBe(404);
        expect(bodyOf(response)).toEqual({ error: `no route for ${path}` });
        expect(ddb.calls()).toHaveLength(0);
      },
    );

    it.each([
      ['GET', '/orders', 'POST'],
      ['DELETE', '/orders/order-1', 'GET'],
      ['GET', '/orders/order-1/notes', 'POST'],
      ['PUT', '/inventory/sku-a', 'GET'],
    ])('answers 405 for %s %s, naming the allowed method', async (method, path, allowed) => {
      // WHEN
      const response = await api.handle(request(method, path, {}));

      // THEN
      expect(response.statusCode).toBe(405);
      expect(bodyOf(response)).toEqual({ error: expect.stringContaining(`allowed: ${allowed}`) });
      expect(ddb.calls()).toHaveLength(0);
    });

    it('matches the method whatever its case', async () => {
      existingOrder('order-1');
      const response = await api.handle(request('get', '/orders/order-1'));
      expect(response.statusCode).toBe(200);
    });

    it('ignores the stage prefix of a named stage and a trailing slash', async () => {
      // GIVEN
      existingOrder('order-1');

      // WHEN
      const response = await api.handle(
        request('GET', '/prod/orders/order-1/', undefined, { stage: 'prod' }),
      );

      // THEN
      expect(response.statusCode).toBe(200);
      expect(bodyOf(response)).toMatchObject({ orderId: 'order-1' });
    });
  });
});
