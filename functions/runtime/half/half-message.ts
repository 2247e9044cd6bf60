import { ReliableMessagingError } from '../errors';

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
  readonly aggregate: AggregateRef;
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
  /** TTL of a tombstone (epoch seconds). */
  readonly expiresAt?: number;
  /** The sparse `unsent` index's keys while the transaction is open (see unsent-index.ts); a resolution removes them. */
  readonly sweepShard?: string;
  readonly sweepOrder?: string;
}

export const halfMessageKey = (transactionId: string) => ({ groupKey: `TX#${transactionId}`, sequence: 0 });

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
