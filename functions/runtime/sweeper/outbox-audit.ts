import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { WriteConditionError, writeAtomically } from '../atomic-write';
import { forEachConcurrently } from '../concurrency';
import type { OutboxItem } from '../outbox/outbox-message';
import { markForSweepUpdate } from '../outbox/unsent-index';
import { type RetryTransientOptions, retryTransient } from '../transient-errors';

/** How the audit reads the outbox. */
export interface OutboxAuditPolicy {
  /** A PENDING message older than this that nobody marked is marked for the sweep. */
  readonly graceSeconds: number;
  /** Parallel Scan segments. */
  readonly segments: number;
  /** Items per Scan page. */
  readonly pageSize: number;
  /**
   * Messages marked by one write: one conditional UpdateItem each in one TransactWriteItems (at most 100), so an
   * outage's thousands of messages take a few dozen requests (a transaction bills 2 write units per item: 3 per
   * marked message with its index write, instead of 2 — paid only for what nobody had marked). 1: plain UpdateItems.
   */
  readonly markBatchSize: number;
  /** Mark writes of one page in flight at once. */
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
  markBatchSize: 25,
  markConcurrency: 4,
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
    for (const name of ['segments', 'pageSize', 'markBatchSize', 'markConcurrency'] as const) {
      if (!Number.isInteger(this.policy[name]) || this.policy[name] < 1)
        throw new RangeError(`${name} must be an integer ≥ 1; got ${this.policy[name]}`);
    }
    if (this.policy.markBatchSize > 100)
      throw new RangeError(
        `markBatchSize must be at most 100 (a transaction's items); got ${this.policy.markBatchSize}`,
      );
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
        // Many messages per write, several writes at once: one UpdateItem after another, marking an outage's
        // thousands of messages took most of the sweeper's run.
        const items = (page.Items ?? []) as OutboxItem[];
        const batches = Array.from({ length: Math.ceil(items.length / this.policy.markBatchSize) }, (_, i) =>
          items.slice(i * this.policy.markBatchSize, (i + 1) * this.policy.markBatchSize),
        );
        let stopped = false;
        await forEachConcurrently(batches, this.policy.markConcurrency, async (batch) => {
          if (outOfTime()) {
            stopped = true;
            return;
          }
          // Awaited first: `marked += await …` would read `marked` before the await, and lose other writes' counts.
          const count = await this.markAll(batch, retry);
          marked += count;
        });
        if (stopped) {
          complete = false;
          return;
        }
      } while (start !== undefined);
    });
    return { audited: true, scanned, marked, readCapacityUnits, complete };
  }

  /**
   * Puts messages into the sweep's index, all in one write, each unless it was sent, changed or marked since the Scan
   * read it: a message whose condition fails is left out and the others are written again. Resolves to how many this
   * call marked (a retry of a write that had landed finds them marked, and counts none: the count may be low, never
   * the marks).
   */
  private async markAll(
    items: readonly OutboxItem[],
    retry: <T>(operation: () => Promise<T>) => Promise<T>,
  ): Promise<number> {
    let pending = items;
    while (pending.length > 0) {
      const writes = pending.map((item) => ({
        Update: markForSweepUpdate(this.options.outboxTableName, item),
      }));
      try {
        await retry(() => writeAtomically(this.options.dynamodb, writes));
        return pending.length;
      } catch (error) {
        if (!(error instanceof WriteConditionError)) throw error;
        pending = pending.filter((_, index) => !error.failures.has(index));
      }
    }
    return 0;
  }
}
