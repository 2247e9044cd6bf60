import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
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

export interface TransactionCheckBackOptions {
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
}

/**
 * The check-back (design invariant 8): transactions left PREPARED past their timeout are checked with the
 * producer's checker, at an interval, up to a maximum number of checks. COMMIT commits and ROLLBACK rolls back,
 * exactly as the producer would have (same conditional writes, so a producer still committing loses or wins
 * cleanly); UNKNOWN, an error or a timeout waits for the next check. After the last check the transaction becomes
 * FAILED — kept, with an error log and an SNS alert — until an operator commits or rolls it back.
 */
export class TransactionCheckBack {
  private readonly policy: CheckBackPolicy;
  private readonly clock: () => Date;

  constructor(private readonly options: TransactionCheckBackOptions) {
    this.policy = { ...DEFAULT_CHECK_BACK_POLICY, ...options.policy };
    this.clock = options.clock ?? (() => new Date());
    if (!Number.isInteger(this.policy.maxChecks) || this.policy.maxChecks < 1) {
      throw new RangeError(`maxChecks must be an integer ≥ 1; got ${this.policy.maxChecks}`);
    }
    if (!(this.policy.checkIntervalSeconds >= 0)) {
      throw new RangeError(`checkIntervalSeconds must be ≥ 0; got ${this.policy.checkIntervalSeconds}`);
    }
  }

  async checkOnce(): Promise<CheckBackReport> {
    const now = this.clock();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const open = await this.scanPrepared();
    const due = open.filter((item) => item.prepareTimeoutAt <= nowSeconds && item.nextCheckAt <= nowSeconds);
    const totals = { checked: 0, committed: 0, rolledBack: 0, unknown: 0, errors: 0, failed: 0 };
    for (const item of due) {
      const leased = await this.lease(item, nowSeconds);
      if (leased === undefined) continue;
      totals.checked++;
      const result = await this.ask(leased);
      try {
        if (result === 'COMMIT') {
          const commit = () => this.options.producer.commit(leased.transactionId, 'check-back');
          if (await this.resolve(async () => !(await commit()).alreadyCommitted)) totals.committed++;
          continue;
        }
        if (result === 'ROLLBACK') {
          const rollback = () => this.options.producer.rollback(leased.transactionId, 'check-back');
          if (await this.resolve(async () => !(await rollback()).alreadyRolledBack)) totals.rolledBack++;
          continue;
        }
        totals.unknown++;
      } catch (error) {
        // One transaction that cannot be resolved (its aggregate is gone, throttling) must not stop the pass; it
        // counts as a failed check, and after the last one it becomes FAILED like an undecided one.
        totals.errors++;
        this.options.onError?.(leased.transactionId, error);
      }
      if (leased.checkCount >= this.policy.maxChecks) {
        if (await this.markFailed(leased)) totals.failed++;
      }
    }
    const oldest = open.reduce((min, item) => Math.min(min, Date.parse(item.createdAt)), now.getTime());
    return {
      open: open.length,
      oldestOpenAgeSeconds: Math.max(0, Math.round((now.getTime() - oldest) / 1000)),
      ...totals,
    };
  }

  private async scanPrepared(): Promise<HalfMessageItem[]> {
    const items: HalfMessageItem[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.options.dynamodb.send(
        new ScanCommand({
          TableName: this.options.outboxTableName,
          ConsistentRead: true,
          FilterExpression: '#status = :prepared',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':prepared': 'PREPARED' },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((page.Items ?? []) as HalfMessageItem[]));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /** Counts the check and schedules the next one; undefined when a concurrent pass took it. */
  private async lease(item: HalfMessageItem, nowSeconds: number): Promise<HalfMessageItem | undefined> {
    try {
      const response = await this.options.dynamodb.send(
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

  private async markFailed(item: HalfMessageItem): Promise<boolean> {
    try {
      await this.options.dynamodb.send(
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
