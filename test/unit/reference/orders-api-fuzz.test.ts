import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import { MAX_BODY_BYTES, MAX_ERROR_DETAILS } from '../../../reference/functions/http/request-body';
import type { Order } from '../../../reference/functions/orders/order-service';
import { InMemoryDynamoDb, type Item } from '../../../tools/dynamodb/in-memory-dynamodb';
import {
  CURRENT_VERSION,
  ENDPOINTS,
  type Endpoint,
  invalidBodies,
  invalidPathOrderIds,
  pathOf,
  validBody,
} from './support/orders-api-arbitraries';
import {
  apiEvent,
  ORDERS_TABLE,
  OUTBOX_TABLE,
  ordersApiAt,
  PAYMENTS_TABLE,
  PROJECTION_TABLE,
} from './support/orders-api-wiring';

// Property-based: generated bad input of every class, on every POST route, is a 400 that wrote nothing; generated
// good input is accepted (so the generators are not vacuous). Seeded, with a fixed number of runs: deterministic.
const SEED = 20_260_801;
const RUNS = 40;
const run = { seed: SEED, numRuns: RUNS } as const;

const TABLES = [ORDERS_TABLE, OUTBOX_TABLE, PROJECTION_TABLE, PAYMENTS_TABLE];
const ORDER_ID = 'order-1';
const NOW = new Date('2026-03-01T12:00:00.000Z');

const ddb = mockClient(DynamoDBDocumentClient);

let db: InMemoryDynamoDb;
let unexpectedErrors: unknown[];
let api: OrdersApi;

/** Fresh tables holding one placed order, ORDER_ID at CURRENT_VERSION; a fresh API over them. */
function freshWorld(): void {
  ddb.reset();
  db = new InMemoryDynamoDb({
    [ORDERS_TABLE]: ['orderId'],
    [OUTBOX_TABLE]: ['groupKey', 'sequence'],
    [PROJECTION_TABLE]: ['pk', 'sk'],
    [PAYMENTS_TABLE]: ['transactionId'],
  });
  db.install(ddb);
  const order: Order = {
    orderId: ORDER_ID,
    customerId: 'customer-1',
    items: [{ sku: 'sku-a', quantity: 2 }],
    status: 'PLACED',
    version: CURRENT_VERSION,
    notes: [],
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  };
  db.seed(ORDERS_TABLE, { ...order });
  unexpectedErrors = [];
  api = ordersApiAt(NOW, (error) => unexpectedErrors.push(error));
}

/** How API Gateway may hand a body over: as text or base64-encoded, under whatever content type the client sent. */
interface Transport {
  readonly base64: boolean;
  readonly contentType: string | undefined;
}

const transport: fc.Arbitrary<Transport> = fc.record({
  base64: fc.boolean(),
  contentType: fc.constantFrom(
    'application/json',
    'application/json; charset=utf-8',
    'text/plain',
    'application/x-www-form-urlencoded',
    undefined,
  ),
});

function request(path: string, body: string | undefined, how: Transport): APIGatewayProxyEventV2 {
  const encoded = how.base64 && body !== undefined;
  return apiEvent('POST', path, {
    headers: how.contentType === undefined ? {} : { 'content-type': how.contentType },
    isBase64Encoded: encoded,
    body: encoded ? Buffer.from(body, 'utf8').toString('base64') : body,
  });
}

function tables(): Record<string, Item[]> {
  return Object.fromEntries(TABLES.map((name) => [name, db.all(name)]));
}

/** Every DynamoDB call that could write: all but reads. */
function writesSent(): number {
  return ddb
    .calls()
    .filter((call) => !(call.args[0] instanceof GetCommand || call.args[0] instanceof QueryCommand)).length;
}

/** Sends `event` and expects a 400 `{error, details}` that wrote nothing and reported no unexpected error. */
async function expectRefused(event: APIGatewayProxyEventV2): Promise<void> {
  // GIVEN
  const before = tables();
  ddb.resetHistory();

  // WHEN
  const response: APIGatewayProxyStructuredResultV2 = await api.handle(event);

  // THEN
  expect(response.statusCode).toBe(400);
  expect(response.headers).toEqual({ 'content-type': 'application/json' });
  const answer = JSON.parse(response.body ?? '') as { error: unknown; details: unknown };
  expect(answer).toEqual({
    error: expect.stringMatching(/\S/),
    details: expect.arrayContaining([{ path: expect.any(String), message: expect.stringMatching(/\S/) }]),
  });
  expect((answer.details as unknown[]).length).toBeLessThanOrEqual(MAX_ERROR_DETAILS);
  expect(writesSent()).toBe(0);
  expect(tables()).toEqual(before);
  expect(unexpectedErrors).toEqual([]);
}

const SUCCESS: Record<Endpoint, { readonly status: number; readonly message: string }> = {
  'POST /orders': { status: 201, message: 'OrderPlaced' },
  'POST /orders/{orderId}/notes': { status: 201, message: 'OrderNoteAdded' },
  'POST /orders/{orderId}/cancel': { status: 200, message: 'OrderCancelled' },
  'POST /orders/{orderId}/payments': { status: 202, message: 'PaymentCaptured' },
};

describe('OrdersApi under generated input (fast-check, seeded)', () => {
  beforeEach(freshWorld);

  describe.each(ENDPOINTS)('%s', (endpoint) => {
    const path = pathOf(endpoint, ORDER_ID);

    it.each(Object.entries(invalidBodies(endpoint)))(
      'fails with 400, writing nothing, if %s (as text or base64, whatever the content type)',
      async (_class, bodies) => {
        await fc.assert(
          fc.asyncProperty(bodies, transport, async (body, how) => {
            await expectRefused(request(path, body, how));
          }),
          run,
        );
      },
    );

    if (endpoint !== 'POST /orders') {
      it.each(Object.entries(invalidPathOrderIds))(
        'fails with 400 naming orderId, writing nothing, if %s (with a valid body)',
        async (_class, ids) => {
          await fc.assert(
            fc.asyncProperty(ids, validBody(endpoint), transport, async (id, body, how) => {
              const event = request(pathOf(endpoint, id), body, how);
              await expectRefused(event);
              const response = await api.handle(event);
              expect(JSON.parse(response.body ?? '')).toMatchObject({ error: 'invalid orderId' });
            }),
            run,
          );
        },
      );
    }

    it('fails with 400, writing nothing, if the body is marked base64-encoded but is not base64', async () => {
      const notBase64 = fc.oneof(
        validBody(endpoint)
          .filter((body) => body !== undefined && body.trim() !== '')
          .map((body) => body ?? ''), // JSON text itself: '{', '"', ' ' are not base64
        validBody(endpoint)
          .map((body) => Buffer.from(body ?? '{}').toString('base64'))
          .filter((encoded) => encoded.endsWith('='))
          .map((encoded) => encoded.replace(/=+$/, '')), // unpadded
        fc.constantFrom('e30', 'e30==', '****', 'e3 0=', 'e30=\n'),
      );
      await fc.assert(
        fc.asyncProperty(notBase64, async (raw) => {
          const event = { ...request(path, '', { base64: false, contentType: undefined }), body: raw };
          await expectRefused({ ...event, isBase64Encoded: true });
        }),
        run,
      );
    });

    it('fails with 400, writing nothing, if the base64-encoded body is not UTF-8', async () => {
      // GIVEN valid JSON with a byte that is not UTF-8 in a string (it would otherwise be stored as U+FFFD)
      const notUtf8 = fc
        .tuple(
          validBody(endpoint),
          fc.constantFrom([0xff], [0xc3], [0xed, 0xa0, 0x80], [0xe0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80]),
        )
        .map(([body, bytes]) => {
          const json = Buffer.from(body === undefined || body.trim() === '' ? '{}' : body);
          const at = json.indexOf('{') + 1;
          const injected = Buffer.concat([
            json.subarray(0, at),
            Buffer.from('"x":"'),
            Buffer.from(bytes),
            Buffer.from('",'),
            json.subarray(at),
          ]);
          return injected.toString('base64');
        });
      await fc.assert(
        fc.asyncProperty(notUtf8, async (encoded) => {
          const event = { ...request(path, '', { base64: false, contentType: undefined }), body: encoded };
          await expectRefused({ ...event, isBase64Encoded: true });
        }),
        run,
      );
    });

    const success = SUCCESS[endpoint];
    it(`accepts every valid body (${success.status}, one ${success.message}), as text or base64, whatever the content type`, async () => {
      await fc.assert(
        fc.asyncProperty(validBody(endpoint), transport, async (body, how) => {
          // GIVEN
          freshWorld();

          // WHEN
          const response = await api.handle(request(path, body, how));

          // THEN
          expect(response.statusCode, response.body).toBe(success.status);
          expect(unexpectedErrors).toEqual([]);
          const committed = db
            .all(OUTBOX_TABLE)
            .filter((item) => item.type === success.message && !String(item.groupKey).startsWith('TX#'));
          expect(committed).toHaveLength(1);
        }),
        run,
      );
    });
  });

  it('fails with 400 if a body of valid JSON is one byte over the limit, and reads one at the limit', async () => {
    // GIVEN a note padded with whitespace to exactly MAX_BODY_BYTES, and one byte more
    const note = JSON.stringify({ text: 'hi' });
    const at = `{${' '.repeat(MAX_BODY_BYTES - note.length)}${note.slice(1)}`;
    const over = ` ${at}`;
    const path = pathOf('POST /orders/{orderId}/notes', ORDER_ID);
    const plain: Transport = { base64: false, contentType: 'application/json' };

    // WHEN / THEN
    await expectRefused(request(path, over, plain));
    await expectRefused(request(path, over, { ...plain, base64: true }));
    expect((await api.handle(request(path, at, { ...plain, base64: true }))).statusCode).toBe(201);
  });

  it('lists at most MAX_ERROR_DETAILS problems, cut short, when a body has very many', async () => {
    // GIVEN 50 bad lines, each with 100 unknown fields (and neither sku nor quantity)
    const line = Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`unknown-field-${i}`, i]));
    const body = JSON.stringify({ customerId: 'c', items: Array.from({ length: 50 }, () => line) });

    // WHEN
    const response = await api.handle(
      request('/orders', body, { base64: false, contentType: 'application/json' }),
    );

    // THEN
    expect(response.statusCode).toBe(400);
    const { details } = JSON.parse(response.body ?? '') as { details: { path: string; message: string }[] };
    expect(details).toHaveLength(MAX_ERROR_DETAILS);
    expect(details.at(-1)).toEqual({
      path: '',
      message: `and ${50 * 3 - MAX_ERROR_DETAILS + 1} more problems`,
    });
    expect(Math.max(...details.map((detail) => detail.message.length))).toBeLessThanOrEqual(200);
    expect(writesSent()).toBe(0);
  });
});
