import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import type { IdempotentConsumer } from '../../../functions/runtime/consumer/idempotent-consumer';
import type { MessageEnvelope } from '../../../functions/runtime/outbox/outbox-message';
import { AuditService } from '../../../reference/functions/audit/audit-service';
import { InMemoryDynamoDb } from '../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, dynamodb, inboxConsumer, installTables } from '../support/consumer-harness';
import { envelope, INBOX_TABLE } from '../support/inbox-fixtures';

// The audit group: every message of an order appended to its trail (partition key orderId, sort key position),
// through the consumer, under the `transaction` strategy, as the audit consumer runs it.
const AUDIT_TABLE = 'audit-table';
const ORDER = 'order-1';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TYPES = ['OrderPlaced', 'OrderNoteAdded', 'PaymentCaptured', 'OrderNoteAdded', 'OrderCancelled'];
const now = new Date('2026-03-01T12:00:00.000Z');

let db: InMemoryDynamoDb;
let audit: AuditService;
let consumer: IdempotentConsumer;

function message(sequence: number, orderId = ORDER): MessageEnvelope {
  return { ...envelope(orderId, sequence, TYPES[sequence - 1]!, { orderId }), traceparent: TRACEPARENT };
}

const trail = (orderId = ORDER) =>
  db
    .all(AUDIT_TABLE)
    .filter((item) => item.orderId === orderId)
    .sort((a, b) => Number(a.position) - Number(b.position));

beforeEach(() => {
  db = installTables(
    new InMemoryDynamoDb({ [INBOX_TABLE]: ['pk', 'sk'], [AUDIT_TABLE]: ['orderId', 'position'] }),
  );
  audit = new AuditService(dynamodb, AUDIT_TABLE, () => now);
  consumer = inboxConsumer({
    clock: () => now,
    effects: [{ effect: audit.entry, strategy: 'transaction' }],
  });
});

describe('AuditService, the audit group’s effect', () => {
  it('appends every message of an order at positions 1..n, with its sequence, type, id, traceparent and time', async () => {
    // WHEN the order's 5 messages are consumed (out of order: the consumer puts them back in order)
    for (const sequence of [1, 3, 2, 5, 4]) await consumer.consume(message(sequence));

    // THEN
    expect(trail()).toEqual(
      TYPES.map((type, index) => ({
        orderId: ORDER,
        position: index + 1,
        sequence: index + 1,
        type,
        messageId: `msg-${ORDER}-${index + 1}`,
        traceparent: TRACEPARENT,
        appliedAt: now.toISOString(),
      })),
    );
  });

  it('adds nothing for a redelivery', async () => {
    // GIVEN 1 and 2 applied
    await consumer.consume(message(1));
    await consumer.consume(message(2));

    // WHEN both are delivered again
    const again = [await consumer.consume(message(1)), await consumer.consume(message(2))];

    // THEN
    expect(again.map((result) => result.outcome)).toEqual(['DUPLICATE', 'DUPLICATE']);
    expect(trail().map((item) => item.position)).toEqual([1, 2]);
  });

  it('adds nothing when its transaction landed and the answer was lost (the retry finds the inbox mark)', async () => {
    // GIVEN the first transaction's answer is lost after it landed
    db.loseAnswer('TransactWrite');

    // WHEN message 1 is consumed (the consumer retries in-process, reading the last position afresh)
    const result = await consumer.consume(message(1));

    // THEN one entry only, and the cursor moved
    expect(result.outcome).toBe('APPLIED');
    expect(trail().map((item) => [item.position, item.sequence])).toEqual([[1, 1]]);
    expect(db.item(INBOX_TABLE, { pk: `KEY#${ORDER}`, sk: 'CURSOR' })).toMatchObject({ lastSequence: 1 });
  });

  it('puts the next position on condition that it is free, after reading the last one (descending, Limit 1)', async () => {
    // GIVEN an entry at position 1
    await consumer.consume(message(1));
    ddb.resetHistory();

    // WHEN the effect's writes for message 2 are built
    const [write] = await audit.entry.items(message(2));

    // THEN
    expect(ddb.commandCalls(QueryCommand).map((call) => call.args[0].input)).toEqual([
      expect.objectContaining({
        TableName: AUDIT_TABLE,
        KeyConditionExpression: 'orderId = :orderId',
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    ]);
    expect(write?.Put).toMatchObject({
      TableName: AUDIT_TABLE,
      Item: { orderId: ORDER, position: 2, sequence: 2 },
      ConditionExpression: 'attribute_not_exists(orderId)',
    });
  });

  it('fails, and writes nothing, when another writer took the next position', async () => {
    // GIVEN position 2 taken behind the reader's back, after it read the last position (1)
    await consumer.consume(message(1));
    const items = await audit.entry.items(message(2));
    db.seed(AUDIT_TABLE, { orderId: ORDER, position: 2, sequence: 99, type: 'Intruder' });

    // WHEN the stale write is sent
    const write = dynamodb.send(new TransactWriteCommand({ TransactItems: items }));

    // THEN it is refused: the intruder's entry stays
    await expect(write).rejects.toThrow();
    expect(trail().map((item) => item.type)).toEqual(['OrderPlaced', 'Intruder']);
  });

  it('omits traceparent when the envelope has none', async () => {
    await consumer.consume(envelope(ORDER, 1, 'OrderPlaced', { orderId: ORDER }));
    expect(trail()[0]).not.toHaveProperty('traceparent');
  });

  it('reads an order’s trail by position, across every page', async () => {
    // GIVEN 5 entries, read 2 per page
    for (const sequence of [1, 2, 3, 4, 5]) await consumer.consume(message(sequence));
    db.queryPageSize = 2;

    // WHEN
    const entries = await audit.getEntries(ORDER);

    // THEN
    expect(entries).toEqual(TYPES.map((type, index) => ({ sequence: index + 1, type, position: index + 1 })));
    expect(await audit.getEntries('order-2')).toEqual([]);
  });
});
