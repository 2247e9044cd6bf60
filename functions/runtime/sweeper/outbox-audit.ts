import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently } from '../concurrency';
import type { OutboxItem } from '../outbox/outbox-message';
import { unsentMessageAttributes } from '../outbox/unsent-index';
import { type RetryTransientOptions, retryTransient } from '../transient-errors';

/** How the audit reads the outbox. */
export interface OutboxAuditPolicy {
  /** A PENDING message older than this that nobody marked is marked for the sweep. */
  readonly graceSeconds: number;
  /** Parallel Scan segments. */
  readonly segments: number;
  /** Items per Scan page. */
  readonly pageSize: number;
  /** Marks of one page in flight at once (each one conditional UpdateItem). */
  readonly markConcurrency: number;
  /** Seconds between two audits of one sweeper (the first run of a fresh one always audits). 0: every run. */
  readonly intervalSeconds: number;
  /** The audit starts no new page or mark when less than this is left of the run's time. */
  readonly stopBeforeTimeoutSeconds: number;
}

export const DEFAULT_OUTBOX_AUDIT_POLICY: OutboxAuditPolicy = {
  graceSeconds: 120,
  segments: 4,
  pageSize: 1000,
  markConcurrency: 16,
  intervalSeconds: 0,
  stopBeforeTimeoutSeconds: 30,
};

export interface OutboxAuditOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly outboxTableName: string;
  readonly policy?: Partial<OutboxAuditPolicy>;
  readonly clock?: () => Date;
  /** How transient DynamoDB errors are retried in-process (the time left always bounds it). @default retryTransient's */
  readonly retry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
}

export interface OutboxAuditReport {
  /** False when this run did not audit (the interval has not passed since the last audit). */
  readonly audited: boolean;
  /** Outbox items the Scan read (before its filter). */
  readonly scanned: number;
  /** PENDING messages past the grace period that nobody had marked, now in the sweep's index. */
  readonly marked: number;
  /** Read capacity the Scan consumed. */
  readonly readCapacityUnits: number;
  /** False when the audit stopped at its time budget before reading the whole outbox. */
  readonly complete: boolean;
}

/**
 * Finds what nobody marked for the sweep (design invariant 2): the producer writes no index entry, and the relay
 * marks only what it failed to send, so a message whose stream record the relay never processed (its mapping
 * failed, was disabled, or the record aged out) or that was sent and not deleted (a crash between the two) is in
 * no index. The audit Scans the outbox table itself — on the happy path it holds only the messages in flight, so
 * the Scan costs O(in flight + unsent), never O(history), as long as half messages live in a table of their own —
 * and marks each PENDING message older than the grace period that is not in the index yet. The sweep then sends
 * it in order, like any message the relay could not send.
 */
export class OutboxAudit {
  private readonly policy: OutboxAuditPolicy;
  private readonly clock: () => Date;
  private lastAuditAt: number | undefined;

  constructor(private readonly options: OutboxAuditOptions) {
    this.policy = { ...DEFAULT_OUTBOX_AUDIT_POLICY, ...options.policy };
    this.clock = options.clock ?? (() => new Date());
    for (const [name, value] of Object.entries(this.policy)) {
      if (!Number.isFinite(value) || value < 0)
        throw new RangeError(`${name} must be a number ≥ 0; got ${value}`);
    }
    for (const name of ['segments', 'pageSize', 'markConcurrency'] as const) {
      if (!Number.isInteger(this.policy[name]) || this.policy[name] < 1)
        throw new RangeError(`${name} must be an integer ≥ 1; got ${this.policy[name]}`);
    }
  }

  /** Audits the outbox when `intervalSeconds` have passed since this instance's last audit. */
  async auditIfDue(budget: { readonly remainingTimeMs?: () => number } = {}): Promise<OutboxAuditReport> {
    const now = this.clock().getTime();
    if (this.lastAuditAt !== undefined && now - this.lastAuditAt < this.policy.intervalSeconds * 1000) {
      return { audited: false, scanned: 0, marked: 0, readCapacityUnits: 0, complete: true };
    }
    const report = await this.audit(budget);
    if (report.complete) this.lastAuditAt = now;
    return report;
  }

  /** One pass over the whole outbox, its segments in parallel. */
  async audit(budget: { readonly remainingTimeMs?: () => number } = {}): Promise<OutboxAuditReport> {
    const now = this.clock();
    const remainingTimeMs = () => budget.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
    const outOfTime = () => remainingTimeMs() < this.policy.stopBeforeTimeoutSeconds * 1000;
    const retry = <T>(operation: () => Promise<T>) =>
      retryTransient(operation, { ...this.options.retry, remainingTimeMs });
    const due = new Date(now.getTime() - this.policy.graceSeconds * 1000).toISOString();
    let scanned = 0;
    let marked = 0;
    let readCapacityUnits = 0;
    let complete = true;
    const segments = Array.from({ length: this.policy.segments }, (_, segment) => segment);
    await forEachConcurrently(segments, this.policy.segments, async (segment) => {
      let start: Record<string, unknown> | undefined;
      do {
        if (outOfTime()) {
          complete = false;
          return;
        }
        const page = await retry(() =>
          this.options.dynamodb.send(
            new ScanCommand({
              TableName: this.options.outboxTableName,
              Segment: segment,
              TotalSegments: this.policy.segments,
              // Billed for every item read, whatever the filter keeps: the filter only trims the answer.
              FilterExpression:
                '#status = :pending AND attribute_not_exists(sweepShard) AND createdAt < :due',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':pending': 'PENDING', ':due': due },
              ExclusiveStartKey: start,
              Limit: this.policy.pageSize,
              ReturnConsumedCapacity: 'TOTAL',
            }),
          ),
        );
        readCapacityUnits += page.ConsumedCapacity?.CapacityUnits ?? 0;
        scanned += page.ScannedCount ?? 0;
        start = page.LastEvaluatedKey;
        // One conditional UpdateItem per message, several at once: one after another, marking an outage's
        // thousands of messages took most of the sweeper's run.
        let stopped = false;
        await forEachConcurrently(
          (page.Items ?? []) as OutboxItem[],
          this.policy.markConcurrency,
          async (item) => {
            if (outOfTime()) {
              stopped = true;
              return;
            }
            if (await this.mark(item, retry)) marked++;
          },
        );
        if (stopped) {
          complete = false;
          return;
        }
      } while (start !== undefined);
    });
    return { audited: true, scanned, marked, readCapacityUnits, complete };
  }

  /** Puts one message into the sweep's index, unless it was sent, changed or marked since the Scan read it. */
  private async mark(
    item: OutboxItem,
    retry: <T>(operation: () => Promise<T>) => Promise<T>,
  ): Promise<boolean> {
    const index = unsentMessageAttributes(item.groupKey, item.sequence);
    try {
      await retry(() =>
        this.options.dynamodb.send(
          new UpdateCommand({
            TableName: this.options.outboxTableName,
            Key: { groupKey: item.groupKey, sequence: item.sequence },
            UpdateExpression: 'SET sweepShard = :shard, sweepOrder = :order',
            ConditionExpression:
              'attribute_exists(groupKey) AND #status = :pending AND attribute_not_exists(sweepShard)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':shard': index.sweepShard,
              ':order': index.sweepOrder,
              ':pending': 'PENDING',
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}
