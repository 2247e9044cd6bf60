import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { inboxKeys } from '../../tools/storage-keys';
import { eventually, outboxItems, queueDepth, type Stack, scanAll, stack, uniquePrefix } from './support/aws';

const ORDERS = 200;
const SKUS = 20;
const NOTES_PER_ORDER = 3;
const WORKERS = 8;

interface PlannedOrder {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly notes: readonly string[];
  readonly cancel: boolean;
}

/** Runs `task` over `items` with at most `workers` at a time. */
async function inPool<T>(
  items: readonly T[],
  workers: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        await task(item);
      }
    }),
  );
}

describe('end to end: API → outbox → relay → SQS FIFO → idempotent consumer', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });

  it(`applies every effect of ${ORDERS} orders over ${SKUS} SKUs exactly once, each order's notes in order`, async () => {
    // GIVEN 200 orders, each with 3 notes, every 5th one cancelled, over 20 SKUs
    const prefix = uniquePrefix('e2e');
    const plan: PlannedOrder[] = Array.from({ length: ORDERS }, (_, i) => ({
      orderId: `${prefix}-${i}`,
      sku: `${prefix}-sku-${i % SKUS}`,
      quantity: 1 + (i % 4),
      notes: Array.from({ length: NOTES_PER_ORDER }, (_, n) => `note ${n + 1} of order ${i}`),
      cancel: i % 5 === 0,
    }));
    const messageIds = new Map<string, string[]>();

    // WHEN they go through the API, 8 clients at a time, each order's changes one after another
    const started = Date.now();
    await inPool(plan, WORKERS, async (order) => {
      const ids: string[] = [];
      const placed = await s.api.placeOrder({
        customerId: 'load',
        items: [{ sku: order.sku, quantity: order.quantity }],
        orderId: order.orderId,
      });
      expect(placed.status).toBe(201);
      ids.push(placed.body.messageId);
      for (const note of order.notes) {
        const added = await s.api.addNote(order.orderId, note);
        expect(added.status).toBe(201);
        ids.push(added.body.messageId);
      }
      if (order.cancel) {
        const cancelled = await s.api.cancel(order.orderId);
        expect(cancelled.status).toBe(200);
        ids.push(cancelled.body.messageId);
      }
      messageIds.set(order.orderId, ids);
    });
    const committed = Date.now();
    const totalMessages = [...messageIds.values()].reduce((sum, ids) => sum + ids.length, 0);

    // THEN every view reaches its final version
    const expectedVersion = (order: PlannedOrder) => 1 + order.notes.length + (order.cancel ? 1 : 0);
    const views = await eventually(
      'every order view at its final version',
      async () => {
        const byId = new Map<string, Record<string, unknown>>();
        for (const item of await scanAll(s, s.outputs.ProjectionTableName)) {
          if (typeof item.orderId === 'string' && item.orderId.startsWith(`${prefix}-`))
            byId.set(item.orderId, item);
        }
        const done = plan.every((order) => byId.get(order.orderId)?.version === expectedVersion(order));
        return done ? byId : undefined;
      },
      240_000,
    );
    const applied = Date.now();
    console.log(
      `[figures] ${totalMessages} messages committed in ${((committed - started) / 1000).toFixed(1)} s; ` +
        `all applied ${((applied - committed) / 1000).toFixed(1)} s after the last commit ` +
        `(${((applied - started) / 1000).toFixed(1)} s in all, ${(totalMessages / ((applied - started) / 1000)).toFixed(0)} msg/s)`,
    );

    // AND each view holds exactly its notes, in the order they were committed, and the right status
    for (const order of plan) {
      const view = views.get(order.orderId)!;
      expect(view.notes).toEqual(order.notes);
      expect(view.status).toBe(order.cancel ? 'CANCELLED' : 'PLACED');
    }

    // AND inventory equals the quantities placed minus those cancelled, per SKU (an effect applied twice shows here)
    for (let k = 0; k < SKUS; k++) {
      const sku = `${prefix}-sku-${k}`;
      const expected = plan.filter((o) => o.sku === sku && !o.cancel).reduce((sum, o) => sum + o.quantity, 0);
      expect((await s.api.getInventory(sku)).body).toEqual({ sku, reserved: expected });
    }

    // AND each order's notification log (the `unique` effect) has one entry per message, in sequence order
    for (const order of plan.slice(0, 40)) {
      const log = await s.dynamodb.send(
        new GetCommand({
          TableName: s.outputs.ProjectionTableName,
          Key: { pk: `ORDER#${order.orderId}`, sk: 'NOTIFICATIONS' },
        }),
      );
      const types = [
        'OrderPlaced',
        ...order.notes.map(() => 'OrderNoteAdded'),
        ...(order.cancel ? ['OrderCancelled'] : []),
      ];
      expect(log.Item?.entries).toEqual(types.map((type, i) => `${i + 1}:${type}`));
    }

    // AND the inbox has one completed record per messageId and each key's cursor at its last sequence
    for (const order of plan.slice(0, 40)) {
      const ids = messageIds.get(order.orderId)!;
      for (const messageId of ids) {
        const record = await s.dynamodb.send(
          new GetCommand({
            TableName: s.outputs.InboxTableName,
            Key: inboxKeys.effect(messageId, 'notifications'),
          }),
        );
        expect(record.Item).toMatchObject({ status: 'COMPLETED', groupKey: order.orderId });
      }
      const cursor = await s.dynamodb.send(
        new GetCommand({
          TableName: s.outputs.InboxTableName,
          Key: inboxKeys.cursor(order.orderId),
        }),
      );
      expect(cursor.Item?.lastSequence).toBe(ids.length);
    }

    // AND nothing is left unsent in the outbox, nor dead-lettered
    for (const order of plan) expect(await outboxItems(s, order.orderId)).toEqual([]);
    expect(await queueDepth(s, s.outputs.DeadLetterQueueUrl)).toEqual({ visible: 0, inFlight: 0 });
  });
});
