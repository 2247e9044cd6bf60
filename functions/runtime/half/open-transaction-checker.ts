import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { transactionShards, UNSENT_INDEX } from '../outbox/unsent-index';
import { type RetryTransientOptions, retryTransient } from '../transient-errors';
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

export interface OpenTransactionCheckerOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  readonly producer: TransactionalProducer;
  readonly outboxTableName: string;
  readonly alertTopicArn: string;
  /** Asks the producer's checker; any error or timeout must resolve to, or be treated as, UNKNOWN. */
  readonly checker: (request: TransactionCheckRequest) => Promise<CheckResult>;
  readonly policy?: Partial<CheckBackPolicy>;
  readonly clock?: () => Date;
  /** Told of each transaction whose commit or rollback failed (it is checked again at the next interval). */
  readonly onError?: (transactionId: string, error: unknown) => void;
  /** Told of each transaction given up on (log it as an error). */
  readonly onFailed?: (failed: FailedTransaction) => void;
  /** How transient DynamoDB errors are retried in-process (the time left always bounds it). @default retryTransient's */
  readonly retry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
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

  constructor(private readonly options: OpenTransactionCheckerOptions) {
    this.policy = { ...DEFAULT_CHECK_BACK_POLICY, ...options.policy };
    this.clock = options.clock ?? (() => new Date());
    if (!Number.isInteger(this.policy.maxChecks) || this.policy.maxChecks < 1) {
      throw new RangeError(`maxChecks must be an integer ≥ 1; got ${this.policy.maxChecks}`);
    }
    if (!(this.policy.checkIntervalSeconds >= 0)) {
      throw new RangeError(`checkIntervalSeconds must be ≥ 0; got ${this.policy.checkIntervalSeconds}`);
    }
  }

  /**
   * One pass over the open transactions, read from the outbox's sparse `unsent` index (open transactions only:
   * a resolved one leaves the index), page by page; it stops starting checks when its time is nearly up.
   */
  async checkOnce(budget: CheckBackBudget = {}): Promise<CheckBackReport> {
    const now = this.clock();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const remainingTimeMs = () => budget.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
    const reserveMs = budget.reserveMs ?? 10_000;
    const totals = { open: 0, checked: 0, committed: 0, rolledBack: 0, unknown: 0, errors: 0, failed: 0 };
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
              TableName: this.options.outboxTableName,
              IndexName: UNSENT_INDEX,
              KeyConditionExpression: 'sweepShard = :shard',
              ExpressionAttributeValues: { ':shard': shard },
              ExclusiveStartKey: start,
            }),
          ),
        );
        start = page.LastEvaluatedKey;
        const open = ((page.Items ?? []) as HalfMessageItem[]).filter((item) => item.status === 'PREPARED');
        totals.open += open.length;
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
    return {
      ...totals,
      oldestOpenAgeSeconds: Math.max(0, Math.round((now.getTime() - oldest) / 1000)),
      complete,
    };
  }

  /** Leases one due transaction, asks the checker, and acts on the answer. */
  private async check(
    item: HalfMessageItem,
    nowSeconds: number,
    totals: {
      checked: number;
      committed: number;
      rolledBack: number;
      unknown: number;
      errors: number;
      failed: number;
    },
    remainingTimeMs: () => number,
  ): Promise<void> {
    const leased = await this.lease(item, nowSeconds, remainingTimeMs);
    if (leased === undefined) return;
    totals.checked++;
    const result = await this.ask(leased);
    try {
      if (result === 'COMMIT') {
        const commit = () => this.options.producer.commit(leased.transactionId, 'check-back');
        if (await this.resolve(async () => !(await commit()).alreadyCommitted)) totals.committed++;
        return;
      }
      if (result === 'ROLLBACK') {
        const rollback = () => this.options.producer.rollback(leased.transactionId, 'check-back');
        if (await this.resolve(async () => !(await rollback()).alreadyRolledBack)) totals.rolledBack++;
        return;
      }
      totals.unknown++;
    } catch (error) {
      // One transaction that cannot be resolved (its aggregate is gone, throttling) must not stop the pass; it
      // counts as a failed check, and after the last one it becomes FAILED like an undecided one.
      totals.errors++;
      this.options.onError?.(leased.transactionId, error);
    }
    if (leased.checkCount >= this.policy.maxChecks) {
      if (await this.markFailed(leased, remainingTimeMs)) totals.failed++;
    }
  }

  private retry<T>(remainingTimeMs: () => number, operation: () => Promise<T>): Promise<T> {
    return retryTransient(operation, { ...this.options.retry, remainingTimeMs });
  }

  /** Counts the check and schedules the next one; undefined when a concurrent pass took it. */
  private async lease(
    item: HalfMessageItem,
    nowSeconds: number,
    remainingTimeMs: () => number,
  ): Promise<HalfMessageItem | undefined> {
    try {
      const response = await this.retry(remainingTimeMs, () =>
        this.options.dynamodb.send(
          new UpdateCommand({
            TableName: this.options.outboxTableName,
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
            ReturnValues: 'ALL_NEW',
          }),
        ),
      );
      return response.Attributes as HalfMessageItem;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
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
          TableName: this.options.outboxTableName,
          Key: halfMessageKey(item.transactionId),
          UpdateExpression: 'SET lastCheckResult = :result',
          ConditionExpression: 'attribute_exists(groupKey)',
          ExpressionAttributeValues: { ':result': result },
        }),
      )
      .catch(() => undefined);
    return result;
  }

  /** Runs a commit or rollback; false when the producer (or an operator) resolved the transaction first. */
  private async resolve(action: () => Promise<boolean>): Promise<boolean> {
    try {
      return await action();
    } catch (error) {
      if (error instanceof TransactionNotOpenError) return false;
      throw error;
    }
  }

  private async markFailed(item: HalfMessageItem, remainingTimeMs: () => number): Promise<boolean> {
    try {
      await this.retry(remainingTimeMs, () =>
        this.options.dynamodb.send(
          new UpdateCommand({
            TableName: this.options.outboxTableName,
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
          }),
        ),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
    const failed: FailedTransaction = {
      transactionId: item.transactionId,
      groupKey: item.targetGroupKey,
      type: item.type,
      messageId: item.messageId,
      checkCount: item.checkCount,
      lastCheckResult: 'UNKNOWN',
      preparedAt: item.createdAt,
    };
    this.options.onFailed?.(failed);
    await this.options.sns.send(
      new PublishCommand({
        TopicArn: this.options.alertTopicArn,
        Subject: `Transaction FAILED after ${item.checkCount} checks`,
        Message: JSON.stringify({ alert: 'TransactionCheckFailed', ...failed }),
        MessageAttributes: { alert: { DataType: 'String', StringValue: 'TransactionCheckFailed' } },
      }),
    );
    return true;
  }
}
