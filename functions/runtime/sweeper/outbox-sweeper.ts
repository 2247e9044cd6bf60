import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently, rotated } from '../concurrency';
import { ReliableMessagingError } from '../errors';
import type { OutboxItem } from '../outbox/outbox-message';
import { afterKey, messageShards, UNSENT_INDEX } from '../outbox/unsent-index';
import type { OutboxPublisher } from '../relay/outbox-publisher';
import { type TokenUpdateInput, updateWithToken, WRITE_TOKEN_ATTRIBUTE } from '../token-update';
import { type RetryTransientOptions, retryTransient } from '../transient-errors';

/** When a PENDING message is due for (re-)sending, and when it is given up on. */
export interface SweepPolicy {
  /** A PENDING message younger than this is left to the relay. */
  readonly gracePeriodSeconds: number;
  /** Sweeper attempts before the message becomes FAILED. */
  readonly maxAttempts: number;
  /** A message older than this (counted from its last `retryFailed`, if any) becomes FAILED at its next sweep. */
  readonly maxAgeSeconds: number;
  /** Wait after the first failed attempt; doubles after each further one … */
  readonly backoffBaseSeconds: number;
  /** … up to this. */
  readonly backoffMaxSeconds: number;
  /** How long a sweep owns a message it is sending (fences concurrent sweeps). */
  readonly leaseSeconds: number;
  /** Index shards read at once (each works through its keys one after the other): keys recovered in parallel. */
  readonly concurrency: number;
  /** Index items per Query page: what one shard holds in memory at a time. */
  readonly pageSize: number;
  /** A run stops starting new work when less than this is left of its time; the next run continues. */
  readonly stopBeforeTimeoutSeconds: number;
}

export const DEFAULT_SWEEP_POLICY: SweepPolicy = {
  gracePeriodSeconds: 120,
  maxAttempts: 8,
  maxAgeSeconds: 24 * 3600,
  backoffBaseSeconds: 30,
  backoffMaxSeconds: 900,
  leaseSeconds: 60,
  concurrency: 16,
  pageSize: 500,
  stopBeforeTimeoutSeconds: 15,
};

/** SQS takes 10 entries per SendMessageBatch: a key is leased and sent 10 messages at a time. */
const SEND_BATCH = 10;

export interface OutboxSweeperOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  /** Sends and deletes exactly as the stream relay does (same envelope, order rules and deletes). */
  readonly relay: OutboxPublisher;
  readonly outboxTableName: string;
  readonly alertTopicArn: string;
  readonly policy?: Partial<SweepPolicy>;
  readonly clock?: () => Date;
  /** Told of each message given up on (log it as an error). */
  readonly onFailed?: (failed: FailedMessage) => void;
  /**
   * Told when the SNS alert of a message given up on could not be published (log it as an error). The run goes on:
   * the message is FAILED all the same, and counted in `failed` by every later run.
   */
  readonly onAlertFailed?: (failed: FailedMessage, error: unknown) => void;
  /** How transient DynamoDB errors are retried in-process (the time left always bounds it). @default retryTransient's */
  readonly retry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
}

/** What one run may spend. */
export interface SweepBudget {
  /** Milliseconds left in the invocation (`context.getRemainingTimeInMillis`). @default no limit */
  readonly remainingTimeMs?: () => number;
}

export interface FailedMessage {
  readonly messageId: string;
  readonly groupKey: string;
  readonly sequence: number;
  readonly type: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly createdAt: string;
  readonly reason: 'max-attempts' | 'max-age';
}

export interface SweepReport {
  /** PENDING messages this run read (a key whose next message is not due is read no further). */
  readonly pending: number;
  /** FAILED messages this run read, plus those it turned FAILED. */
  readonly failed: number;
  /** Age of the oldest PENDING message read (0 when none); every key's oldest message is read. */
  readonly oldestPendingAgeSeconds: number;
  /** Messages sent (and removed from the outbox) by this sweep. */
  readonly resent: number;
  /** Messages this sweep tried to send and could not. */
  readonly sendFailures: number;
  /** Messages this sweep turned FAILED (each with an error log and an SNS alert). */
  readonly markedFailed: number;
  /** Alerts of messages turned FAILED that SNS did not take (see `onAlertFailed`). */
  readonly alertFailures: number;
  /** Messages another sweep was sending (or had changed since the index was read). */
  readonly leasedElsewhere: number;
  /** Read capacity the index reads consumed. */
  readonly readCapacityUnits: number;
  /** False when the run stopped at its time budget before reading every shard: the next run continues. */
  readonly complete: boolean;
}

/** Some keys could not be swept for a reason other than a lost race (the run's other keys were swept). */
export class SweepFailedError extends ReliableMessagingError {
  constructor(
    public readonly report: SweepReport,
    public readonly failures: number,
    options: { cause: unknown },
  ) {
    const cause =
      options.cause instanceof Error
        ? `${options.cause.name}: ${options.cause.message}`
        : String(options.cause);
    super(`the sweep could not finish ${failures} shard(s) or key(s); first error: ${cause}`, options);
    this.name = 'SweepFailedError';
  }
}

type KeyOutcome = 'drained' | 'blocked' | 'stopped';

/** A message this sweep leased, as the lease left it (with the lease's write token). */
type LeasedItem = OutboxItem & { readonly [WRITE_TOKEN_ATTRIBUTE]?: string };

/**
 * Up to ten of a key's messages leased to send: `read` as the index had them, `leased` as each lease left them
 * (the same order; these are sent); `blocked` when the key has nothing more to send this run after them.
 */
interface LeasedChunk {
  readonly read: readonly OutboxItem[];
  readonly leased: readonly LeasedItem[];
  readonly blocked: boolean;
}

/** One run's counters and deadline. */
class SweepRun {
  pending = 0;
  failed = 0;
  resent = 0;
  sendFailures = 0;
  markedFailed = 0;
  alertFailures = 0;
  leasedElsewhere = 0;
  readCapacityUnits = 0;
  oldest: number;
  stopped = false;
  readonly errors: unknown[] = [];

  constructor(
    readonly now: Date,
    private readonly budget: SweepBudget,
    private readonly reserveMs: number,
  ) {
    this.oldest = now.getTime();
  }

  remainingTimeMs = (): number => this.budget.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;

  /** True (and remembered) once the run must not start anything new. */
  outOfTime(): boolean {
    if (!this.stopped && this.remainingTimeMs() < this.reserveMs) this.stopped = true;
    return this.stopped;
  }

  report(): SweepReport {
    return {
      pending: this.pending,
      failed: this.failed + this.markedFailed,
      oldestPendingAgeSeconds: Math.max(0, Math.round((this.now.getTime() - this.oldest) / 1000)),
      resent: this.resent,
      sendFailures: this.sendFailures,
      markedFailed: this.markedFailed,
      alertFailures: this.alertFailures,
      leasedElsewhere: this.leasedElsewhere,
      readCapacityUnits: this.readCapacityUnits,
      complete: !this.stopped,
    };
  }
}

/**
 * Re-sends what the relay left behind (design invariant 2). It reads the outbox's sparse `unsent` index — unsent
 * and FAILED messages only, never sent ones (deleted) or resolved transactions (not in the index) — shard by shard
 * and page by page, several shards at once; each shard lists its keys one after the other, each key's messages in
 * sequence order. For each key, its due PENDING messages are leased ten at a time in parallel (a conditional update
 * that also counts the attempt), and the leased prefix is sent through the relay core — one SendMessageBatch, one
 * batched delete — with the original messageIds. Nothing of a key is sent after a message that is not due, was
 * leased elsewhere or failed to send; the rest of that key is skipped unread. A failure records the error and backs
 * off. After `maxAttempts` or `maxAge` a message becomes FAILED: it stays, visible, with an error log and an SNS
 * alert, until an operator puts it back (`retryFailed`). A run stops cleanly before its time is up (`complete:
 * false`); the next run starts again from the index, which holds only what is still unsent.
 */
export class OutboxSweeper {
  private readonly policy: SweepPolicy;
  private readonly clock: () => Date;

  constructor(private readonly options: OutboxSweeperOptions) {
    this.policy = { ...DEFAULT_SWEEP_POLICY, ...options.policy };
    this.clock = options.clock ?? (() => new Date());
    validatePolicy(this.policy);
  }

  async sweep(budget: SweepBudget = {}): Promise<SweepReport> {
    const run = new SweepRun(this.clock(), budget, this.policy.stopBeforeTimeoutSeconds * 1000);
    // A different first shard each minute: a run cut short by its budget does not always favour the same keys.
    const shards = rotated(messageShards(), Math.floor(run.now.getTime() / 60_000));
    await forEachConcurrently(shards, this.policy.concurrency, async (shard) => {
      try {
        await this.sweepShard(shard, run);
      } catch (error) {
        run.errors.push(error);
      }
    });
    const report = run.report();
    if (run.errors.length > 0)
      throw new SweepFailedError(report, run.errors.length, { cause: run.errors[0] });
    return report;
  }

  private async sweepShard(shard: string, run: SweepRun): Promise<void> {
    let after: string | undefined;
    let start: Record<string, unknown> | undefined;
    for (;;) {
      if (run.outOfTime()) return;
      const page = await this.retry(run, () =>
        this.options.dynamodb.send(
          new QueryCommand({
            TableName: this.options.outboxTableName,
            IndexName: UNSENT_INDEX,
            KeyConditionExpression:
              after === undefined ? 'sweepShard = :shard' : 'sweepShard = :shard AND sweepOrder > :after',
            ExpressionAttributeValues: {
              ':shard': shard,
              ...(after === undefined ? {} : { ':after': after }),
            },
            ExclusiveStartKey: start,
            Limit: this.policy.pageSize,
            ReturnConsumedCapacity: 'TOTAL',
          }),
        ),
      );
      run.readCapacityUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      const items = (page.Items ?? []) as OutboxItem[];
      for (const item of items) {
        if (item.status === 'FAILED') run.failed++;
        if (item.status !== 'PENDING') continue;
        run.pending++;
        run.oldest = Math.min(run.oldest, Date.parse(item.createdAt));
      }
      let last: { groupKey: string; outcome: KeyOutcome } | undefined;
      for (const keyItems of consecutiveKeys(items)) {
        const groupKey = keyItems[0]!.groupKey;
        let outcome: KeyOutcome;
        try {
          outcome = await this.sweepKey(keyItems, run);
        } catch (error) {
          run.errors.push(error);
          outcome = 'blocked';
        }
        if (outcome === 'stopped') return;
        last = { groupKey, outcome };
      }
      if (page.LastEvaluatedKey === undefined) return;
      if (last?.outcome === 'blocked') {
        // The rest of this key waits for a later run: skip it unread.
        after = afterKey(last.groupKey);
        start = undefined;
      } else {
        start = page.LastEvaluatedKey;
      }
    }
  }

  /**
   * Sweeps one key's messages (in sequence order), ten at a time, until one is not sendable now. The next ten are
   * leased while the current ten are being sent (a key's sends stay one after another); when a send fails, the
   * leases taken ahead are given back, their attempts uncounted.
   */
  private async sweepKey(items: readonly OutboxItem[], run: SweepRun): Promise<KeyOutcome> {
    const cursor = { index: 0 };
    if (run.outOfTime()) return 'stopped';
    let current = await this.leaseNext(items, cursor, run);
    for (;;) {
      // Nothing leased: the key's messages ran out (those left were not PENDING or became FAILED), or it is blocked.
      if (current.leased.length === 0) return current.blocked ? 'blocked' : 'drained';
      const more = !current.blocked && cursor.index < items.length;
      const ahead = more && !run.outOfTime() ? this.leaseNext(items, cursor, run) : undefined;
      const sent = await this.sendWhileLeasing(current.leased, ahead, run);
      if (!sent) {
        if (ahead !== undefined) await this.giveBack(await ahead, run);
        return 'blocked';
      }
      if (ahead === undefined) {
        if (current.blocked) return 'blocked';
        return cursor.index < items.length ? 'stopped' : 'drained';
      }
      current = await ahead;
    }
  }

  /**
   * Sends `leased` while the next chunk is being leased (`ahead`); waits for both, so nothing is left running, and
   * fails with the send's error, else the lease's.
   */
  private async sendWhileLeasing(
    leased: readonly LeasedItem[],
    ahead: Promise<LeasedChunk> | undefined,
    run: SweepRun,
  ): Promise<boolean> {
    const [sending, leasing] = await Promise.allSettled([this.send(leased, run), ahead]);
    if (sending.status === 'rejected') throw sending.reason;
    if (leasing.status === 'rejected') throw leasing.reason;
    return sending.value;
  }

  /**
   * Takes the key's next due PENDING messages (up to ten, from `cursor.index` on, which it moves past what it
   * read) and leases them in parallel; what it leased before a lease it lost is to send, what after is given back.
   * Messages past their attempts or age become FAILED on the way. `blocked`: nothing more of this key this run.
   */
  private async leaseNext(
    items: readonly OutboxItem[],
    cursor: { index: number },
    run: SweepRun,
  ): Promise<LeasedChunk> {
    const chunk: OutboxItem[] = [];
    let blocked = false;
    for (; cursor.index < items.length && chunk.length < SEND_BATCH; cursor.index++) {
      const item = items[cursor.index]!;
      if (item.status !== 'PENDING') continue;
      const exhausted = this.exhaustion(item, run.now);
      if (exhausted !== undefined) {
        if (!(await this.markFailed(item, exhausted, item.lastError ?? 'never sent', false, run))) {
          run.leasedElsewhere++;
          blocked = true; // another sweep holds or changed it: keep order, leave the key to that sweep
          break;
        }
        run.markedFailed++;
        continue;
      }
      if (!this.isDue(item, run.now)) {
        blocked = true; // keep order: nothing after a message that is not due yet
        break;
      }
      chunk.push(item);
    }
    if (chunk.length === 0) return { read: [], leased: [], blocked };
    const leased = await Promise.all(chunk.map((item) => this.lease(item, run)));
    const lost = leased.indexOf(undefined);
    if (lost >= 0) {
      run.leasedElsewhere++;
      blocked = true; // another sweep is on this key: send only what comes before, give back what comes after
      await Promise.all(
        chunk.map((item, i) => {
          const mine = leased[i];
          return i > lost && mine !== undefined ? this.release(item, mine, run) : undefined;
        }),
      );
    }
    const toSend = (lost >= 0 ? leased.slice(0, lost) : leased) as LeasedItem[];
    return { read: chunk.slice(0, toSend.length), leased: toSend, blocked };
  }

  /** Gives back the leases of a chunk taken ahead of a send that failed: its messages were not attempted. */
  private async giveBack(chunk: LeasedChunk, run: SweepRun): Promise<void> {
    await Promise.all(chunk.read.map((item, i) => this.release(item, chunk.leased[i]!, run)));
  }

  /** Sends leased messages of one key, in order (in one SendMessageBatch); true when all of them went. */
  private async send(items: readonly OutboxItem[], run: SweepRun): Promise<boolean> {
    const relayed = await this.options.relay.relay(items.map((item) => ({ recordId: item.messageId, item })));
    run.resent += relayed.sent.length;
    for (const { candidate, error } of relayed.failures) {
      run.sendFailures++;
      const item = candidate.item;
      if (item.attempts >= this.policy.maxAttempts) {
        if (await this.markFailed(item, 'max-attempts', error, true, run)) run.markedFailed++;
      } else {
        await this.recordError(item, error, run);
      }
    }
    return relayed.failures.length === 0;
  }

  private exhaustion(item: OutboxItem, now: Date): FailedMessage['reason'] | undefined {
    if (item.attempts >= this.policy.maxAttempts) return 'max-attempts';
    const since = Date.parse(item.retriedAt ?? item.createdAt);
    if (now.getTime() - since > this.policy.maxAgeSeconds * 1000) return 'max-age';
    return undefined;
  }

  private isDue(item: OutboxItem, now: Date): boolean {
    if (now.getTime() - Date.parse(item.createdAt) < this.policy.gracePeriodSeconds * 1000) return false;
    if (item.attempts === 0 || item.lastAttemptAt === undefined) return true;
    const backoff = Math.min(
      this.policy.backoffBaseSeconds * 2 ** (item.attempts - 1),
      this.policy.backoffMaxSeconds,
    );
    return now.getTime() >= Date.parse(item.lastAttemptAt) + backoff * 1000;
  }

  /**
   * Counts an attempt and takes the message for `leaseSeconds`; undefined when its condition fails — another sweep
   * holds it, or it changed since the index was read (sent, FAILED, or attempted: `attempts = :seen`). A lease whose
   * answer was lost (its retry failing against its own write) is told from another sweep's by its token: it is this
   * sweep's. Any other error is retried if transient, else thrown.
   */
  private async lease(item: OutboxItem, run: SweepRun): Promise<LeasedItem | undefined> {
    const nowSeconds = Math.floor(run.now.getTime() / 1000);
    const leased = await this.updateWithToken(run, {
      TableName: this.options.outboxTableName,
      Key: { groupKey: item.groupKey, sequence: item.sequence },
      UpdateExpression: 'SET attempts = :next, lastAttemptAt = :now, leaseUntil = :until',
      ConditionExpression:
        '#status = :pending AND attempts = :seen AND (attribute_not_exists(leaseUntil) OR leaseUntil < :nowSeconds)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':pending': 'PENDING',
        ':seen': item.attempts,
        ':next': item.attempts + 1,
        ':now': run.now.toISOString(),
        ':until': nowSeconds + this.policy.leaseSeconds,
        ':nowSeconds': nowSeconds,
      },
    });
    return leased as LeasedItem | undefined;
  }

  /**
   * Gives back a lease this sweep took but will not use (its attempt uncounted), unless the item moved on: fenced on
   * the lease's token, so it never gives back another sweep's lease.
   */
  private async release(item: OutboxItem, leased: LeasedItem, run: SweepRun): Promise<void> {
    await this.unlessConditionFails(run, () =>
      this.options.dynamodb.send(
        new UpdateCommand({
          TableName: this.options.outboxTableName,
          Key: { groupKey: item.groupKey, sequence: item.sequence },
          UpdateExpression:
            item.lastAttemptAt === undefined
              ? `SET attempts = :seen REMOVE leaseUntil, lastAttemptAt, ${WRITE_TOKEN_ATTRIBUTE}`
              : `SET attempts = :seen, lastAttemptAt = :lastAttemptAt REMOVE leaseUntil, ${WRITE_TOKEN_ATTRIBUTE}`,
          ConditionExpression: `${WRITE_TOKEN_ATTRIBUTE} = :token`,
          ExpressionAttributeValues: {
            ':seen': item.attempts,
            ':token': leased[WRITE_TOKEN_ATTRIBUTE],
            ...(item.lastAttemptAt === undefined ? {} : { ':lastAttemptAt': item.lastAttemptAt }),
          },
        }),
      ),
    );
  }

  private async recordError(item: OutboxItem, error: string, run: SweepRun): Promise<void> {
    await this.unlessConditionFails(run, () =>
      this.options.dynamodb.send(
        new UpdateCommand({
          TableName: this.options.outboxTableName,
          Key: { groupKey: item.groupKey, sequence: item.sequence },
          UpdateExpression: 'SET lastError = :error REMOVE leaseUntil',
          ConditionExpression: 'attempts = :attempts',
          ExpressionAttributeValues: { ':error': error.slice(0, 1000), ':attempts': item.attempts },
        }),
      ),
    );
  }

  /**
   * Turns a message FAILED (fenced on its attempt count and, unless this sweep holds its lease, on no other sweep
   * holding one: that sweep may be delivering it), logs it and alerts. Returns false if it lost the race. The update
   * carries a token, so one whose answer was lost still counts, logs and alerts; an alert SNS does not take is
   * counted and reported, and the run goes on.
   */
  private async markFailed(
    item: OutboxItem,
    reason: FailedMessage['reason'],
    lastError: string,
    holdsLease: boolean,
    run: SweepRun,
  ): Promise<boolean> {
    const now = this.clock();
    const marked = await this.updateWithToken(run, {
      TableName: this.options.outboxTableName,
      Key: { groupKey: item.groupKey, sequence: item.sequence },
      UpdateExpression: 'SET #status = :failed, failedAt = :now, lastError = :error REMOVE leaseUntil',
      ConditionExpression: holdsLease
        ? '#status = :pending AND attempts = :attempts'
        : '#status = :pending AND attempts = :attempts AND (attribute_not_exists(leaseUntil) OR leaseUntil < :nowSeconds)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':failed': 'FAILED',
        ':pending': 'PENDING',
        ':attempts': item.attempts,
        ':now': now.toISOString(),
        ':error': lastError.slice(0, 1000),
        ...(holdsLease ? {} : { ':nowSeconds': Math.floor(now.getTime() / 1000) }),
      },
    });
    if (marked === undefined) return false;
    const failed: FailedMessage = {
      messageId: item.messageId,
      groupKey: item.groupKey,
      sequence: item.sequence,
      type: item.type,
      attempts: item.attempts,
      lastError,
      createdAt: item.createdAt,
      reason,
    };
    this.options.onFailed?.(failed);
    try {
      await this.options.sns.send(
        new PublishCommand({
          TopicArn: this.options.alertTopicArn,
          Subject: `Outbox message FAILED after ${item.attempts} attempts`.slice(0, 99),
          Message: JSON.stringify({ alert: 'OutboxMessageFailed', ...failed }),
          MessageAttributes: { alert: { DataType: 'String', StringValue: 'OutboxMessageFailed' } },
        }),
      );
    } catch (error) {
      run.alertFailures++;
      this.options.onAlertFailed?.(failed, error);
    }
    return true;
  }

  /** A conditional update with a write token (see `updateWithToken`), transient errors retried within the run. */
  private updateWithToken(
    run: SweepRun,
    input: TokenUpdateInput,
  ): Promise<Record<string, unknown> | undefined> {
    return updateWithToken(this.options.dynamodb, input, (operation) => this.retry(run, operation));
  }

  /** Runs a conditional write: undefined when its condition fails; transient errors retried; others thrown. */
  private async unlessConditionFails<T>(run: SweepRun, write: () => Promise<T>): Promise<T | undefined> {
    try {
      return await this.retry(run, write);
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  private retry<T>(run: SweepRun, operation: () => Promise<T>): Promise<T> {
    return retryTransient(operation, { ...this.options.retry, remainingTimeMs: run.remainingTimeMs });
  }
}

/** Splits index items (each key's messages together, in order) into one array per key, in one pass. */
function consecutiveKeys(items: readonly OutboxItem[]): OutboxItem[][] {
  const keys: OutboxItem[][] = [];
  for (const item of items) {
    const current = keys.at(-1);
    if (current !== undefined && current[0]!.groupKey === item.groupKey) current.push(item);
    else keys.push([item]);
  }
  return keys;
}

function validatePolicy(policy: SweepPolicy): void {
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`${name} must be a number ≥ 0; got ${value}`);
  }
  if (policy.maxAttempts < 1) throw new RangeError(`maxAttempts must be ≥ 1; got ${policy.maxAttempts}`);
  for (const name of ['concurrency', 'pageSize'] as const) {
    if (!Number.isInteger(policy[name]) || policy[name] < 1)
      throw new RangeError(`${name} must be an integer ≥ 1; got ${policy[name]}`);
  }
}
