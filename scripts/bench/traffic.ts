import { randomUUID } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import type { ProgressBar } from '../local/progress';
import type { Connection } from '../local/stack-control';

export interface Traffic {
  readonly keys: readonly string[];
  readonly perKey: number;
  /** When the API answered for each messageId (epoch ms). */
  readonly committedAt: ReadonlyMap<string, number>;
}

/** Commits `perKey` messages (an order and its notes) on each of `keyCount` new keys, `concurrency` clients at once. */
export async function commitTraffic(
  c: Connection,
  keyCount: number,
  perKey: number,
  concurrency: number,
  progress?: ProgressBar,
): Promise<Traffic> {
  const run = randomUUID().slice(0, 8);
  const keys = Array.from({ length: keyCount }, (_, k) => `bench-${run}-${k}`);
  const committedAt = new Map<string, number>();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, keys.length) }, async () => {
      while (next < keys.length) {
        const orderId = keys[next++]!;
        const placed = await c.api.placeOrder({
          customerId: 'bench',
          items: [{ sku: `${orderId}-sku`, quantity: 1 }],
          orderId,
        });
        if (placed.status !== 201) throw new Error(`POST /orders answered ${placed.status}`);
        committedAt.set(placed.body.messageId, Date.now());
        progress?.update(committedAt.size);
        for (let n = 1; n < perKey; n++) {
          const added = await c.api.addNote(orderId, `note ${n}`);
          if (added.status !== 201) throw new Error(`POST notes answered ${added.status}`);
          committedAt.set(added.body.messageId, Date.now());
          progress?.update(committedAt.size);
        }
      }
    }),
  );
  progress?.finish();
  return { keys, perKey, committedAt };
}

/** Waits until the consumer applied every message of the traffic (each key's cursor at its last sequence). */
export async function waitApplied(
  c: Connection,
  traffic: Traffic,
  timeoutMs = 600_000,
  progress?: ProgressBar,
): Promise<number> {
  const pending = new Set(traffic.keys);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const key of [...pending]) {
      const cursor = await c.dynamodb.send(
        new GetCommand({ TableName: c.outputs.InboxTableName, Key: { pk: `KEY#${key}`, sk: 'CURSOR' } }),
      );
      if (Number(cursor.Item?.lastSequence ?? 0) >= traffic.perKey) pending.delete(key);
    }
    progress?.update(traffic.keys.length - pending.size);
    if (pending.size === 0) {
      progress?.finish();
      return Date.now();
    }
    if (Date.now() > deadline)
      throw new Error(`${pending.size} keys were not applied within ${timeoutMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}
