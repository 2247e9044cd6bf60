import {
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MessageEnvelope } from '../../../functions/runtime/outbox/outbox-message';
import type { TransactItem } from '../../../functions/runtime/outbox/outbox-writer';
import type {
  OrderCancelled,
  OrderNoteAdded,
  OrderPlaced,
} from '../../../reference/functions/orders/order-events';
import type { PaymentCaptured } from '../../../reference/functions/payments/payment-service';
import {
  NOTIFICATIONS_PER_PAGE,
  ProjectionService,
  UnknownMessageTypeError,
} from '../../../reference/functions/projection/projection-service';
import { InMemoryDynamoDb, itemSize, type LostAnswer } from '../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, dynamodb, inboxConsumer, installTables } from '../support/consumer-harness';

const PROJECTION_TABLE = 'projection-table';
const ORDER = 'order-1';

let db: InMemoryDynamoDb;
let projection: ProjectionService;

function envelope<T>(type: string, sequence: number, payload: T, orderId = ORDER): MessageEnvelope<T> {
  return {
    messageId: `msg-${orderId}-${sequence}`,
    groupKey: orderId,
    sequence,
    type,
    payload,
    createdAt: '2026-03-01T12:00:00.000Z',
  };
}

const placed = (sequence: number, items: OrderPlaced['items'], orderId = ORDER) =>
  envelope<OrderPlaced>('OrderPlaced', sequence, { orderId, customerId: 'customer-1', items }, orderId);
const noteAdded = (sequence: number, text: string) =>
  envelope<OrderNoteAdded>('OrderNoteAdded', sequence, { orderId: ORDER, text });
const cancelled = (sequence: number, items: OrderCancelled['items'], orderId = ORDER) =>
  envelope<OrderCancelled>(
    'OrderCancelled',
    sequence,
    { orderId, items, reason: 'changed my mind' },
    orderId,
  );
const paymentCaptured = (sequence: number) =>
  envelope<PaymentCaptured>('PaymentCaptured', sequence, {
    orderId: ORDER,
    transactionId: 'tx-1',
    amount: 30,
  });
const shipped = (sequence: number) => envelope('OrderShipped', sequence, { orderId: ORDER });

function inventoryUpdate(sku: string, delta: number): TransactItem {
  return {
    Update: {
      TableName: PROJECTION_TABLE,
      Key: { pk: `SKU#${sku}`, sk: 'INVENTORY' },
      UpdateExpression: 'SET sku = :sku ADD reserved :delta',
      ExpressionAttributeValues: { ':sku': sku, ':delta': delta },
    },
  };
}

function notification(sequence: number, type: string, sk = 'NOTIFICATIONS'): TransactItem {
  return {
    Update: {
      TableName: PROJECTION_TABLE,
      Key: { pk: `ORDER#${ORDER}`, sk },
      UpdateExpression: 'SET entries = list_append(if_not_exists(entries, :empty), :entry)',
      ExpressionAttributeValues: { ':empty': [], ':entry': [`${sequence}:${type}`] },
    },
  };
}

/** Writes each effect's items for each message, one transaction per effect (as every strategy ends up doing). */
async function project(...messages: MessageEnvelope[]): Promise<void> {
  for (const message of messages) {
    for (const effect of [projection.view, projection.inventory, projection.notifications]) {
      const items = await effect.items(message);
      if (items.length > 0) await dynamodb.send(new TransactWriteCommand({ TransactItems: items }));
    }
  }
}

beforeEach(() => {
  db = installTables(new InMemoryDynamoDb({ [PROJECTION_TABLE]: ['pk', 'sk'] }));
  projection = new ProjectionService(dynamodb, PROJECTION_TABLE);
});

describe('ProjectionService effects', () => {
  it('are named view, inventory and notifications; only the view has a version target', () => {
    expect([projection.view.name, projection.inventory.name, projection.notifications.name]).toEqual([
      'view',
      'inventory',
      'notifications',
    ]);
    expect(projection.view.versionTarget?.(noteAdded(4, 'x'))).toEqual({
      tableName: PROJECTION_TABLE,
      key: { pk: `ORDER#${ORDER}`, sk: 'VIEW' },
    });
    expect(projection.inventory.versionTarget).toBeUndefined();
    expect(projection.notifications.versionTarget).toBeUndefined();
  });

  describe('the view', () => {
    it('puts the whole PLACED view, at the message’s sequence, for OrderPlaced', () => {
      expect(projection.view.items(placed(1, [{ sku: 'sku-a', quantity: 2 }]))).toEqual([
        {
          Put: {
            TableName: PROJECTION_TABLE,
            Item: {
              pk: `ORDER#${ORDER}`,
              sk: 'VIEW',
              orderId: ORDER,
              status: 'PLACED',
              version: 1,
              notes: [],
              paid: false,
            },
          },
        },
      ]);
    });

    it('appends the note and sets the version for OrderNoteAdded', () => {
      expect(projection.view.items(noteAdded(4, 'leave at the door'))).toEqual([
        {
          Update: {
            TableName: PROJECTION_TABLE,
            Key: { pk: `ORDER#${ORDER}`, sk: 'VIEW' },
            UpdateExpression:
              'SET notes = list_append(if_not_exists(notes, :empty), :note), version = :version',
            ExpressionAttributeValues: { ':empty': [], ':note': ['leave at the door'], ':version': 4 },
          },
        },
      ]);
    });

    it('marks the view CANCELLED and sets the version for OrderCancelled', () => {
      expect(projection.view.items(cancelled(3, [{ sku: 'sku-a', quantity: 1 }]))).toEqual([
        {
          Update: {
            TableName: PROJECTION_TABLE,
            Key: { pk: `ORDER#${ORDER}`, sk: 'VIEW' },
            UpdateExpression: 'SET #status = :cancelled, version = :version',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':cancelled': 'CANCELLED', ':version': 3 },
          },
        },
      ]);
    });

    it('marks the view paid and sets the version for PaymentCaptured', async () => {
      expect((await projection.view.items(paymentCaptured(5)))[0]?.Update).toMatchObject({
        UpdateExpression: 'SET paid = :paid, version = :version',
        ExpressionAttributeValues: { ':paid': true, ':version': 5 },
      });
    });

    it('throws UnknownMessageTypeError, naming the type, for a type it does not know', () => {
      expect(() => projection.view.items(shipped(5))).toThrow(UnknownMessageTypeError);
      expect(() => projection.view.items(shipped(5))).toThrow(
        'no projection handles message type OrderShipped',
      );
    });
  });

  describe('the inventory', () => {
    it('reserves each SKU of OrderPlaced once, with the quantities of its lines summed', () => {
      // GIVEN
      const message = placed(1, [
        { sku: 'sku-a', quantity: 2 },
        { sku: 'sku-b', quantity: 1 },
        { sku: 'sku-a', quantity: 3 },
        { sku: 'sku-a', quantity: 4 },
      ]);

      // WHEN
      const items = projection.inventory.items(message);

      // THEN
      expect(items).toEqual([inventoryUpdate('sku-a', 9), inventoryUpdate('sku-b', 1)]);
    });

    it('releases the summed reservations of OrderCancelled', () => {
      // GIVEN
      const message = cancelled(3, [
        { sku: 'sku-a', quantity: 2 },
        { sku: 'sku-b', quantity: 5 },
        { sku: 'sku-a', quantity: 1 },
      ]);

      // WHEN
      const items = projection.inventory.items(message);

      // THEN
      expect(items).toEqual([inventoryUpdate('sku-a', -3), inventoryUpdate('sku-b', -5)]);
    });

    it('has no writes for an order without lines, a note or a payment', () => {
      expect(projection.inventory.items(cancelled(2, []))).toEqual([]);
      expect(projection.inventory.items(placed(1, []))).toEqual([]);
      expect(projection.inventory.items(noteAdded(2, 'x'))).toEqual([]);
      expect(projection.inventory.items(paymentCaptured(2))).toEqual([]);
    });

    it('throws UnknownMessageTypeError for a type it does not know', () => {
      expect(() => projection.inventory.items(shipped(5))).toThrow(UnknownMessageTypeError);
    });
  });

  describe('the notifications', () => {
    it.each([
      ['OrderPlaced', placed(1, [{ sku: 'sku-a', quantity: 1 }])],
      ['OrderNoteAdded', noteAdded(2, 'x')],
      ['OrderCancelled', cancelled(3, [])],
      ['PaymentCaptured', paymentCaptured(4)],
    ] as const)('appends one `<sequence>:%s` entry to the order’s log', (type, message) => {
      expect(projection.notifications.items(message)).toEqual([notification(message.sequence, type)]);
    });

    it('throws UnknownMessageTypeError for a type it does not know', () => {
      expect(() => projection.notifications.items(shipped(5))).toThrow(UnknownMessageTypeError);
    });

    it.each([
      [1, 'NOTIFICATIONS'],
      [NOTIFICATIONS_PER_PAGE, 'NOTIFICATIONS'],
      [NOTIFICATIONS_PER_PAGE + 1, 'NOTIFICATIONS#0000000001'],
      [2 * NOTIFICATIONS_PER_PAGE, 'NOTIFICATIONS#0000000001'],
      [2 * NOTIFICATIONS_PER_PAGE + 1, 'NOTIFICATIONS#0000000002'],
      [1234 * NOTIFICATIONS_PER_PAGE + 1, 'NOTIFICATIONS#0000001234'],
    ])('appends the entry of sequence %i to the log’s page %s', (sequence, sk) => {
      expect(projection.notifications.items(noteAdded(sequence, 'x'))).toEqual([
        notification(sequence, 'OrderNoteAdded', sk),
      ]);
    });
  });

  describe('written to the table', () => {
    it('builds the view, the notifications log and the reservations of an order’s life', async () => {
      // WHEN
      await project(
        placed(1, [
          { sku: 'sku-a', quantity: 2 },
          { sku: 'sku-b', quantity: 1 },
        ]),
        noteAdded(2, 'leave at the door'),
        paymentCaptured(3),
        noteAdded(4, 'ring twice'),
      );

      // THEN
      expect(await projection.getView(ORDER)).toEqual({
        orderId: ORDER,
        status: 'PLACED',
        version: 4,
        notes: ['leave at the door', 'ring twice'],
        paid: true,
      });
      expect(await projection.getNotifications(ORDER)).toEqual([
        '1:OrderPlaced',
        '2:OrderNoteAdded',
        '3:PaymentCaptured',
        '4:OrderNoteAdded',
      ]);
      expect(await projection.getInventory('sku-a')).toEqual({ sku: 'sku-a', reserved: 2 });
      expect(await projection.getInventory('sku-b')).toEqual({ sku: 'sku-b', reserved: 1 });
    });

    it('keeps the notifications log in pages of 200 entries, so that no item outgrows DynamoDB’s 400 KB', async () => {
      // GIVEN
      const sequences = Array.from({ length: 2 * NOTIFICATIONS_PER_PAGE + 50 }, (_, index) => index + 2);

      // WHEN an order with 450 notes is projected
      await project(placed(1, []), ...sequences.map((sequence) => noteAdded(sequence, `note ${sequence}`)));

      // THEN
      const pages = db
        .all(PROJECTION_TABLE)
        .filter((item) => String(item.sk).startsWith('NOTIFICATIONS'))
        .map((item) => (item.entries as string[]).length);
      expect(pages).toEqual([NOTIFICATIONS_PER_PAGE, NOTIFICATIONS_PER_PAGE, 51]);
      const log = await projection.getNotifications(ORDER);
      expect(log).toEqual(['1:OrderPlaced', ...sequences.map((sequence) => `${sequence}:OrderNoteAdded`)]);
    });

    it('holds the producer’s bound of notes in one view: 100 notes of 1,000 three-byte characters stay under 400 KB', async () => {
      // GIVEN the most notes the producer accepts, each of the widest UTF-8 a UTF-16 unit makes
      const notes = Array.from({ length: 100 }, (_, index) => `${index}`.padEnd(1000, '界'));

      // WHEN
      await project(placed(1, []), ...notes.map((text, index) => noteAdded(index + 2, text)));

      // THEN
      const view = db.item(PROJECTION_TABLE, { pk: `ORDER#${ORDER}`, sk: 'VIEW' })!;
      expect(itemSize(view)).toBeGreaterThan(290 * 1024);
      expect(itemSize(view)).toBeLessThan(400 * 1024);
      expect((await projection.getView(ORDER))?.notes).toEqual(notes);
    });

    it('sums the reservations of several orders, and releases those of a cancelled one', async () => {
      // WHEN
      await project(
        placed(1, [{ sku: 'sku-a', quantity: 2 }]),
        placed(1, [{ sku: 'sku-a', quantity: 5 }], 'order-2'),
        cancelled(2, [{ sku: 'sku-a', quantity: 2 }]),
      );

      // THEN
      expect(await projection.getInventory('sku-a')).toEqual({ sku: 'sku-a', reserved: 5 });
      expect(await projection.getView(ORDER)).toMatchObject({ status: 'CANCELLED', version: 2 });
      expect(await projection.getView('order-2')).toMatchObject({ status: 'PLACED', version: 1 });
    });
  });
});

describe('ProjectionService reads', () => {
  it('answers the view of an order, with notes and paid defaulted when absent, read consistently', async () => {
    // GIVEN
    db.seed(PROJECTION_TABLE, {
      pk: `ORDER#${ORDER}`,
      sk: 'VIEW',
      orderId: ORDER,
      status: 'PLACED',
      version: 2,
    });

    // WHEN
    const view = await projection.getView(ORDER);

    // THEN
    expect(view).toEqual({ orderId: ORDER, status: 'PLACED', version: 2, notes: [], paid: false });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: PROJECTION_TABLE,
      Key: { pk: `ORDER#${ORDER}`, sk: 'VIEW' },
      ConsistentRead: true,
    });
  });

  it('answers no view for an order it never saw', async () => {
    expect(await projection.getView('order-2')).toBeUndefined();
  });

  it('answers 0 reserved for a SKU never reserved', async () => {
    expect(await projection.getInventory('sku-z')).toEqual({ sku: 'sku-z', reserved: 0 });
  });

  it('answers an empty notifications log for an order it never saw', async () => {
    expect(await projection.getNotifications('order-2')).toEqual([]);
  });

  it('answers the notifications log from all its pages, in order, page after page of the query, read consistently', async () => {
    // GIVEN three pages of the log (and the view, which is no page), answered one item per query page
    db.seed(
      PROJECTION_TABLE,
      { pk: `ORDER#${ORDER}`, sk: 'NOTIFICATIONS#0000000002', entries: ['401:OrderNoteAdded'] },
      { pk: `ORDER#${ORDER}`, sk: 'NOTIFICATIONS', entries: ['1:OrderPlaced', '2:OrderNoteAdded'] },
      { pk: `ORDER#${ORDER}`, sk: 'NOTIFICATIONS#0000000001', entries: ['201:OrderNoteAdded'] },
      { pk: `ORDER#${ORDER}`, sk: 'VIEW', orderId: ORDER, status: 'PLACED', version: 401 },
      { pk: 'ORDER#order-2', sk: 'NOTIFICATIONS', entries: ['1:OrderPlaced'] },
      { pk: `ORDER#${ORDER}`, sk: 'NOTIFICATIONS#0000000003' },
    );
    db.queryPageSize = 1;

    // WHEN
    const log = await projection.getNotifications(ORDER);

    // THEN
    expect(log).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '201:OrderNoteAdded', '401:OrderNoteAdded']);
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries).toHaveLength(4);
    expect(queries[0]).toEqual({
      TableName: PROJECTION_TABLE,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :notifications)',
      ExpressionAttributeValues: { ':pk': `ORDER#${ORDER}`, ':notifications': 'NOTIFICATIONS' },
      ConsistentRead: true,
    });
    expect(queries[1]?.ExclusiveStartKey).toEqual({ pk: `ORDER#${ORDER}`, sk: 'NOTIFICATIONS' });
  });
});

describe('the reference consumer’s notifications (`unique`), when the answer to a write is lost after it landed', () => {
  const LOST_ANSWERS: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];
  const touchesLog = (input: UpdateCommandInput | TransactWriteCommandInput): boolean =>
    JSON.stringify(input).includes('"sk":"NOTIFICATIONS"');

  beforeEach(() => {
    db = installTables();
    projection = new ProjectionService(dynamodb, PROJECTION_TABLE);
  });

  const consumer = () =>
    inboxConsumer({
      effects: [
        { effect: projection.view, strategy: 'version' },
        { effect: projection.inventory, strategy: 'transaction' },
        { effect: projection.notifications, strategy: 'unique' },
      ],
      transientRetry: { sleep: async () => {}, random: () => 0 },
    });

  it.each(LOST_ANSWERS)(
    'never logs `1:OrderPlaced` twice (%s), neither on the consumer’s in-process retry nor on a redelivery',
    async (outcome) => {
      // GIVEN the log's append lands, and its answer is lost
      db.loseAnswer('TransactWrite', touchesLog, outcome);
      db.loseAnswer('Update', touchesLog, outcome);

      // WHEN the order is placed, then redelivered
      const first = await consumer().consume(placed(1, [{ sku: 'sku-a', quantity: 2 }]));
      const redelivered = await consumer().consume(placed(1, [{ sku: 'sku-a', quantity: 2 }]));

      // THEN
      expect(db.lostAnswerCount).toBe(1);
      expect(first.outcome).toBe('APPLIED');
      expect(redelivered.outcome).toBe('DUPLICATE');
      expect(await projection.getNotifications(ORDER)).toEqual(['1:OrderPlaced']);
      expect(await projection.getInventory('sku-a')).toEqual({ sku: 'sku-a', reserved: 2 });
    },
  );
});
