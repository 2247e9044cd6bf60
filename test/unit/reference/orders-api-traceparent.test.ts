import {
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import { requestTraceparentOf } from '../../../reference/functions/http/request-trace';
import { apiEvent, jsonHeaders, ORDERS_TABLE, OUTBOX_TABLE, ordersApiAt } from './support/orders-api-wiring';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const CALLER_TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/;

const ddb = mockClient(DynamoDBDocumentClient);
let api: OrdersApi;
let orders: Map<string, Record<string, unknown>>;

const post = (path: string, body: object, headers: Record<string, string> = {}) =>
  apiEvent('POST', path, { headers: { ...jsonHeaders(), ...headers }, body: JSON.stringify(body) });

/** The traceparent of every outbox item the API committed, in order. */
function committedTraceparents(): unknown[] {
  return ddb
    .commandCalls(TransactWriteCommand)
    .flatMap((call) => call.args[0].input.TransactItems ?? [])
    .flatMap((item) => (item.Put?.TableName === OUTBOX_TABLE ? [item.Put.Item?.traceparent] : []));
}

const order = { customerId: 'c-1', items: [{ sku: 'sku-a', quantity: 1 }] };

beforeEach(() => {
  ddb.reset();
  orders = new Map();
  ddb.on(GetCommand).callsFake(async (input: GetCommandInput) => {
    if (input.TableName !== ORDERS_TABLE) return {};
    const found = orders.get(String(input.Key?.orderId));
    return found === undefined ? {} : { Item: { ...found } };
  });
  ddb.on(TransactWriteCommand).resolves({});
  api = ordersApiAt(NOW, (error) => {
    throw error;
  });
});

describe("the orders API carries the caller's traceparent into its messages", () => {
  it("commits the request's traceparent header with the message", async () => {
    // WHEN an order is placed with a W3C traceparent header (any case of the header's name)
    const response = await api.handle(
      post('/orders', { ...order, orderId: 'o-1' }, { Traceparent: CALLER_TRACE }),
    );

    // THEN the outbox item carries exactly that correlation id
    expect(response.statusCode).toBe(201);
    expect(committedTraceparents()).toEqual([CALLER_TRACE]);
  });

  it('carries it into a change of an existing order too', async () => {
    // GIVEN an order at version 1
    orders.set('o-2', {
      orderId: 'o-2',
      customerId: 'c-1',
      items: order.items,
      status: 'PLACED',
      version: 1,
      notes: [],
    });

    // WHEN a note is added under a traceparent
    const response = await api.handle(
      post('/orders/o-2/notes', { text: 'hi' }, { traceparent: CALLER_TRACE }),
    );

    // THEN the note's message carries it
    expect(response.statusCode).toBe(201);
    expect(committedTraceparents()).toEqual([CALLER_TRACE]);
  });

  it.each([
    ['not a traceparent', 'hello'],
    ['an all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01'],
  ])('ignores a header that is %s and starts a trace of its own', async (_, header) => {
    // WHEN an order is placed with an invalid traceparent header
    const response = await api.handle(post('/orders', { ...order, orderId: 'o-3' }, { traceparent: header }));

    // THEN the request still succeeds, and its message carries a fresh, valid traceparent instead
    expect(response.statusCode).toBe(201);
    const [traceparent] = committedTraceparents();
    expect(traceparent).toMatch(TRACEPARENT);
    expect(traceparent).not.toBe(header);
  });

  it('gives concurrent requests each their own traceparent', async () => {
    // WHEN two requests with different traceparents run at the same time
    const other = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    await Promise.all([
      api.handle(post('/orders', { ...order, orderId: 'o-4' }, { traceparent: CALLER_TRACE })),
      api.handle(post('/orders', { ...order, orderId: 'o-5' }, { traceparent: other })),
    ]);

    // THEN neither message takes the other's
    expect([...committedTraceparents()].sort()).toEqual([CALLER_TRACE, other].sort());
  });
});

describe('requestTraceparentOf: the correlation id of a request, decided at the edge', () => {
  const XRAY = {
    _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  };

  it("takes the caller's traceparent header over the function's X-Ray trace", () => {
    expect(requestTraceparentOf(post('/orders', order, { traceparent: CALLER_TRACE }), XRAY)).toBe(
      CALLER_TRACE,
    );
  });

  it("derives it from the function's X-Ray trace when the caller sends none, so both name one trace", () => {
    expect(requestTraceparentOf(post('/orders', order), XRAY)).toBe(
      '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01',
    );
  });

  it('makes a new one with neither', () => {
    const first = requestTraceparentOf(post('/orders', order), {});
    expect(first).toMatch(TRACEPARENT);
    expect(requestTraceparentOf(post('/orders', order), {})).not.toBe(first);
  });

  it('commits the traceparent the handler decided with the message', async () => {
    // WHEN the handler gives the API the request's traceparent
    await api.handle(post('/orders', { ...order, orderId: 'o-6' }), CALLER_TRACE);
    // THEN the message carries it
    expect(committedTraceparents()).toEqual([CALLER_TRACE]);
  });
});
