import { randomUUID } from 'node:crypto';
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { newOutboxItem, OutboxAudit } from 'reliable-messaging-serverless/runtime/bench-support';
import { type Connection, sweepNow } from '../../tools/stack/stack-control';

export interface SweepCostReport {
  /** Items left in the outbox (FAILED, so nothing sends them) during both sweeps. */
  readonly unsent: number;
  /** Messages committed and delivered between the two sweeps. */
  readonly delivered: number;
  readonly readUnitsUnsentOnly: number;
  readonly readUnitsWithDelivered: number;
  /** ≈ 1 when a sweep costs O(unsent), ≫ 1 if it read history. */
  readonly ratio: number;
}

/**
 * Shows what a sweep reads: once with only `unsent` messages in the outbox, once more after `delivered` messages
 * went through it. Delivered messages are deleted by the relay, so the second sweep should read what the first did.
 * The unsent ones are FAILED items as the sweep leaves them (in its index, kept, never sent by anyone): committed
 * FAILED (so the relay, which takes PENDING inserts, leaves them), made PENDING, marked for the sweep by an audit
 * (the producer writes no index entry), then turned FAILED again before the sweeper's grace period lets it send
 * them; removed afterwards.
 */
export async function measureSweepCost(
  c: Connection,
  unsent: number,
  delivered: number,
  deliver: (count: number) => Promise<void>,
): Promise<SweepCostReport> {
  const key = `bench-sweep-${randomUUID().slice(0, 8)}`;
  const items = Array.from({ length: unsent }, (_, i) => ({
    ...newOutboxItem({ groupKey: key, sequence: i + 1, type: 'BenchUnsent', payload: {} }, new Date()),
    status: 'FAILED',
  }));
  const setStatus = async (to: 'PENDING' | 'FAILED', condition: string) => {
    for (const item of items) {
      await c.dynamodb.send(
        new UpdateCommand({
          TableName: c.outputs.OutboxTableName,
          Key: { groupKey: item.groupKey, sequence: item.sequence },
          UpdateExpression: 'SET #status = :to',
          ConditionExpression: condition,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':to': to },
        }),
      );
    }
  };
  const write = async (requests: Array<Record<string, unknown>>) => {
    for (let start = 0; start < requests.length; start += 25) {
      await c.dynamodb.send(
        new BatchWriteCommand({
          RequestItems: { [c.outputs.OutboxTableName]: requests.slice(start, start + 25) },
        }),
      );
    }
  };
  await write(items.map((item) => ({ PutRequest: { Item: item } })));
  try {
    await setStatus('PENDING', 'attribute_exists(groupKey)');
    await new OutboxAudit({
      dynamodb: c.dynamodb,
      outboxTableName: c.outputs.OutboxTableName,
      policy: { graceSeconds: 0 },
    }).audit();
    await setStatus('FAILED', 'attribute_exists(sweepShard)');
    const before = await sweepNow(c);
    await deliver(delivered);
    const after = await sweepNow(c);
    return {
      unsent,
      delivered,
      readUnitsUnsentOnly: before.readCapacityUnits,
      readUnitsWithDelivered: after.readCapacityUnits,
      ratio: Math.round((after.readCapacityUnits / Math.max(before.readCapacityUnits, 0.5)) * 100) / 100,
    };
  } finally {
    await write(
      items.map((item) => ({ DeleteRequest: { Key: { groupKey: item.groupKey, sequence: item.sequence } } })),
    );
  }
}
