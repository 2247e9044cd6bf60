import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { transactionShards, UNSENT_INDEX } from '../outbox/unsent-index';
import { updateWithToken } from '../token-update';
import { isOutcomeUnknown, type RetryTransientOptions, retryTransient } from '../transient-errors';
import {
  type CheckResult,
  type HalfMessageItem,
  halfMessageKey,
  type TransactionCheckRequest,
  TransactionNotOpenError,
} from './half-message';
import type { TransactionalProducer } from './transactional-producer';

export interface CheckBackPolicy {
  /** Time between two checks of one transaction (RocketMQ: 30 s). */
  readonly checkIntervalSeconds: number;
  /** Checks answered UNKNOWN (or failing) before the transaction becomes FAILED (RocketMQ: 15). */
  readonly maxChecks: number;
}

export const DEFAULT_CHECK_BACK_POLICY: CheckBackPolicy = { checkIntervalSeconds: 30, maxChecks: 15 };

/** What the check-back writes as `resolvedBy` when it commits or rolls back. */
const RESOLVED_BY = 'check-back';

/** One pass's counters. */
interface Totals {
  open: number;
  checked: number;
  committed: number;
  rolledBack: number;
  unknown: number;
  errors: number;
  failed: number;
  /** FAILED transactions read from the index. */
  failedRead: number;
  alertFailures: number;
}

export interface OpenTransactionCheckerOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly producer: TransactionalProducer;
  readonly outboxTableName: string;
  /**
   * The table of half messages, when they live in a table of their own: it must be `producer`'s
   * (`TransactionalProducerOptions.transactionTableName`), whose resolutions the check-back runs.
   * @default the outbox table
   */
  readonly transactionTableName?: string;
  readonly alertTopicArn: string;
  /** Asks the producer's checker; any error or timeout must resolve to, or be treated as, UNKNOWN. */
  readonly checker: (request: TransactionCheckRequest) => Promise<CheckResult>;
  readonly policy?: Partial<CheckBackPolicy>;
  readonly clock?: () => Date;
  /** Told of each transaction whose commit or rollback failed (it is checked again at the next interval). */
  readonly onError?: (transactionId: string, error: unknown) => void;
  /**
   * Told of each transaction this pass committed or rolled back, with its message's id, key and `traceparent` (log
   * it: it is the check-back's line of that message).
   */
  readonly onResolved?: (resolved: ResolvedTransaction) => void;
  /** Told of each transaction given up on (log it as an error). */
  readonly onFailed?: (failed: FailedTransaction) => void;
  /**
   * Told when the SNS alert of a transaction given up on could not be published (log it as an error). The pass goes
   * on: the transaction is FAILED all the same, and counted in `failedOpen` by every later pass.
   */
  readonly onAlertFailed?: (failed: FailedTransaction, error: unknown) => void;
  /** How transient DynamoDB errors are retried in-process (the time left always bounds it). @default retryTransient's */
  readonly retry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
}

/** A transaction the check-back resolved, as `onResolved` is told of it. */
export interface ResolvedTransaction {
  readonly transactionId: string;
  readonly resolution: 'COMMITTED' | 'ROLLED_BACK';
  readonly messageId: string;
  readonly groupKey: string;
  readonly traceparent?: string;
}

/** What one pass may spend. */
export interface CheckBackBudget {
  /** Milliseconds left in the invocation (`context.getRemainingTimeInMillis`). @default no limit */
  readonly remainingTimeMs?: () => number;
  /**
   * The pass starts no new check when less than this is left (a check may wait for the checker's timeout).
   * @default 10000
   */
  readonly reserveMs?: number;
}

export interface FailedTransaction {
  readonly transactionId: string;
  readonly groupKey: string;
  readonly type: string;
  readonly messageId: string;
  readonly checkCount: number;
  readonly lastCheckResult: string;
  readonly preparedAt: string;
}

export interface CheckBackReport {
  /** PREPARED transactions at the start of the pass. */
  readonly open: number;
  /** Age of the oldest PREPARED transaction (0 when none). */
  readonly oldestOpenAgeSeconds: number;
  readonly checked: number;
  readonly committed: number;
  readonly rolledBack: number;
  readonly unknown: number;
  /** Transactions whose resolution failed this pass (see `onError`). */
  readonly errors: number;
  /** Transactions this pass turned FAILED (each with an error log and an SNS alert). */
  readonly failed: number;
  /**
   * FAILED transactions waiting for an operator to commit or roll them back: those the pass read, plus those it
   * turned FAILED (a gauge: every pass counts every one of them again, however and whenever it became FAILED).
   */
  readonly failedOpen: number;
  /** Alerts of transactions turned FAILED that SNS did not take (see `onAlertFailed`). */
  readonly alertFailures: number;
  /** False when the pass stopped at its time budget: the next pass continues. */
  readonly complete: boolean;
}

/**
 * The check-back (design invariant 8): transactions left PREPARED past their timeout are checked with the
 * producer's checker, at an interval, up to a maximum number of checks. COMMIT commits and ROLLBACK rolls back,
 * exactly as the producer would have (same conditional writes, so a producer still committing loses or wins
 * cleanly); UNKNOWN, an error or a timeout waits for the next check. After the last check the transaction becomes
 * FAILED — kept, with an error log and an SNS alert — until an operator commits or rolls it back.
 */
export class OpenTransactionChecker {
  private readonly policy: CheckBackPolicy;
  private readonly clock: () => Date;
  /** Where the half messages live: the pass reads their `T#` index entries and leases them there. */
  private readonly transactionTableName: string;

  constructor(private readonly options: OpenTransactionCheckerOptions) {
    this.policy = { ...DEFAULT_CHECK_BACK_POLICY, ...options.policy };
    this.clock = options.clock ?? (() => new Date());
    this.transactionTableName = options.transactionTableName ?? options.outboxTableName;
    if (this.transactionTableName !== options.producer.transactionTableName) {
      throw new RangeError(
        `the check-back reads transactions in table ${this.transactionTableName}, but its producer resolves them in ` +
          `${options.producer.transactionTableName}: give both the same transactionTableName`,
      );
    }
    if (!Number.isInteger(this.policy.maxChecks) || this.policy.maxChecks < 1) {
      throw new RangeError(`maxChecks must be an integer ≥ 1; got ${this.policy.maxChecks}`);
    }
    if (!(this.policy.checkIntervalSeconds >= 0)) {
      throw new RangeError(`checkIntervalSeconds must be ≥ 0; got ${this.policy.checkIntervalSeconds}`);
    }
  }

  /**
   * One pass over the open transactions, read from the transaction table's sparse `unsent` index (open
   * transactions only: a resolved one leaves the index), page by page; it stops starting checks when its time is nearly up.
   */
  async checkOnce(budget: CheckBackBudget = {}): Promise<CheckBackReport> {
    const now = this.clock();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const remainingTimeMs = () => budget.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
    const reserveMs = budget.reserveMs ?? 10_000;
    const totals: Totals = {
      open: 0,
      checked: 0,
      committed: 0,
      rolledBack: 0,
      unknown: 0,
      errors: 0,
      failed: 0,
      failedRead: 0,
      alertFailures: 0,
    };
    let oldest = now.getTime();
    let complete = true;
    for (const shard of transactionShards()) {
      let start: Record<string, unknown> | undefined;
      do {
        if (remainingTimeMs() < reserveMs) {
          complete = false;
          break;
        }
        const page = await this.retry(remainingTimeMs, () =>
          this.options.dynamodb.send(
            new QueryCommand({
              TableName: this.transactionTableName,
              IndexName: UNSENT_INDEX,
              KeyConditionExpression: 'sweepShard = :shard',
              ExpressionAttributeValues: { ':shard': shard },
              ExclusiveStartKey: start,
            }),
          ),
        );
        start = page.LastEvaluatedKey;
        const items = (page.Items ?? []) as HalfMessageItem[];
        const open = items.filter((item) => item.status === 'PREPARED');
        totals.open += open.length;
        totals.failedRead += items.filter((item) => item.status === 'FAILED').length;
        for (const item of open) oldest = Math.min(oldest, Date.parse(item.createdAt));
        for (const item of open) {
          if (item.prepareTimeoutAt > nowSeconds || item.nextCheckAt > nowSeconds) continue;
          if (remainingTimeMs() < reserveMs) {
            complete = false;
            break;
          }
          await this.check(item, nowSeconds, totals, remainingTimeMs);
        }
      } while (start !== undefined && complete);
      if (!complete) break;
    }
    const { failedRead, ...counts } = totals;
    return {
      ...counts,
      failedOpen: failedRead + totals.failed,
      oldestOpenAgeSeconds: Math.max(0, Math.round((now.getTime() - oldest) / 1000)),
      complete,
    };
  }

  /** Leases one due transaction, asks the checker, and acts on the answer. */
  private async check(
    item: HalfMessageItem,
    nowSeconds: number,
    totals: Totals,
    remainingTimeMs: () => number,
  ): Promise<void> {
    const leased = await this.lease(item, nowSeconds, remainingTimeMs);
    if (leased === undefined) return;
    totals.checked++;
    const result = await this.ask(leased);
    const id = leased.transactionId;
    try {
      if (result === 'COMMIT') {
        const commit = () => this.options.producer.commit(id, RESOLVED_BY);
        if (await this.resolve(id, 'COMMITTED', async () => !(await commit()).alreadyCommitted)) {
          totals.committed++;
          this.resolved(leased, 'COMMITTED');
        }
        return;
      }
      if (result === 'ROLLBACK') {
        const rollback = () => this.options.producer.rollback(id, RESOLVED_BY);
        if (await this.resolve(id, 'ROLLED_BACK', async () => !(await rollback()).alreadyRolledBack)) {
          totals.rolledBack++;
          this.resolved(leased, 'ROLLED_BACK');
        }
        return;
      }
      totals.unknown++;
    } catch (error) {
      // One transaction that cannot be resolved (its aggregate is gone, throttling) must not stop the pass; it
      // counts as a failed check, and after the last one it becomes FAILED like an undecided one.
      totals.errors++;
      this.options.onError?.(leased.transactionId, error);
    }
    if (leased.checkCount >= this.policy.maxChecks)
      await this.markFailed(leased, result, totals, remainingTimeMs);
  }

  private retry<T>(remainingTimeMs: () => number, operation: () => Promise<T>): Promise<T> {
    return retryTransient(operation, { ...this.options.retry, remainingTimeMs });
  }

  /**
   * Counts the check and schedules the next one; undefined when a concurrent pass (or a resolution) came first. A
   * lease whose answer was lost is told from another pass's by its token: it is this pass's, and the check goes on.
   */
  private async lease(
    item: HalfMessageItem,
    nowSeconds: number,
    remainingTimeMs: () => number,
  ): Promise<HalfMessageItem | undefined> {
    const leased = await updateWithToken(
      this.options.dynamodb,
      {
        TableName: this.transactionTableName,
        Key: halfMessageKey(item.transactionId),
        UpdateExpression: 'SET checkCount = :next, nextCheckAt = :nextCheckAt',
        ConditionExpression: '#status = :prepared AND checkCount = :seen',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':prepared': 'PREPARED',
          ':seen': item.checkCount,
          ':next': item.checkCount + 1,
          ':nextCheckAt': nowSeconds + this.policy.checkIntervalSeconds,
        },
      },
      (operation) => this.retry(remainingTimeMs, operation),
    );
    return leased as HalfMessageItem | undefined;
  }

  private async ask(item: HalfMessageItem): Promise<CheckResult> {
    let result: CheckResult = 'UNKNOWN';
    try {
      result = await this.options.checker({
        transactionId: item.transactionId,
        groupKey: item.targetGroupKey,
        type: item.type,
        payload: JSON.parse(item.payload) as unknown,
        messageId: item.messageId,
        checkCount: item.checkCount,
        preparedAt: item.createdAt,
      });
    } catch {
      result = 'UNKNOWN';
    }
    if (result !== 'COMMIT' && result !== 'ROLLBACK') result = 'UNKNOWN';
    await this.options.dynamodb
      .send(
        new UpdateCommand({
          TableName: this.transactionTableName,
          Key: halfMessageKey(item.transactionId),
          UpdateExpression: 'SET lastCheckResult = :result',
          ConditionExpression: 'attribute_exists(groupKey)',
          ExpressionAttributeValues: { ':result': result },
        }),
      )
      .catch(() => undefined);
    return result;
  }

  /**
   * Runs a commit or rollback; false when the producer (or an operator) resolved the transaction first. When the
   * action says "already resolved", or fails with an unknown outcome, the transaction is read again: resolved as
   * asked by the check-back (which held its lease), it was this pass's resolution whose answer was lost.
   */
  private async resolve(
    transactionId: string,
    resolved: 'COMMITTED' | 'ROLLED_BACK',
    action: () => Promise<boolean>,
  ): Promise<boolean> {
    try {
      if (await action()) return true;
    } catch (error) {
      if (error instanceof TransactionNotOpenError) return false;
      if (isOutcomeUnknown(error) && (await this.resolvedHere(transactionId, resolved))) return true;
      throw error;
    }
    return this.resolvedHere(transactionId, resolved);
  }

  private resolved(half: HalfMessageItem, resolution: ResolvedTransaction['resolution']): void {
    this.options.onResolved?.({
      transactionId: half.transactionId,
      resolution,
      messageId: half.messageId,
      groupKey: half.targetGroupKey,
      ...(half.traceparent === undefined ? {} : { traceparent: half.traceparent }),
    });
  }

  private async resolvedHere(transactionId: string, resolved: 'COMMITTED' | 'ROLLED_BACK'): Promise<boolean> {
    const half = await this.options.producer.read(transactionId);
    return half?.status === resolved && half.resolvedBy === RESOLVED_BY;
  }

  /**
   * Turns the transaction FAILED (fenced on its check count), then logs it and alerts. The update carries a token,
   * so one whose answer was lost (its retry failing against its own write) still counts, logs and alerts; an alert
   * SNS does not take is counted and reported, and the pass goes on.
   */
  private async markFailed(
    item: HalfMessageItem,
    lastCheckResult: CheckResult,
    totals: Totals,
    remainingTimeMs: () => number,
  ): Promise<void> {
    const marked = await updateWithToken(
      this.options.dynamodb,
      {
        TableName: this.transactionTableName,
        Key: halfMessageKey(item.transactionId),
        UpdateExpression: 'SET #status = :failed, failedAt = :now',
        ConditionExpression: '#status = :prepared AND checkCount = :count',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':failed': 'FAILED',
          ':prepared': 'PREPARED',
          ':count': item.checkCount,
          ':now': this.clock().toISOString(),
        },
      },
      (operation) => this.retry(remainingTimeMs, operation),
    );
    if (marked === undefined) return;
    totals.failed++;
    const failed: FailedTransaction = {
      transactionId: item.transactionId,
      groupKey: item.targetGroupKey,
      type: item.type,
      messageId: item.messageId,
      checkCount: item.checkCount,
      lastCheckResult,
      preparedAt: item.createdAt,
    };
    this.options.onFailed?.(failed);
    try {
      await this.options.sns.send(
        new PublishCommand({
          TopicArn: this.options.alertTopicArn,
          Subject: `Transaction FAILED after ${item.checkCount} checks`,
          Message: JSON.stringify({ alert: 'TransactionCheckFailed', ...failed }),
          MessageAttributes: { alert: { DataType: 'String', StringValue: 'TransactionCheckFailed' } },
        }),
      );
    } catch (error) {
      totals.alertFailures++;
      this.options.onAlertFailed?.(failed, error);
    }
  }
}
