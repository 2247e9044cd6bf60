import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import {
  MAX_NOTE_LENGTH,
  MAX_NOTES_BYTES,
  MAX_NOTES_PER_ORDER,
} from '../../../reference/functions/orders/order-schemas';
import type { InMemoryDynamoDb, Item } from '../../../tools/dynamodb/in-memory-dynamodb';
import {
  apiEvent,
  IDEMPOTENCY_TABLE,
  jsonHeaders,
  ORDERS_TABLE,
  OUTBOX_TABLE,
  ordersApiAt,
  producerTables,
} from './support/orders-api-wiring';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ORDER = 'order-1';

const ddb = mockClient(DynamoDBDocumentClient);
let db: InMemoryDynamoDb;
let api: OrdersApi;
let unexpected: unknown[];

const postNote = (text: string, key?: string) =>
  apiEvent('POST', `/orders/${ORDER}/notes`, { headers: jsonHeaders(key), body: JSON.stringify({ text }) });

const bodyOf = (response: APIGatewayProxyStructuredResultV2) => JSON.parse(String(response.body)) as Item;
const order = () => db.item(ORDERS_TABLE, { orderId: ORDER });
const messages = () => db.all(OUTBOX_TABLE);

/** An order already holding `notes`, at version notes + 1, with no message left in the outbox. */
function orderWithNotes(notes: readonly string[]): void {
  db.seed(ORDERS_TABLE, {
    orderId: ORDER,
    customerId: 'c-1',
    items: [{ sku: 'sku-a', quantity: 1 }],
    status: 'PLACED',
    version: notes.length + 1,
    notes: [...notes],
    createdAt: NOW.toISOString(),
    updatedAt: NOW.toISOString(),
  });
}

beforeEach(() => {
  ddb.reset();
  db = producerTables();
  db.install(ddb);
  unexpected = [];
  api = ordersApiAt(NOW, (error) => unexpected.push(error));
});

describe('an order’s notes are bounded', () => {
  it(`adds the ${MAX_NOTES_PER_ORDER}th note`, async () => {
    // GIVEN
    orderWithNotes(Array.from({ length: MAX_NOTES_PER_ORDER - 1 }, (_, i) => `note ${i}`));
    // WHEN
    const response = await api.handle(postNote('the last one'));
    // THEN
    expect(response.statusCode).toBe(201);
    expect(order()?.notes).toHaveLength(MAX_NOTES_PER_ORDER);
  });

  it(`refuses note ${MAX_NOTES_PER_ORDER + 1} with 409 {error, details}, and writes nothing`, async () => {
    // GIVEN
    orderWithNotes(Array.from({ length: MAX_NOTES_PER_ORDER }, (_, i) => `note ${i}`));
    const before = order();
    // WHEN
    const response = await api.handle(postNote('one too many'));
    // THEN
    expect(response.statusCode).toBe(409);
    expect(bodyOf(response)).toEqual({
      error: `order ${ORDER} has ${MAX_NOTES_PER_ORDER} notes: no more can be added`,
      details: [{ path: 'text', message: `an order keeps at most ${MAX_NOTES_PER_ORDER} notes` }],
    });
    expect(order()).toEqual(before);
    expect(messages()).toEqual([]);
    expect(unexpected).toEqual([]);
  });

  it('refuses a note that would take the notes past their bytes, and takes one that fills them exactly', async () => {
    // GIVEN notes of three-byte characters, MAX_NOTE_LENGTH each, up to 3 bytes short of the bound
    const long = '€'.repeat(MAX_NOTE_LENGTH);
    const count = Math.floor(MAX_NOTES_BYTES / Buffer.byteLength(long));
    const rest = MAX_NOTES_BYTES - count * Buffer.byteLength(long);
    orderWithNotes([...Array.from({ length: count }, () => long), 'x'.repeat(rest - 3)]);

    // WHEN a four-byte note, then a three-byte one
    const over = await api.handle(postNote('€x'));
    const exact = await api.handle(postNote('€'));

    // THEN
    expect(over.statusCode).toBe(409);
    expect(bodyOf(over)).toEqual({
      error: `order ${ORDER}: this note would take its notes to ${MAX_NOTES_BYTES + 1} bytes`,
      details: [
        { path: 'text', message: `an order keeps at most ${MAX_NOTES_BYTES} bytes of notes (UTF-8)` },
      ],
    });
    expect(exact.statusCode).toBe(201);
    expect(order()?.notes).toHaveLength(count + 2);
    expect(messages()).toHaveLength(1);
  });

  it('keeps a full order far below DynamoDB’s 400 KB item limit', async () => {
    // GIVEN an order at every bound: 50 lines of 64-character SKUs, notes of four-byte characters up to the bytes
    const note = '😀'.repeat(MAX_NOTE_LENGTH / 2);
    const notes = Array.from({ length: Math.floor(MAX_NOTES_BYTES / Buffer.byteLength(note)) }, () => note);
    orderWithNotes(notes);
    db.patch(
      ORDERS_TABLE,
      { orderId: ORDER },
      {
        customerId: 'c'.repeat(128),
        items: Array.from({ length: 50 }, (_, i) => ({ sku: `${i}`.padStart(64, 's'), quantity: 1_000_000 })),
      },
    );
    // WHEN one more note is tried
    const response = await api.handle(postNote('😀'.repeat(MAX_NOTE_LENGTH / 2)));
    // THEN it is refused, and the order (as JSON, larger than its DynamoDB size) stays below the limit
    expect(response.statusCode).toBe(409);
    expect(Buffer.byteLength(JSON.stringify(order()), 'utf8')).toBeLessThan(400 * 1000);
  });

  it('gives the key up after a refused note: the same request again is refused again, not held', async () => {
    // GIVEN
    orderWithNotes(Array.from({ length: MAX_NOTES_PER_ORDER }, (_, i) => `note ${i}`));
    // WHEN
    const first = await api.handle(postNote('one too many', 'key-1'));
    const again = await api.handle(postNote('one too many', 'key-1'));
    // THEN
    expect([first.statusCode, again.statusCode]).toEqual([409, 409]);
    expect(bodyOf(again)).toMatchObject({ details: [{ path: 'text' }] });
    expect(db.all(IDEMPOTENCY_TABLE)).toEqual([]);
  });
});
