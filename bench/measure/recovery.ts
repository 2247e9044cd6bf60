import { randomUUID } from 'node:crypto';
import { ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently, newOutboxItem, type OutboxItem } from 'reliable-messaging-serverless/runtime';
import { type Connection, sweepNow } from '../../scripts/local/stack-control';
import { countOutboxItems } from '../../scripts/local/stack-queries';

export interface RecoveryReport {
  readonly messages: number;
  readonly keys: number;
  /** Messages per second the stream relay sends (and deletes) when the queue is there. */
  readonly relayPerSecond: number;
  /** Messages per second the compensation sweep alone sends (and deletes) of what the relay gave up on. */
  readonly sweepPerSecond: number;
  /** sweepPerSecond ÷ relayPerSecond. */
  readonly recoveryRatio: number;
  readonly hotKeyMessages: number;
  /** Seconds the sweep takes to drain `hotKeyMessages` unsent messages of ONE key. */
  readonly hotKeyDrainSeconds: number;
  /** Sweep invocations that took. */
  readonly hotKeySweeps: number;
}

const WRITE_CONCURRENCY = 16;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Recovery after an outage, on the deployed stack, with the consumer paused (so only the relay and the sweeper
 * compete for the machine; the queue is purged afterwards):
 * - the relay's normal rate: `messages` over `keys` keys committed as PENDING (stream INSERTs), timed from the first
 *   write until the relay has sent and deleted all of them;
 * - the sweep's rate: as many messages left behind by a relay that gave up — committed, then PENDING by a MODIFY
 *   the relay's stream filter does not pass, 10 minutes old so they are due — delivered by `sweepNow` alone;
 * - a hot key: `hotKeyMessages` such messages on one key, drained by the sweep.
 */
export async function measureRecovery(
  c: Connection,
  messages: number,
  keys: number,
  hotKeyMessages: number,
): Promise<RecoveryReport> {
  const resume = await pauseConsumer(c);
  try {
    const run = randomUUID().slice(0, 8);
    const relayKeys = Array.from({ length: keys }, (_, k) => `bench-relay-${run}-${k}`);
    const relayStarted = Date.now();
    await write(c, itemsOf(relayKeys, messages, 'PENDING'));
    await drained(c, relayKeys);
    const relayPerSecond = messages / ((Date.now() - relayStarted) / 1000);

    const sweepKeys = Array.from({ length: keys }, (_, k) => `bench-sweep-${run}-${k}`);
    await leftBehind(c, itemsOf(sweepKeys, messages, 'FAILED'));
    const sweepStarted = Date.now();
    await sweepUntilDrained(c, sweepKeys);
    const sweepPerSecond = messages / ((Date.now() - sweepStarted) / 1000);

    const hotKey = [`bench-hot-${run}`];
    await leftBehind(c, itemsOf(hotKey, hotKeyMessages, 'FAILED'));
    const hotStarted = Date.now();
    const hotKeySweeps = await sweepUntilDrained(c, hotKey);
    const hotKeyDrainSeconds = (Date.now() - hotStarted) / 1000;
    return {
      messages,
      keys,
      relayPerSecond: round(relayPerSecond),
      sweepPerSecond: round(sweepPerSecond),
      recoveryRatio: round(sweepPerSecond / relayPerSecond),
      hotKeyMessages,
      hotKeyDrainSeconds: round(hotKeyDrainSeconds),
      hotKeySweeps,
    };
  } finally {
    await c.sqs.send(new PurgeQueueCommand({ QueueUrl: c.outputs.QueueUrl }));
    await resume();
  }
}

/** `messages` outbox messages spread evenly over `keys`, committed 10 minutes ago (past the sweep's grace period). */
function itemsOf(keys: readonly string[], messages: number, status: OutboxItem['status']): OutboxItem[] {
  const committedAt = new Date(Date.now() - 600_000);
  const perKey = Math.ceil(messages / keys.length);
  return Array.from({ length: messages }, (_, n) => ({
    ...newOutboxItem(
      {
        groupKey: keys[n % keys.length]!,
        sequence: Math.floor(n / keys.length) + 1,
        type: 'BenchRecovery',
        payload: { n, of: perKey },
      },
      committedAt,
    ),
    status,
  }));
}

async function write(c: Connection, items: readonly OutboxItem[]): Promise<void> {
  const chunks: OutboxItem[][] = [];
  for (let start = 0; start < items.length; start += 25) chunks.push(items.slice(start, start + 25));
  await forEachConcurrently(chunks, WRITE_CONCURRENCY, async (chunk) => {
    await c.dynamodb.send(
      new BatchWriteCommand({
        RequestItems: {
          [c.outputs.OutboxTableName]: chunk.map((item) => ({ PutRequest: { Item: { ...item } } })),
        },
      }),
    );
  });
}

/** What a relay that gave up leaves: PENDING messages it will never send (their INSERT was FAILED, made PENDING). */
async function leftBehind(c: Connection, items: readonly OutboxItem[]): Promise<void> {
  await write(c, items);
  await forEachConcurrently(items, WRITE_CONCURRENCY, async (item) => {
    await c.dynamodb.send(
      new UpdateCommand({
        TableName: c.outputs.OutboxTableName,
        Key: { groupKey: item.groupKey, sequence: item.sequence },
        UpdateExpression: 'SET #status = :pending',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':pending': 'PENDING' },
      }),
    );
  });
}

async function drained(c: Connection, keys: readonly string[]): Promise<void> {
  const deadline = Date.now() + 600_000;
  while ((await countOutboxItems(c, keys)) > 0) {
    if (Date.now() > deadline) throw new Error('the relay did not drain the bench messages in 10 minutes');
    await sleep(250);
  }
}

/** Runs sweeps back to back until the keys are empty; returns how many it took. */
async function sweepUntilDrained(c: Connection, keys: readonly string[]): Promise<number> {
  for (let sweeps = 1; sweeps <= 100; sweeps++) {
    await sweepNow(c);
    if ((await countOutboxItems(c, keys)) === 0) return sweeps;
  }
  throw new Error('100 sweeps did not drain the bench messages');
}

/** Disables the consumer's queue mapping; returns what re-enables it. */
async function pauseConsumer(c: Connection): Promise<() => Promise<void>> {
  const mappings = await c.lambda.send(
    new ListEventSourceMappingsCommand({ FunctionName: c.outputs.ConsumerFunctionName }),
  );
  const uuid = mappings.EventSourceMappings?.find((m) => m.EventSourceArn?.includes('sqs'))?.UUID;
  if (uuid === undefined) throw new Error('the consumer has no SQS event source mapping');
  await c.lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: false }));
  return async () => {
    await c.lambda.send(new UpdateEventSourceMappingCommand({ UUID: uuid, Enabled: true }));
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;
