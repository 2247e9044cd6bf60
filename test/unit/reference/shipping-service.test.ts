import { beforeEach, describe, expect, it } from 'vitest';
import type { IdempotentConsumer } from '../../../functions/runtime/consumer/idempotent-consumer';
import {
  SHIPPING_MESSAGE_TYPES,
  ShippingService,
} from '../../../reference/functions/shipping/shipping-service';
import { InMemoryDynamoDb } from '../../../tools/dynamodb/in-memory-dynamodb';
import { dynamodb, inboxConsumer, installTables } from '../support/consumer-harness';
import { envelope, INBOX_TABLE } from '../support/inbox-fixtures';

// The shipping group: the order's shipping item is its cursor; the status and the count ride on the cursor's write.
const SHIPPING_TABLE = 'shipping-table';
const ORDER = 'order-1';

let db: InMemoryDynamoDb;
let shipping: ShippingService;
let consumer: IdempotentConsumer;

/** Consumes an order's messages of these types, as sequences 1, 2, 3, … (in that order). */
async function consumeInOrder(...types: string[]): Promise<string[]> {
  const outcomes: string[] = [];
  for (const [index, type] of types.entries()) {
    outcomes.push((await consumer.consume(envelope(ORDER, index + 1, type, { orderId: ORDER }))).outcome);
  }
  return outcomes;
}

beforeEach(() => {
  db = installTables(new InMemoryDynamoDb({ [INBOX_TABLE]: ['pk', 'sk'], [SHIPPING_TABLE]: ['orderId'] }));
  shipping = new ShippingService(dynamodb, SHIPPING_TABLE);
  consumer = inboxConsumer({
    effects: [],
    cursor: shipping.cursor,
    cursorEffect: shipping.status,
    messageTypes: SHIPPING_MESSAGE_TYPES,
  });
});

describe('ShippingService, the shipping group’s state', () => {
  it('is awaiting payment once the order is placed, and ready once it is paid', async () => {
    // WHEN
    await consumeInOrder('OrderPlaced');
    const placed = await shipping.getShipment(ORDER);
    await consumer.consume(envelope(ORDER, 2, 'PaymentCaptured', { orderId: ORDER }));

    // THEN
    expect(placed).toEqual({ orderId: ORDER, status: 'awaiting-payment', events: 1 });
    expect(await shipping.getShipment(ORDER)).toEqual({ orderId: ORDER, status: 'ready', events: 2 });
  });

  it('does not count notes: they only move the cursor', async () => {
    // WHEN
    const outcomes = await consumeInOrder(
      'OrderPlaced',
      'OrderNoteAdded',
      'OrderNoteAdded',
      'PaymentCaptured',
    );

    // THEN
    expect(outcomes).toEqual(['APPLIED', 'SKIPPED', 'SKIPPED', 'APPLIED']);
    expect(await shipping.getShipment(ORDER)).toEqual({ orderId: ORDER, status: 'ready', events: 2 });
    expect(db.item(SHIPPING_TABLE, { orderId: ORDER })).toMatchObject({ lastSequence: 4 });
  });

  it('is cancelled when the order is cancelled after it was paid', async () => {
    // WHEN
    await consumeInOrder('OrderPlaced', 'PaymentCaptured', 'OrderNoteAdded', 'OrderCancelled');

    // THEN
    expect(await shipping.getShipment(ORDER)).toEqual({ orderId: ORDER, status: 'cancelled', events: 3 });
  });

  it('stays cancelled when a payment is captured after the cancellation', async () => {
    // WHEN
    await consumeInOrder('OrderPlaced', 'OrderCancelled', 'PaymentCaptured');

    // THEN
    expect(await shipping.getShipment(ORDER)).toEqual({ orderId: ORDER, status: 'cancelled', events: 3 });
  });

  it('counts a redelivered message once', async () => {
    // GIVEN
    await consumeInOrder('OrderPlaced', 'PaymentCaptured');

    // WHEN
    const again = await consumer.consume(envelope(ORDER, 2, 'PaymentCaptured', { orderId: ORDER }));

    // THEN
    expect(again.outcome).toBe('DUPLICATE');
    expect(await shipping.getShipment(ORDER)).toMatchObject({ events: 2 });
  });

  it('has no shipment for an order none of whose shipping messages was applied yet', async () => {
    // GIVEN an order whose only message so far is a note (its item has a cursor but no status)
    await consumer.consume(envelope('order-2', 1, 'OrderNoteAdded', { orderId: 'order-2' }));

    // THEN
    expect(db.item(SHIPPING_TABLE, { orderId: 'order-2' })).toMatchObject({ lastSequence: 1 });
    expect(await shipping.getShipment('order-2')).toBeUndefined();
    expect(await shipping.getShipment('order-3')).toBeUndefined();
  });
});
