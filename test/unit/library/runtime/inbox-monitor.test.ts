import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  ATTENTION_SHARDS,
  attentionOf,
  attentionPartitions,
} from '../../../../functions/runtime/consumer/attention-index';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import { inspectInbox } from '../../../../functions/runtime/consumer/inbox-monitor';
import { ATTENTION_INDEX } from '../../../../functions/runtime/consumer/key-parking';
import { ProjectionService } from '../../../../reference/functions/projection/projection-service';
import type { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, dynamodb, inboxConsumer, installTables } from '../../support/consumer-harness';
import { envelope, INBOX_TABLE, PROJECTION_TABLE } from '../../support/inbox-fixtures';

const NOW = new Date('2026-03-01T12:00:00.000Z');

let db: InMemoryDynamoDb;

const ago = (milliseconds: number) => new Date(NOW.getTime() - milliseconds).toISOString();

function seedWaiting(kind: 'HELD' | 'PARKED', groupKey: string, sequence: number, since: string): void {
  const key = kind === 'HELD' ? inboxKeys.held(groupKey, sequence) : inboxKeys.parked(groupKey, sequence);
  db.seed(INBOX_TABLE, { ...key, message: '{}', attention: attentionOf(kind, groupKey), since });
}

beforeEach(() => {
  db = installTables();
});

describe('inspectInbox', () => {
  it('queries every shard of the attention index, and the unsharded value older items carry', async () => {
    // GIVEN keys spread over the shards, and one item held before the index was sharded
    for (let k = 0; k < 40; k++) seedWaiting('HELD', `order-${k}`, 2, ago(1000));
    db.seed(INBOX_TABLE, {
      ...inboxKeys.held('legacy', 2),
      message: '{}',
      attention: 'HELD',
      since: ago(9000),
    });

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW);

    // THEN
    expect(report).toMatchObject({ heldMessages: 41, oldestHeldAgeSeconds: 9 });
    const partitions = ddb
      .commandCalls(QueryCommand)
      .map((call) => call.args[0].input.ExpressionAttributeValues?.[':partition']);
    expect(new Set(partitions)).toEqual(
      new Set([...attentionPartitions('HELD'), ...attentionPartitions('PARKED')]),
    );
    expect(partitions).toHaveLength(2 * (ATTENTION_SHARDS + 1));
    expect(
      new Set(Array.from({ length: 40 }, (_, k) => attentionOf('HELD', `order-${k}`))).size,
    ).toBeGreaterThan(8);
  });

  it('reports an inbox with nothing held or parked as zeros', async () => {
    // GIVEN only cursors and idempotency records
    db.seed(INBOX_TABLE, { ...inboxKeys.cursor('order-1'), lastSequence: 4 });
    db.seed(INBOX_TABLE, { ...inboxKeys.effect('msg-1', 'view'), status: 'COMPLETED' });

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW);

    // THEN
    expect(report).toEqual({
      heldMessages: 0,
      oldestHeldAgeSeconds: 0,
      parkedMessages: 0,
      parkedKeys: 0,
      oldestParkedAgeSeconds: 0,
    });
  });

  it('counts the held and parked messages and the parked keys, with the age of the oldest of each', async () => {
    // GIVEN
    seedWaiting('HELD', 'order-a', 3, ago(30_000));
    seedWaiting('HELD', 'order-b', 5, ago(90_000));
    seedWaiting('PARKED', 'order-c', 2, ago(10_000));
    seedWaiting('PARKED', 'order-c', 3, ago(600_000));
    seedWaiting('PARKED', 'order-d', 7, ago(120_000));
    db.seed(INBOX_TABLE, { ...inboxKeys.cursor('order-c'), lastSequence: 1, parked: true });

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW);

    // THEN
    expect(report).toEqual({
      heldMessages: 2,
      oldestHeldAgeSeconds: 90,
      parkedMessages: 3,
      parkedKeys: 2,
      oldestParkedAgeSeconds: 600,
    });
  });

  it('rounds ages to the nearest second and never reports a negative one', async () => {
    // GIVEN
    seedWaiting('HELD', 'order-a', 3, ago(89_600));
    seedWaiting('PARKED', 'order-b', 2, new Date(NOW.getTime() + 5000).toISOString());

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW);

    // THEN
    expect(report.oldestHeldAgeSeconds).toBe(90);
    expect(report.oldestParkedAgeSeconds).toBe(0);
  });

  it('reads every page of the attention index, and the index only', async () => {
    // GIVEN
    db.queryPageSize = 2;
    for (let sequence = 2; sequence <= 6; sequence++)
      seedWaiting('HELD', 'order-a', sequence, ago(sequence * 1000));
    for (let sequence = 2; sequence <= 4; sequence++)
      seedWaiting('PARKED', `order-${sequence}`, sequence, ago(sequence * 1000));

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW);

    // THEN
    expect(report).toMatchObject({
      heldMessages: 5,
      oldestHeldAgeSeconds: 6,
      parkedMessages: 3,
      parkedKeys: 3,
    });
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.length).toBeGreaterThanOrEqual(5);
    expect(queries.every((query) => query.IndexName === ATTENTION_INDEX)).toBe(true);
    expect(ddb.calls()).toHaveLength(queries.length);
  });

  it('reads a large attention index in pages of at most pageSize items, and still counts all of it', async () => {
    // GIVEN 4,000 held messages over 400 keys and 600 parked ones over 60 keys; the oldest of each kind is on one key
    for (let k = 0; k < 400; k++) {
      for (let sequence = 2; sequence <= 11; sequence++)
        seedWaiting('HELD', `held-${k}`, sequence, ago(k === 123 && sequence === 2 ? 7_200_000 : 1000 + k));
    }
    for (let k = 0; k < 60; k++) {
      for (let sequence = 1; sequence <= 10; sequence++)
        seedWaiting('PARKED', `parked-${k}`, sequence, ago(k === 7 ? 3_600_000 : 2000));
    }

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW, { pageSize: 50 });

    // THEN
    expect(report).toEqual({
      heldMessages: 4000,
      oldestHeldAgeSeconds: 7200,
      parkedMessages: 600,
      parkedKeys: 60,
      oldestParkedAgeSeconds: 3600,
    });
    const queries = ddb.commandCalls(QueryCommand);
    expect(queries.every((call) => call.args[0].input.Limit === 50)).toBe(true);
    const pageSizes = await Promise.all(
      queries.map(async (call) => (await call.returnValue).Items?.length ?? 0),
    );
    expect(Math.max(...pageSizes)).toBe(50);
    expect(pageSizes.reduce((sum, size) => sum + size, 0)).toBe(4600);
  });

  it('reads the attention index, one item per page if asked', async () => {
    // GIVEN
    seedWaiting('HELD', 'order-a', 3, ago(30_000));
    seedWaiting('HELD', 'order-a', 4, ago(20_000));

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW, { pageSize: 1 });

    // THEN
    expect(report).toMatchObject({ heldMessages: 2, oldestHeldAgeSeconds: 30 });
    const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
    expect(queries.every((query) => query.IndexName === 'attention' && query.Limit === 1)).toBe(true);
  });

  it.each([0, 1.5, -1])('refuses a page size of %s', async (pageSize) => {
    // WHEN / THEN
    await expect(inspectInbox(dynamodb, INBOX_TABLE, NOW, { pageSize })).rejects.toThrow(
      `pageSize must be an integer ≥ 1; got ${pageSize}`,
    );
  });

  it('reports what the consumer holds and parks', async () => {
    // GIVEN order-1 waits for message 2 since NOW − 5 min; order-2 is parked at its message 1 since NOW − 1 min
    const projection = new ProjectionService(dynamodb, PROJECTION_TABLE);
    let clock = new Date(NOW.getTime() - 300_000);
    const consumer = inboxConsumer({
      clock: () => clock,
      parkAfterFailures: 1,
      effects: [{ effect: projection.view, strategy: 'version' }],
    });
    const note = (groupKey: string, sequence: number) =>
      envelope(groupKey, sequence, 'OrderNoteAdded', { orderId: groupKey, text: 'x' });
    await consumer.consume(note('order-1', 3));
    await consumer.consume(note('order-1', 2));
    clock = new Date(NOW.getTime() - 60_000);
    await consumer.consume(envelope('order-2', 1, 'OrderShipped', { orderId: 'order-2' }));
    await consumer.consume(note('order-2', 2));

    // WHEN
    const report = await inspectInbox(dynamodb, INBOX_TABLE, NOW);

    // THEN
    expect(report).toEqual({
      heldMessages: 2,
      oldestHeldAgeSeconds: 300,
      parkedMessages: 2,
      parkedKeys: 1,
      oldestParkedAgeSeconds: 60,
    });
  });
});
