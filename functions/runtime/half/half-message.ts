import { ReliableMessagingError } from '../errors';
import type { IdempotencyClaim, StoredResponse } from '../idempotency/idempotency-store';
import { halfMessageGroupKey } from '../storage-keys';

/** Where a half message's commit bumps the aggregate's version (and sets whatever else the commit implies). */
export interface AggregateRef {
  readonly tableName: string;
  /** The aggregate item's key, e.g. `{ orderId: 'o-1' }`. */
  readonly key: Record<string, string | number>;
  /** @default 'version' */
  readonly versionAttribute?: string;
  /** Attributes the commit sets on the aggregate, e.g. `{ paid: true }`. @default none */
  readonly set?: Record<string, unknown>;
}

/**
 * Where the producer's local step records that it happened (e.g. the payment's item, keyed by the transaction id).
 * A rollback is conditional on that item NOT existing, and the local step's write is conditional on the transaction
 * still being PREPARED (see `TransactionalProducer.localStepFence`): whichever comes first, the other cannot follow.
 */
export interface LocalStepRef {
  readonly tableName: string;
  readonly key: Record<string, string | number>;
}

/** The idempotency key a half message was prepared under: its commit completes the key, its rollback releases it. */
export interface HalfMessageIdempotency {
  readonly claim: IdempotencyClaim;
  /** The response the commit implies (replayed to every retry under the key). */
  readonly response: StoredResponse;
}

/** The states of a half message's item. COMMITTED and ROLLED_BACK are tombstones that expire. */
export type HalfMessageStatus = 'PREPARED' | 'FAILED' | 'COMMITTED' | 'ROLLED_BACK';

/** A half message as stored in the outbox table: its own item, keyed `TX#<transactionId>` / sequence 0. */
export interface HalfMessageItem {
  readonly groupKey: string;
  readonly sequence: number;
  readonly transactionId: string;
  /** The key the message is for once committed. */
  readonly targetGroupKey: string;
  readonly messageId: string;
  readonly type: string;
  readonly payload: string;
  /** The W3C trace context its message carries once committed (absent in half messages of older producers). */
  readonly traceparent?: string;
  readonly aggregate: AggregateRef;
  /** Set when the producer names its local step's record: the rollback is fenced against it. */
  readonly localStep?: LocalStepRef;
  /** Set when the transaction was prepared under an idempotency key. */
  readonly idempotency?: HalfMessageIdempotency;
  readonly status: HalfMessageStatus;
  readonly createdAt: string;
  /** Epoch seconds after which the check-back may ask the checker. */
  readonly prepareTimeoutAt: number;
  readonly checkCount: number;
  /** Epoch seconds of the next check. */
  readonly nextCheckAt: number;
  readonly lastCheckResult?: string;
  /** Set on a committed half message: the sequence its message took. */
  readonly committedSequence?: number;
  readonly resolvedAt?: string;
  readonly resolvedBy?: string;
  /** Unique per commit or rollback attempt: tells a resolution whose answer was lost from another's. */
  readonly resolutionId?: string;
  /** TTL of a tombstone (epoch seconds). */
  readonly expiresAt?: number;
  /** The sparse `unsent` index's keys while the transaction is open (see unsent-index.ts); a resolution removes them. */
  readonly sweepShard?: string;
  readonly sweepOrder?: string;
}

export const halfMessageKey = (transactionId: string) => ({
  groupKey: halfMessageGroupKey(transactionId),
  sequence: 0,
});

/** What a producer's checker answers about a transaction left open. */
export type CheckResult = 'COMMIT' | 'ROLLBACK' | 'UNKNOWN';

/** The request a checker function receives. */
export interface TransactionCheckRequest {
  readonly transactionId: string;
  readonly groupKey: string;
  readonly type: string;
  readonly payload: unknown;
  readonly messageId: string;
  readonly checkCount: number;
  readonly preparedAt: string;
}

/** What a checker function returns. */
export interface TransactionCheckResponse {
  readonly status: CheckResult;
}

/** The transaction is not open (anymore): it was committed, rolled back, or never prepared. */
export class TransactionNotOpenError extends ReliableMessagingError {
  constructor(
    public readonly transactionId: string,
    public readonly status: HalfMessageStatus | 'UNKNOWN_TRANSACTION',
    options?: { cause?: unknown },
  ) {
    super(
      status === 'UNKNOWN_TRANSACTION'
        ? `transaction ${transactionId} was never prepared (or its record has expired)`
        : `transaction ${transactionId} is ${status}, not open`,
      options,
    );
    this.name = 'TransactionNotOpenError';
  }
}

/** The aggregate a half message would commit to does not exist. */
export class AggregateNotFoundError extends ReliableMessagingError {
  constructor(transactionId: string, options?: { cause?: unknown }) {
    super(`the aggregate of transaction ${transactionId} does not exist`, options);
    this.name = 'AggregateNotFoundError';
  }
}

/** A rollback was refused because the local step's record exists: the step happened, so only a commit is right. */
export class LocalStepCompletedError extends ReliableMessagingError {
  constructor(
    public readonly transactionId: string,
    options?: { cause?: unknown },
  ) {
    super(
      `transaction ${transactionId}: its local step happened, so it cannot be rolled back (commit it)`,
      options,
    );
    this.name = 'LocalStepCompletedError';
  }
}

/**
 * The transaction's commit was sent and no answer says whether it landed (a timeout, a 5xx): it may have. The
 * check-back (or a retry of the commit, which is idempotent) settles it; never roll back on this.
 */
export class CommitOutcomeUnknownError extends ReliableMessagingError {
  constructor(
    public readonly transactionId: string,
    options?: { cause?: unknown },
  ) {
    super(
      `transaction ${transactionId}: the commit's outcome is unknown (the check-back settles it)`,
      options,
    );
    this.name = 'CommitOutcomeUnknownError';
  }
}
