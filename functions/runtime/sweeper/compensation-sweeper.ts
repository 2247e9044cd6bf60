import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { OutboxItem } from '../outbox/outbox-message';
import type { OutboxRelay } from '../relay/outbox-relay';

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
}

export const DEFAULT_SWEEP_POLICY: SweepPolicy = {
  gracePeriodSeconds: 120,
  maxAttempts: 8,
  maxAgeSeconds: 24 * 3600,
  backoffBaseSeconds: 30,
  backoffMaxSeconds: 900,
  leaseSeconds: 60,
};

export interface CompensationSweeperOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  /** Sends and deletes exactly as the stream relay does (same envelope, order rules and deletes). */
  readonly relay: OutboxRelay;
  readonly outboxTableName: string;
  readonly alertTopicArn: string;
  readonly policy?: Partial<SweepPolicy>;
  readonly clock?: () => Date;
  /** Told of each message given up on (log it as an error). */
  readonly onFailed?: (failed: FailedMessage) => void;
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
  /** Items in the outbox at the start of the sweep, by status. */
  readonly pending: number;
  readonly prepared: number;
  readonly failed: number;
  /** Age of the oldest PENDING message (0 when none). */
  readonly oldestPendingAgeSeconds: number;
  /** Messages sent (and removed from the outbox) by this sweep. */
  readonly resent: number;
  /** Messages this sweep tried to send and could not. */
  readonly sendFailures: number;
  /** Messages this sweep turned FAILED (each with an error log and an SNS alert). */
  readonly markedFailed: number;
  /** Messages another sweep was sending. */
  readonly leasedElsewhere: number;
  /** Read capacity the scan consumed. */
  readonly readCapacityUnits: number;
}

/**
 * Re-sends what the relay left behind (design invariant 2). The outbox holds only unsent, prepared and failed
 * messages, so a sweep scans O(unsent). For each key, its due PENDING messages are leased (a conditional update
 * that also counts the attempt) in sequence order and sent through the relay core with their original messageId;
 * a failure records the error and backs off. After `maxAttempts` or `maxAge` a message becomes FAILED: it stays
 * in the outbox, visible, with an error log and an SNS alert, until an operator puts it back (`retryFailed`).
 */
export class CompensationSweeper {
  private readonly policy: SweepPolicy;
  private readonly clock: () => Date;

  constructor(private readonly options: CompensationSweeperOptions) {
    this.policy = { ...DEFAULT_SWEEP_POLICY, ...options.policy };
    this.clock = options.clock ?? (() => new Date());
    validatePolicy(this.policy);
  }

  async sweep(): Promise<SweepReport> {
    const now = this.clock();
    const { items, readCapacityUnits } = await this.scan();
    const pending = items.filter((item) => item.status === 'PENDING');
    const byKey = new Map<string, OutboxItem[]>();
    for (const item of pending) byKey.set(item.groupKey, [...(byKey.get(item.groupKey) ?? []), item]);

    const totals = { resent: 0, sendFailures: 0, markedFailed: 0, leasedElsewhere: 0 };
    for (const keyItems of byKey.values()) {
      const result = await this.sweepKey(
        keyItems.sort((a, b) => a.sequence - b.sequence),
        now,
      );
      totals.resent += result.resent;
      totals.sendFailures += result.sendFailures;
      totals.markedFailed += result.markedFailed;
      totals.leasedElsewhere += result.leasedElsewhere;
    }
    const oldest = pending.reduce((min, item) => Math.min(min, Date.parse(item.createdAt)), now.getTime());
    return {
      pending: pending.length,
      prepared: items.filter((item) => item.status === 'PREPARED').length,
      failed: items.filter((item) => item.status === 'FAILED').length + totals.markedFailed,
      oldestPendingAgeSeconds: Math.max(0, Math.round((now.getTime() - oldest) / 1000)),
      readCapacityUnits,
      ...totals,
    };
  }

  private async scan(): Promise<{ items: OutboxItem[]; readCapacityUnits: number }> {
    const items: OutboxItem[] = [];
    let readCapacityUnits = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.options.dynamodb.send(
        new ScanCommand({
          TableName: this.options.outboxTableName,
          ConsistentRead: true,
          ExclusiveStartKey: start,
          ReturnConsumedCapacity: 'TOTAL',
        }),
      );
      items.push(...((page.Items ?? []) as OutboxItem[]));
      readCapacityUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return { items, readCapacityUnits };
  }

  private async sweepKey(items: readonly OutboxItem[], now: Date) {
    const result = { resent: 0, sendFailures: 0, markedFailed: 0, leasedElsewhere: 0 };
    const toSend: OutboxItem[] = [];
    for (const item of items) {
      const exhausted = this.exhaustion(item, now);
      if (exhausted !== undefined) {
        if (!(await this.markFailed(item, exhausted, item.lastError ?? 'never sent', false))) {
          result.leasedElsewhere++;
          break; // another sweep holds or changed it: keep order, leave the key to that sweep
        }
        result.markedFailed++;
        continue;
      }
      if (!this.isDue(item, now)) break; // keep order: nothing after a message that is not due yet
      const leased = await this.lease(item, now);
      if (leased === undefined) {
        result.leasedElsewhere++;
        break; // another sweep is on this key
      }
      toSend.push(leased);
    }
    if (toSend.length === 0) return result;

    const relayed = await this.options.relay.relay(
      toSend.map((item) => ({ recordId: item.messageId, item })),
    );
    result.resent = relayed.sent.length;
    for (const { candidate, error } of relayed.failures) {
      result.sendFailures++;
      const item = candidate.item;
      if (item.attempts >= this.policy.maxAttempts) {
        if (await this.markFailed(item, 'max-attempts', error, true)) result.markedFailed++;
      } else {
        await this.recordError(item, error);
      }
    }
    return result;
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

  /** Counts an attempt and takes the message for `leaseSeconds`; undefined when another sweep holds it. */
  private async lease(item: OutboxItem, now: Date): Promise<OutboxItem | undefined> {
    const nowSeconds = Math.floor(now.getTime() / 1000);
    try {
      const response = await this.options.dynamodb.send(
        new UpdateCommand({
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
            ':now': now.toISOString(),
            ':until': nowSeconds + this.policy.leaseSeconds,
            ':nowSeconds': nowSeconds,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return response.Attributes as OutboxItem;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  private async recordError(item: OutboxItem, error: string): Promise<void> {
    try {
      await this.options.dynamodb.send(
        new UpdateCommand({
          TableName: this.options.outboxTableName,
          Key: { groupKey: item.groupKey, sequence: item.sequence },
          UpdateExpression: 'SET lastError = :error REMOVE leaseUntil',
          ConditionExpression: 'attempts = :attempts',
          ExpressionAttributeValues: { ':error': error.slice(0, 1000), ':attempts': item.attempts },
        }),
      );
    } catch (caught) {
      if (!(caught instanceof ConditionalCheckFailedException)) throw caught;
    }
  }

  /**
   * Turns a message FAILED (fenced on its attempt count and, unless this sweep holds its lease, on no other sweep
   * holding one: that sweep may be delivering it), logs it and alerts. Returns false if it lost the race.
   */
  private async markFailed(
    item: OutboxItem,
    reason: FailedMessage['reason'],
    lastError: string,
    holdsLease: boolean,
  ): Promise<boolean> {
    const now = this.clock();
    try {
      await this.options.dynamodb.send(
        new UpdateCommand({
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
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
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
    await this.options.sns.send(
      new PublishCommand({
        TopicArn: this.options.alertTopicArn,
        Subject: `Outbox message FAILED after ${item.attempts} attempts`.slice(0, 99),
        Message: JSON.stringify({ alert: 'OutboxMessageFailed', ...failed }),
        MessageAttributes: { alert: { DataType: 'String', StringValue: 'OutboxMessageFailed' } },
      }),
    );
    return true;
  }
}

function validatePolicy(policy: SweepPolicy): void {
  for (const [name, value] of Object.entries(policy)) {
    if (!Number.isFinite(value) || value < 0)
      throw new RangeError(`${name} must be a number ≥ 0; got ${value}`);
  }
  if (policy.maxAttempts < 1) throw new RangeError(`maxAttempts must be ≥ 1; got ${policy.maxAttempts}`);
}
