import { randomUUID } from 'node:crypto';
import { BatchGetCommand } from '@aws-sdk/lib-dynamodb';
import { inboxKeys } from '../../functions/runtime/consumer/inbox-keys';
import type { OrdersApiClient } from './api-client';
import type { Connection } from './stack-control';

/**
 * The traffic driver shared by `npm run bench` and `npm run ops -- load`: orders and their notes through the
 * deployed API, then a wait until the consumer applied them.
 */

/** Where the driver reports progress (a `ProgressBar`, or anything with the same two methods). */
export interface ProgressSink {
  update(done: number): void;
  finish(): void;
}

/** An answer of the API other than the one expected: the traffic stops. */
export class TrafficError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'TrafficError';
  }
}

export interface TrafficPlan {
  /** Keys (orders) to create. */
  readonly keys: number;
  /** Messages in all: each key gets an order (one message) and notes for the rest, spread evenly. ≥ keys. */
  readonly messages: number;
  /** API clients at once (each drives one key at a time, so at most `keys` are busy). */
  readonly concurrency: number;
  /** Prefix of the order ids (a random run id is appended). @default 'load' */
  readonly prefix?: string;
}

export interface Traffic {
  /** What every key of this run starts with (`<prefix>-<run id>-`), e.g. for `ops reconcile --prefix`. */
  readonly runPrefix: string;
  readonly keys: readonly string[];
  /** Messages per key when they are spread evenly (the bench's shape); the fewest of any key otherwise. */
  readonly perKey: number;
  /** Messages committed per key (the key's last sequence). */
  readonly expected: ReadonlyMap<string, number>;
  readonly messages: number;
  /** When the API answered for each messageId (epoch ms). */
  readonly committedAt: ReadonlyMap<string, number>;
  /** Epoch ms of the first request and of the last answer. */
  readonly startedAt: number;
  readonly finishedAt: number;
}

/** Messages per key: `messages` spread over `keys`, the first `messages % keys` keys one more. */
export function spread(keys: number, messages: number): number[] {
  const base = Math.floor(messages / keys);
  return Array.from({ length: keys }, (_, k) => base + (k < messages % keys ? 1 : 0));
}

/** Commits the plan's messages: per key an order, then its notes, in order; `concurrency` keys at once. */
export async function driveTraffic(
  api: OrdersApiClient,
  plan: TrafficPlan,
  progress?: ProgressSink,
): Promise<Traffic> {
  if (plan.messages < plan.keys) {
    throw new RangeError(
      `${plan.messages} messages cannot cover ${plan.keys} keys (each key needs its order)`,
    );
  }
  const runPrefix = `${plan.prefix ?? 'load'}-${randomUUID().slice(0, 8)}-`;
  const keys = Array.from({ length: plan.keys }, (_, k) => `${runPrefix}${k}`);
  const counts = spread(plan.keys, plan.messages);
  const expected = new Map(keys.map((key, k) => [key, counts[k]!] as const));
  const committedAt = new Map<string, number>();
  const startedAt = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(plan.concurrency, keys.length) }, async () => {
      while (next < keys.length) {
        const orderId = keys[next++]!;
        const placed = await api.placeOrder({
          customerId: 'load',
          items: [{ sku: `${orderId}-sku`, quantity: 1 }],
          orderId,
        });
        if (placed.status !== 201) {
          throw new TrafficError(
            `POST /orders answered ${placed.status}: ${JSON.stringify(placed.body)}`,
            placed.status,
          );
        }
        committedAt.set(placed.body.messageId, Date.now());
        progress?.update(committedAt.size);
        for (let n = 1; n < expected.get(orderId)!; n++) {
          const added = await api.addNote(orderId, `note ${n}`);
          if (added.status !== 201) {
            throw new TrafficError(
              `POST /orders/${orderId}/notes answered ${added.status}: ${JSON.stringify(added.body)}`,
              added.status,
            );
          }
          committedAt.set(added.body.messageId, Date.now());
          progress?.update(committedAt.size);
        }
      }
    }),
  );
  progress?.finish();
  return {
    runPrefix,
    keys,
    perKey: Math.min(...counts),
    expected,
    messages: plan.messages,
    committedAt,
    startedAt,
    finishedAt: Date.now(),
  };
}

/** Commits `perKey` messages (an order and its notes) on each of `keyCount` new keys, `concurrency` clients at once. */
export function commitTraffic(
  c: Connection,
  keyCount: number,
  perKey: number,
  concurrency: number,
  progress?: ProgressSink,
): Promise<Traffic> {
  return driveTraffic(
    c.api,
    { keys: keyCount, messages: keyCount * perKey, concurrency, prefix: 'bench' },
    progress,
  );
}

/**
 * Waits until the consumer applied every message of the traffic (each key's cursor at its last sequence; cursors
 * read 100 at a time). Returns when (epoch ms).
 */
export async function waitApplied(
  c: Connection,
  traffic: Pick<Traffic, 'keys' | 'expected'>,
  timeoutMs = 600_000,
  progress?: ProgressSink,
): Promise<number> {
  const pending = new Set(traffic.keys);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const keys = [...pending];
    for (let i = 0; i < keys.length; i += 100) {
      for (const [key, lastSequence] of await cursors(c, keys.slice(i, i + 100))) {
        if (lastSequence >= (traffic.expected.get(key) ?? Number.POSITIVE_INFINITY)) pending.delete(key);
      }
    }
    progress?.update(traffic.keys.length - pending.size);
    if (pending.size === 0) {
      progress?.finish();
      return Date.now();
    }
    if (Date.now() > deadline) {
      throw new TrafficError(`${pending.size} keys were not applied within ${timeoutMs / 1000} s`, 0);
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

/** The inbox cursors (last applied sequence) of up to 100 keys. */
async function cursors(c: Connection, keys: readonly string[]): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }> | undefined = {
    [c.outputs.InboxTableName]: {
      Keys: keys.map((key) => inboxKeys.cursor(key)),
      ConsistentRead: true,
    },
  };
  while (request !== undefined && Object.keys(request).length > 0) {
    const response = await c.dynamodb.send(new BatchGetCommand({ RequestItems: request }));
    for (const item of response.Responses?.[c.outputs.InboxTableName] ?? []) {
      found.set(String(item.pk).replace(/^KEY#/, ''), Number(item.lastSequence ?? 0));
    }
    request = response.UnprocessedKeys as typeof request;
  }
  return found;
}
