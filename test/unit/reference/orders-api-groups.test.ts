import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import { InMemoryDynamoDb } from '../../../tools/dynamodb/in-memory-dynamodb';
import {
  AUDIT_TABLE,
  apiEvent,
  ORDERS_TABLE,
  ordersApiAt,
  SHIPPING_TABLE,
} from './support/orders-api-wiring';

// GET /orders/{orderId}/audit and /shipment: the audit and shipping groups' state, read by the API.
const NOW = new Date('2026-03-01T12:00:00.000Z');
const ddb = mockClient(DynamoDBDocumentClient);
let db: InMemoryDynamoDb;
let api: OrdersApi;
let unexpectedErrors: unknown[];

const get = (path: string) => apiEvent('GET', path);

const bodyOf = (response: APIGatewayProxyStructuredResultV2): unknown => JSON.parse(response.body ?? '');

beforeEach(() => {
  ddb.reset();
  db = new InMemoryDynamoDb({
    [ORDERS_TABLE]: ['orderId'],
    [AUDIT_TABLE]: ['orderId', 'position'],
    [SHIPPING_TABLE]: ['orderId'],
  });
  db.install(ddb);
  unexpectedErrors = [];
  api = ordersApiAt(NOW, (error) => unexpectedErrors.push(error));
});

describe('GET /orders/{orderId}/audit', () => {
  it('answers the order’s audit trail by position, every page of it', async () => {
    // GIVEN an order with 3 audit entries (stored out of order), read 2 per page
    db.seed(ORDERS_TABLE, { orderId: 'order-1', status: 'PLACED', version: 3 });
    db.seed(
      AUDIT_TABLE,
      {
        orderId: 'order-1',
        position: 3,
        sequence: 3,
        type: 'OrderCancelled',
        messageId: 'm3',
        appliedAt: 't',
      },
      { orderId: 'order-1', position: 1, sequence: 1, type: 'OrderPlaced', messageId: 'm1', appliedAt: 't' },
      {
        orderId: 'order-1',
        position: 2,
        sequence: 2,
        type: 'OrderNoteAdded',
        messageId: 'm2',
        appliedAt: 't',
      },
      { orderId: 'order-2', position: 1, sequence: 1, type: 'OrderPlaced', messageId: 'x1', appliedAt: 't' },
    );
    db.queryPageSize = 2;

    // WHEN
    const response = await api.handle(get('/orders/order-1/audit'));

    // THEN
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({
      orderId: 'order-1',
      entries: [
        { sequence: 1, type: 'OrderPlaced', position: 1 },
        { sequence: 2, type: 'OrderNoteAdded', position: 2 },
        { sequence: 3, type: 'OrderCancelled', position: 3 },
      ],
    });
  });

  it('answers an empty trail for an order the audit consumer has not reached yet', async () => {
    // GIVEN
    db.seed(ORDERS_TABLE, { orderId: 'order-1', status: 'PLACED', version: 1 });

    // WHEN
    const response = await api.handle(get('/orders/order-1/audit'));

    // THEN
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ orderId: 'order-1', entries: [] });
  });

  it('answers 404 when the order is not in the orders table, even with audit entries', async () => {
    // GIVEN entries of an order that does not exist
    db.seed(AUDIT_TABLE, { orderId: 'ghost', position: 1, sequence: 1, type: 'OrderPlaced' });

    // WHEN
    const response = await api.handle(get('/orders/ghost/audit'));

    // THEN
    expect(response.statusCode).toBe(404);
    expect(bodyOf(response)).toEqual({ error: 'order ghost not found' });
  });

  it('answers 400 for an order id that is not one', async () => {
    const response = await api.handle(get(`/orders/${'x'.repeat(200)}/audit`));
    expect(response.statusCode).toBe(400);
  });
});

describe('GET /orders/{orderId}/shipment', () => {
  it('answers the order’s shipment', async () => {
    // GIVEN
    db.seed(SHIPPING_TABLE, { orderId: 'order-1', status: 'ready', events: 2, lastSequence: 4 });

    // WHEN
    const response = await api.handle(get('/orders/order-1/shipment'));

    // THEN
    expect(response.statusCode).toBe(200);
    expect(bodyOf(response)).toEqual({ orderId: 'order-1', status: 'ready', events: 2 });
  });

  it('answers 404 when the shipping item is absent, or has a cursor but no status', async () => {
    // GIVEN order-2 whose only message so far was skipped (a note)
    db.seed(SHIPPING_TABLE, { orderId: 'order-2', lastSequence: 1 });

    // WHEN
    const absent = await api.handle(get('/orders/order-1/shipment'));
    const noStatus = await api.handle(get('/orders/order-2/shipment'));

    // THEN
    expect(absent.statusCode).toBe(404);
    expect(bodyOf(absent)).toEqual({ error: 'no shipment of order order-1 yet' });
    expect(noStatus.statusCode).toBe(404);
    expect(unexpectedErrors).toEqual([]);
  });

  it('answers 405 to another method on the route', async () => {
    const event = get('/orders/order-1/shipment');
    const response = await api.handle({
      ...event,
      requestContext: { ...event.requestContext, http: { ...event.requestContext.http, method: 'POST' } },
    });
    expect(response.statusCode).toBe(405);
  });
});
