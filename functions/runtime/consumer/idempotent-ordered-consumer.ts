import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { WriteConditionError, writeAtomically } from '../atomic-write';
import { MessageInProgressError, ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import { isTransientError, type RetryTransientOptions, retryTransient } from '../transient-errors';
import { type CursorEffect, type CursorLocation, cursorEffectUpdate, inboxCursor } from './cursor-location';
import {
  applyEffect,
  type DynamoEffect,
  type EffectGuardOptions,
  type IdempotencyStrategy,
} from './effect-strategies';
import { inboxKeys } from './inbox-keys';
import {
  advanceItems,
  cleanAdvanceUpdate,
  failureCountUpdate,
  holdItems,
  type InboxLocation,
  parkAlertedUpdate,
  parkedItems,
  parkFlagUpdate,
} from './inbox-writes';

const MAX_MARK_ATTEMPTS = 5;

/** What happened to one delivery. */
export type ConsumeOutcome =
  /** The effects were applied (and, with them, any held-back successors: see `released`). */
  | 'APPLIED'
  /** Already applied (a sequence at or below the key's cursor): acknowledged, no effect. */
  | 'DUPLICATE'
  /** Arrived ahead of a missing predecessor: stored durably in the inbox, acknowledged, applied later. */
  | 'HELD'
  /** Its key is parked (this message kept failing, or an earlier one did): stored durably, acknowledged. */
  | 'PARKED';

export interface ConsumeResult {
  readonly outcome: ConsumeOutcome;
  /** Sequences of held-back messages of the same key applied right after this one, in order. */
  readonly released: readonly number[];
}

/** An effect with the strategy that makes it happen once. */
export interface GuardedEffect<TPayload = unknown> {
  readonly effect: DynamoEffect<TPayload>;
  readonly strategy: IdempotencyStrategy;
}

/** A key parked because one of its messages kept failing. */
export interface ParkedKey {
  readonly groupKey: string;
  readonly sequence: number;
  readonly messageId: string;
  readonly type: string;
  readonly failures: number;
  readonly error: string;
}

export interface IdempotentOrderedConsumerOptions extends EffectGuardOptions {
  /** The effects of every message, applied in this order, each under its strategy. */
  readonly effects: readonly GuardedEffect[];
  /**
   * Failed attempts of one message after which its key is parked (keep it below the queue's maxReceiveCount).
   * @default 3
   */
  readonly parkAfterFailures?: number;
  /**
   * Runs before a message's effects, as part of them: what it throws counts as a failure of the message (it is
   * where a test stack injects its poison message).
   * @default nothing
   */
  readonly beforeEffects?: (message: MessageEnvelope) => Promise<void>;
  /** Told once when a key becomes parked (send the alert here). */
  readonly onParked?: (parked: ParkedKey) => Promise<void>;
  /**
   * Where each key's cursor is kept. Put it on an item of your own table (one per key) and give a
   * `cursorEffect`: the effect and the cursor then move in ONE conditional write.
   * @default the inbox table's `KEY#<groupKey>` / `CURSOR` item
   */
  readonly cursor?: CursorLocation;
  /**
   * An effect applied in the same write that moves the cursor (attributes SET on the cursor's item): ordered and
   * once by the cursor's own condition, with no idempotency record. With no other `effects`, a message whose key
   * has nothing held or parked costs exactly one conditional write and no read (the lean path).
   * @default none
   */
  readonly cursorEffect?: CursorEffect;
  /**
   * Continues the release of a long held chain on a later delivery (see `resendToContinue`): one delivery applies
   * at most `maxReleasePerDelivery` held messages, then hands the next one to this and returns, so a chain of any
   * length never times out an invocation. If it throws, the delivery fails and its redelivery goes on releasing.
   * @default none: a delivery releases the whole chain
   */
  readonly continueRelease?: (next: MessageEnvelope) => Promise<void>;
  /**
   * Held messages one delivery applies before it hands over to `continueRelease` (1 to 10,000).
   * @default 100 with `continueRelease`
   */
  readonly maxReleasePerDelivery?: number;
  /**
   * With `continueRelease`, a release also hands over once the invocation has less than this many milliseconds left
   * (as `consume`'s `remainingTimeMs` tells), so a slow release never runs into the function's timeout — a timeout
   * fails the whole batch, and repeated failures would move the key's messages to the dead-letter queue.
   * @default 5000
   */
  readonly releaseTimeReserveMs?: number;
  /**
   * How a delivery that fails with a transient error (`isTransientError`: a `TransactionConflict`, throttling that
   * outlasted the SDK's retries, a 5xx, a timeout) is retried in-process, within the time the call to `consume`
   * allows. A transient failure never counts toward parking the key; if it outlasts these retries, `consume` fails
   * with a `TransientFailureError` and the record is redelivered.
   * @default `retryTransient`'s defaults (5 attempts, jittered backoff from 50 ms up to 2 s, 1 s kept in reserve)
   */
  readonly transientRetry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
}

/** What `consume` may know of the invocation it runs in. */
export interface ConsumeContext {
  /**
   * Milliseconds the invocation has left (e.g. the Lambda context's `getRemainingTimeInMillis`): no in-process
   * retry of a transient failure starts that could not end in time.
   * @default no deadline
   */
  readonly remainingTimeMs?: () => number;
}

/** The key's cursor moved under us (a concurrent delivery of the same key). */
export class CursorMovedError extends ReliableMessagingError {
  constructor(groupKey: string, sequence: number, options?: { cause?: unknown }) {
    super(
      `cursor of key ${groupKey} is no longer at ${sequence - 1}; message ${sequence} will be retried`,
      options,
    );
    this.name = 'CursorMovedError';
  }
}

interface Cursor {
  readonly lastSequence: number;
  readonly heldCount: number;
  readonly parked: boolean;
}

/**
 * Applies each message's effects once and in sequence order per key (design invariants 4 to 6).
 *
 * Order is kept by a cursor per key, the last applied sequence c. For message n of key k:
 * - n ≤ c: a duplicate, acknowledged without effect (held successors of c left by an interrupted release are
 *   released first);
 * - the key is parked: the message joins the parked set (stored, acknowledged) until the key is replayed;
 * - n > c + 1: a gap; the message is stored in the inbox (HELD) and acknowledged, and applied once c reaches n − 1;
 * - n = c + 1: every effect is applied under its strategy, then the cursor moves to n (conditional on c), then held
 *   successors n + 1, n + 2, … are applied the same way.
 *
 * Each effect is idempotent on its own (`unique`, `version` or `transaction`), so a delivery that dies between the
 * effects and the cursor is simply applied again: the effects already done answer DUPLICATE and the cursor moves.
 * A message whose effects fail deterministically in `parkAfterFailures` deliveries parks its key: it and every
 * later message of the key are stored and acknowledged, other keys keep flowing, and `onParked` raises the alert.
 * A transient failure (a `TransactionConflict`, throttling or a 5xx the SDK gave up on, a timeout) is retried
 * in-process and, if it outlasts that, fails the delivery without counting toward parking.
 *
 * Lean path: with no `effects` but a `cursorEffect` (or none: order only), a message n whose key has nothing held
 * or parked is one conditional write — the effect and the cursor's move from n − 1 to n together — and no read.
 * Only when that condition fails (a duplicate, a gap, held or parked messages) is the cursor read and the full
 * path above taken.
 */
export class IdempotentOrderedConsumer {
  private readonly clock: () => Date;
  private readonly parkAfterFailures: number;
  private readonly maxRelease: number;
  private readonly releaseTimeReserveMs: number;
  private readonly cursor: CursorLocation;
  private readonly inbox: InboxLocation;

  constructor(private readonly options: IdempotentOrderedConsumerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.cursor = options.cursor ?? inboxCursor(options.inboxTableName);
    this.inbox = { inboxTableName: options.inboxTableName, cursor: this.cursor };
    this.parkAfterFailures = options.parkAfterFailures ?? 3;
    const maxRelease = options.maxReleasePerDelivery;
    if (maxRelease !== undefined && options.continueRelease === undefined) {
      throw new RangeError('maxReleasePerDelivery needs continueRelease, which continues the release');
    }
    if (
      maxRelease !== undefined &&
      !(Number.isInteger(maxRelease) && maxRelease >= 1 && maxRelease <= 10_000)
    ) {
      throw new RangeError(`maxReleasePerDelivery must be an integer from 1 to 10,000; got ${maxRelease}`);
    }
    this.maxRelease = options.continueRelease === undefined ? Number.POSITIVE_INFINITY : (maxRelease ?? 100);
    this.releaseTimeReserveMs = options.releaseTimeReserveMs ?? 5000;
    if (!(Number.isFinite(this.releaseTimeReserveMs) && this.releaseTimeReserveMs >= 0)) {
      throw new RangeError(
        `releaseTimeReserveMs must be a number of milliseconds ≥ 0; got ${this.releaseTimeReserveMs}`,
      );
    }
    if (!Number.isInteger(this.parkAfterFailures) || this.parkAfterFailures < 1) {
      throw new RangeError(`parkAfterFailures must be an integer ≥ 1; got ${this.parkAfterFailures}`);
    }
  }

  /**
   * Consumes one delivery. A transient failure is retried here (every step is idempotent, so a retry picks up where
   * the failed attempt stopped) and never counts toward parking; a deterministic one counts, and parks the key after
   * `parkAfterFailures` deliveries.
   */
  async consume(message: MessageEnvelope, context: ConsumeContext = {}): Promise<ConsumeResult> {
    return retryTransient(() => this.consumeOnce(message, context.remainingTimeMs), {
      ...this.options.transientRetry,
      ...(context.remainingTimeMs === undefined ? {} : { remainingTimeMs: context.remainingTimeMs }),
    });
  }

  private async consumeOnce(
    message: MessageEnvelope,
    remainingTimeMs?: () => number,
  ): Promise<ConsumeResult> {
    if (this.options.effects.length === 0) {
      const lean = await this.applyOnCleanCursor(message);
      if (lean !== 'NOT_CLEAN') return { outcome: lean, released: [] };
    }
    const cursor = await this.readCursor(message.groupKey);
    if (message.sequence <= cursor.lastSequence) {
      // A redelivery after a failed or interrupted release (effect error, crash): finish releasing what is
      // held behind the cursor, else nothing would ever release it (the held messages were acknowledged).
      const released =
        cursor.heldCount > 0 && !cursor.parked
          ? await this.releaseHeld(message.groupKey, cursor.lastSequence, remainingTimeMs)
          : [];
      return { outcome: 'DUPLICATE', released };
    }
    if (cursor.parked) {
      await this.park(message, 'its key is parked', undefined);
      return { outcome: 'PARKED', released: [] };
    }
    if (message.sequence > cursor.lastSequence + 1) {
      await this.hold(message);
      return { outcome: 'HELD', released: [] };
    }
    // A copy of this very message may be held from an earlier, early delivery: apply it as the held one,
    // so the held item is removed and the held count goes down with it.
    const heldSequence =
      cursor.heldCount > 0 && (await this.readHeld(message.groupKey, message.sequence)) !== undefined
        ? message.sequence
        : undefined;
    const heldCount = await this.applyNext(message, heldSequence, cursor.heldCount);
    if (heldCount === 'PARKED') return { outcome: 'PARKED', released: [] };
    const released =
      heldCount > 0 ? await this.releaseHeld(message.groupKey, message.sequence, remainingTimeMs) : [];
    return { outcome: 'APPLIED', released };
  }

  /**
   * The lean path, when every effect rides on the cursor's write: one conditional write that moves the cursor from
   * n − 1 to n (with the cursor effect) on condition that nothing of the key is held or parked. When the condition
   * fails (a duplicate, a gap, held or parked messages) the caller takes the full path; nothing was written.
   */
  private async applyOnCleanCursor(message: MessageEnvelope): Promise<'APPLIED' | 'PARKED' | 'NOT_CLEAN'> {
    try {
      const effect = this.cursorEffectOf(message);
      await this.options.beforeEffects?.(message);
      await this.options.dynamodb.send(
        new UpdateCommand(cleanAdvanceUpdate(this.inbox, message, effect, this.clock().toISOString())),
      );
      return 'APPLIED';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'NOT_CLEAN';
      return this.failed(message, error, undefined);
    }
  }

  /**
   * A failure of the message's effects: counted; rethrown (the record is redelivered) until it has failed
   * `parkAfterFailures` times, then the key is parked. Another delivery holding a claim is not a failure, and
   * neither is a transient error (the caller retries it; only deterministic failures are poison).
   */
  private async failed(
    message: MessageEnvelope,
    error: unknown,
    heldSequence: number | undefined,
  ): Promise<'PARKED'> {
    if (error instanceof MessageInProgressError || isTransientError(error)) throw error;
    const failures = await this.countFailure(message);
    if (failures < this.parkAfterFailures) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await this.park(message, reason, heldSequence, failures);
    return 'PARKED';
  }

  private cursorEffectOf(message: MessageEnvelope) {
    return cursorEffectUpdate(
      this.options.cursorEffect,
      message,
      Object.keys(this.cursor.key(message.groupKey)),
    );
  }

  private async readCursor(groupKey: string): Promise<Cursor> {
    const response = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.cursor.tableName,
        Key: this.cursor.key(groupKey),
        ConsistentRead: true,
      }),
    );
    return {
      lastSequence: Number(response.Item?.lastSequence ?? 0),
      heldCount: Number(response.Item?.heldCount ?? 0),
      parked: response.Item?.parked === true,
    };
  }

  /**
   * Applies the effects of the next message of its key, then moves the cursor. Returns the key's held count
   * after the move, or PARKED when the message failed too often and parked its key.
   */
  private async applyNext(
    message: MessageEnvelope,
    heldSequence: number | undefined,
    seenHeldCount: number,
  ): Promise<number | 'PARKED'> {
    try {
      await this.options.beforeEffects?.(message);
      for (const { effect, strategy } of this.options.effects) {
        await applyEffect(effect, strategy, message, this.options);
      }
    } catch (error) {
      return this.failed(message, error, heldSequence);
    }
    return this.advance(message, heldSequence, seenHeldCount);
  }

  /**
   * Moves the cursor from n − 1 to n (and removes the held copy the message came from), in one transaction. The
   * transaction is also conditional on the held count we last saw, so a message held back concurrently (while the
   * effects ran) is noticed: we re-read the cursor and commit again, and the caller releases what is held.
   */
  private async advance(
    message: MessageEnvelope,
    heldSequence: number | undefined,
    seenHeldCount: number,
  ): Promise<number> {
    let heldCount = seenHeldCount;
    for (let attempt = 1; ; attempt++) {
      try {
        await writeAtomically(
          this.options.dynamodb,
          advanceItems(
            this.inbox,
            message,
            this.cursorEffectOf(message),
            heldSequence,
            heldCount,
            this.clock().toISOString(),
          ),
        );
        return heldSequence === undefined ? heldCount : heldCount - 1;
      } catch (error) {
        const cursorConditionFailed = error instanceof WriteConditionError && error.index === 0;
        if (!cursorConditionFailed) throw error;
        const cursor = await this.readCursor(message.groupKey);
        if (cursor.lastSequence !== message.sequence - 1 || attempt >= MAX_MARK_ATTEMPTS) {
          throw new CursorMovedError(message.groupKey, message.sequence, { cause: error });
        }
        heldCount = cursor.heldCount;
      }
    }
  }

  /** Stores a message that arrived ahead of its predecessor; idempotent for redeliveries. */
  private async hold(message: MessageEnvelope): Promise<void> {
    try {
      await this.options.dynamodb.send(
        new TransactWriteCommand({
          TransactItems: holdItems(this.inbox, message, this.clock().toISOString()),
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [heldReason, cursorReason] = error.CancellationReasons ?? [];
      if (heldReason?.Code === 'ConditionalCheckFailed') return; // already held by an earlier delivery
      if (cursorReason?.Code === 'ConditionalCheckFailed') {
        throw new CursorMovedError(message.groupKey, message.sequence, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Applies the held successors of `after`, in order, for as long as the next one is there — at most
   * `maxReleasePerDelivery` of them, and while more than `releaseTimeReserveMs` is left; then the next one goes to
   * `continueRelease`.
   */
  private async releaseHeld(
    groupKey: string,
    after: number,
    remainingTimeMs?: () => number,
  ): Promise<number[]> {
    const released: number[] = [];
    for (let next = after + 1; ; next++) {
      const held = await this.readHeld(groupKey, next);
      if (held === undefined) return released;
      const outOfTime =
        this.options.continueRelease !== undefined &&
        remainingTimeMs !== undefined &&
        remainingTimeMs() < this.releaseTimeReserveMs;
      if (released.length >= this.maxRelease || outOfTime) {
        await this.options.continueRelease?.(held);
        return released;
      }
      const cursor = await this.readCursor(groupKey);
      if (cursor.lastSequence !== next - 1 || cursor.parked) return released; // another delivery is on it
      const heldCount = await this.applyNext(held, next, cursor.heldCount);
      if (heldCount === 'PARKED') return released;
      released.push(next);
    }
  }

  private async readHeld(groupKey: string, sequence: number): Promise<MessageEnvelope | undefined> {
    const response = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.options.inboxTableName,
        Key: inboxKeys.held(groupKey, sequence),
        ConsistentRead: true,
      }),
    );
    return response.Item === undefined
      ? undefined
      : (JSON.parse(String(response.Item.message)) as MessageEnvelope);
  }

  /** Counts a failed attempt of the message's effects; returns the count so far. */
  private async countFailure(message: MessageEnvelope): Promise<number> {
    const nowSeconds = Math.floor(this.clock().getTime() / 1000);
    const response = await this.options.dynamodb.send(
      new UpdateCommand(failureCountUpdate(this.inbox, message, nowSeconds, this.options.retentionSeconds)),
    );
    return Number(response.Attributes?.failures ?? 1);
  }

  /**
   * Parks the message (and, through the cursor's flag, every later message of its key): the flag first, then the
   * message, so a crash in between leaves the message unacknowledged and it is parked on its next delivery.
   */
  private async park(
    message: MessageEnvelope,
    reason: string,
    heldSequence: number | undefined,
    failures = 0,
  ): Promise<void> {
    const now = this.clock().toISOString();
    // Alert once per parking: when this call parked the key, or when an earlier park's alert did not go out.
    let alert = true;
    try {
      await this.options.dynamodb.send(new UpdateCommand(parkFlagUpdate(this.inbox, message, reason, now)));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      alert = error.Item?.parkAlerted?.BOOL !== true;
    }
    await this.options.dynamodb.send(
      new TransactWriteCommand({
        TransactItems: parkedItems(this.inbox, message, reason, heldSequence, now),
      }),
    );
    if (alert) {
      await this.options.onParked?.({
        groupKey: message.groupKey,
        sequence: message.sequence,
        messageId: message.messageId,
        type: message.type,
        failures,
        error: reason,
      });
      // Only now is the alert out: a failure above leaves the record unacknowledged, and its redelivery alerts.
      await this.options.dynamodb.send(new UpdateCommand(parkAlertedUpdate(this.inbox, message.groupKey)));
    }
  }
}
