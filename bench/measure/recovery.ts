import { randomUUID } from 'node:crypto';
import { ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import { PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import {
  forEachConcurrently,
  newOutboxItem,
  OutboxAudit,
  type OutboxItem,
} from 'reliable-messaging-serverless/runtime/bench-support';
import { type Connection, sweepNow } from '../../tools/stack/stack-control';
import { countOutboxItems } from '../../tools/stack/stack-queries';
import { type RoundsSummary, summarizeRounds } from './rounds';

/**
 * Who finds the messages the relay left behind (in no index: the producer writes none, and no relay marked them):
 * - `sweeper`: the sweeper's handler, which audits the outbox before it sweeps (its audit must be due on each
 *   drain's first run: an audit interval of 0 on the bench's stack, or a cold sweeper);
 * - `bench`: this process runs the same `OutboxAudit` on the stack's outbox table before a drain's first sweep run
 *   (as a sweeper that audits once per interval does), its time counted in the sweep's — for a stack whose sweeper
 *   does not audit yet;
 * - `auto` (the default): the sweeper's handler, and where its audit was not due (its first run of a drain sent none
 *   of the messages), this process's audit, then the sweeps go on — so a run never stops on a stack whose sweeper
 *   audits only once per interval.
 */
export type RecoveryAudit = 'auto' | 'sweeper' | 'bench';

export const RECOVERY_AUDITS: readonly RecoveryAudit[] = ['auto', 'sweeper', 'bench'];

/** Who found the messages of a run's drains: one of them for every drain, or each for some. */
export type RecoveryAuditBy = 'sweeper' | 'bench' | 'sweeper and bench';

export interface RecoveryOptions {
  readonly messages: number;
  readonly keys: number;
  readonly hotKeyMessages: number;
  /** Relay-then-sweep rounds; `recoveryRatio` is their median. */
  readonly rounds: number;
  readonly audit: RecoveryAudit;
}

/** One round: the relay's rate, then the sweep's, on fresh keys. */
export interface RecoveryRound {
  readonly relayPerSecond: number;
  readonly sweepPerSecond: number;
  /** sweepPerSecond ÷ relayPerSecond of this round. */
  readonly recoveryRatio: number;
}

export interface RecoveryReport {
  readonly messages: number;
  readonly keys: number;
  /** Messages per second the stream relay sends (and deletes) when the queue is there: the median of the rounds. */
  readonly relayPerSecond: number;
  /**
   * Messages per second the compensation sweep alone sends (and deletes) of what the relay left behind, the audit
   * that finds them included: the median of the rounds.
   */
  readonly sweepPerSecond: number;
  /** The median of the rounds' sweepPerSecond ÷ relayPerSecond (target ≥ 0.5). */
  readonly recoveryRatio: number;
  /** The spread of the rounds' ratios. */
  readonly recoveryRatioMin: number;
  readonly recoveryRatioMax: number;
  /** The median and spread (min, max) of the rounds' relay rates, sweep rates and ratios. */
  readonly relayRounds: RoundsSummary;
  readonly sweepRounds: RoundsSummary;
  readonly ratioRounds: RoundsSummary;
  readonly rounds: readonly RecoveryRound[];
  /** Who found the messages the relay left behind. */
  readonly auditBy: RecoveryAuditBy;
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
 * compete for the machine; the queue is purged afterwards), in `rounds` rounds on fresh keys (a loaded machine
 * makes one round noisy: 0.72 and 0.46 were measured on the same code):
 * - the relay's normal rate: `messages` over `keys` keys committed as PENDING (stream INSERTs), timed from the first
 *   write until the relay has sent and deleted all of them;
 * - the sweep's rate: as many messages left behind by a relay that never processed them — committed, then PENDING
 *   by a MODIFY the relay's stream filter does not pass, 10 minutes old so they are due, in no index (nobody marked
 *   them) — found by the audit (`audit`) and delivered by `sweepNow` alone;
 * - once, a hot key: `hotKeyMessages` such messages on one key, found and drained the same way.
 */
export async function measureRecovery(c: Connection, options: RecoveryOptions): Promise<RecoveryReport> {
  const { messages, keys, hotKeyMessages, rounds: roundCount, audit } = options;
  const resume = await pauseConsumer(c);
  try {
    const run = randomUUID().slice(0, 8);
    const rounds: RecoveryRound[] = [];
    const auditors = new Set<'sweeper' | 'bench'>();
    for (let round = 0; round < roundCount; round++) {
      const relayKeys = Array.from({ length: keys }, (_, k) => `bench-relay-${run}-${round}-${k}`);
      const relayStarted = Date.now();
      await write(c, itemsOf(relayKeys, messages, 'PENDING'));
      await drained(c, relayKeys);
      const relayPerSecond = messages / ((Date.now() - relayStarted) / 1000);

      const sweepKeys = Array.from({ length: keys }, (_, k) => `bench-sweep-${run}-${round}-${k}`);
      await leftBehind(c, itemsOf(sweepKeys, messages, 'FAILED'));
      const sweepStarted = Date.now();
      auditors.add((await sweepUntilDrained(c, sweepKeys, messages, audit)).auditBy);
      const sweepPerSecond = messages / ((Date.now() - sweepStarted) / 1000);
      rounds.push({
        relayPerSecond: round3(relayPerSecond),
        sweepPerSecond: round3(sweepPerSecond),
        recoveryRatio: round3(sweepPerSecond / relayPerSecond),
      });
    }
    const ratio = summarizeRounds(rounds.map((r) => r.recoveryRatio));
    const relay = summarizeRounds(rounds.map((r) => r.relayPerSecond));
    const sweep = summarizeRounds(rounds.map((r) => r.sweepPerSecond));

    const hotKey = [`bench-hot-${run}`];
    await leftBehind(c, itemsOf(hotKey, hotKeyMessages, 'FAILED'));
    const hotStarted = Date.now();
    const hotKeyDrain = await sweepUntilDrained(c, hotKey, hotKeyMessages, audit);
    auditors.add(hotKeyDrain.auditBy);
    const hotKeySweeps = hotKeyDrain.sweeps;
    const hotKeyDrainSeconds = (Date.now() - hotStarted) / 1000;
    return {
      messages,
      keys,
      relayPerSecond: round3(relay.median),
      sweepPerSecond: round3(sweep.median),
      recoveryRatio: round3(ratio.median),
      recoveryRatioMin: ratio.min,
      recoveryRatioMax: ratio.max,
      relayRounds: { ...relay, median: round3(relay.median) },
      sweepRounds: { ...sweep, median: round3(sweep.median) },
      ratioRounds: { ...ratio, median: round3(ratio.median) },
      rounds,
      auditBy: auditors.size === 2 ? 'sweeper and bench' : [...auditors][0]!,
      hotKeyMessages,
      hotKeyDrainSeconds: round3(hotKeyDrainSeconds),
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

/**
 * Runs sweeps back to back until the keys are empty; returns how many it took and who audited. With `audit` =
 * `bench`, the outbox is audited here before the first one; with `auto`, here after a first run that sent none of
 * them. With `sweeper`, fails fast when the first run sent none of them: nothing marked them for the sweep (a
 * sweeper whose handler does not audit, or whose audit was not due).
 */
async function sweepUntilDrained(
  c: Connection,
  keys: readonly string[],
  messages: number,
  audit: RecoveryAudit,
): Promise<{ readonly sweeps: number; readonly auditBy: 'sweeper' | 'bench' }> {
  const state: { auditBy: 'sweeper' | 'bench' } = { auditBy: 'sweeper' };
  const auditHere = async () => {
    const report = await new OutboxAudit({
      dynamodb: c.dynamodb,
      outboxTableName: c.outputs.OutboxTableName,
    }).audit();
    if (!report.complete) throw new Error('the bench audit of the outbox did not complete');
    state.auditBy = 'bench';
  };
  if (audit === 'bench') await auditHere();
  for (let sweeps = 1; sweeps <= 100; sweeps++) {
    await sweepNow(c);
    const left = await countOutboxItems(c, keys);
    if (left === 0) return { sweeps, auditBy: state.auditBy };
    if (sweeps === 1 && left === messages) {
      if (audit === 'auto') {
        await auditHere();
        continue;
      }
      throw new Error(
        `the sweep sent none of the ${messages} messages the relay left behind: nothing marked them for it ` +
          (audit === 'sweeper'
            ? "(the sweeper's handler did not audit the outbox: no audit, or its interval had not passed); " +
              'run with --recovery-audit auto or bench'
            : '(the bench audit marked none)'),
      );
    }
    if (sweeps === 2 && left === messages && state.auditBy === 'bench' && audit === 'auto') {
      throw new Error(
        `the sweep sent none of the ${messages} messages the relay left behind, even after the bench audit`,
      );
    }
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

const round3 = (value: number) => Math.round(value * 1000) / 1000;
