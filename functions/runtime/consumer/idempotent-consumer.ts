import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { WriteConditionError, writeAtomically } from '../atomic-write';
import { MessageInProgressError, ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import { isTransientError, type RetryTransientOptions, retryTransient } from '../transient-errors';
import {
  type CursorEffect,
  type CursorEffectUpdate,
  type CursorLocation,
  cursorEffectUpdate,
  inboxCursor,
} from './cursor-location';
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
import { type ReadBody, readBody, UnreadableMessageError } from './unreadable-message';

const MAX_MARK_ATTEMPTS = 5;

/**
 * Milliseconds no in-process retry starts under, by default: the same reserve as `processFifoBatch`'s, under which
 * no record starts either.
 */
export const DEFAULT_TIME_RESERVE_MS = 5000;

/** What happened to one delivery. */
export type ConsumeOutcome =
  /** The effects were applied (and, with them, any held-back successors: see `released`). */
  | 'APPLIED'
  /** Already applied (a sequence at or below the key's cursor): acknowledged, no effect. */
  | 'DUPLICATE'
  /** Arrived ahead of a missing predecessor: stored durably in the inbox, acknowledged, applied later. */
  | 'HELD'
  /** Its key is parked (this message kept failing, or an earlier one did): stored durably, acknowledged. */
  | 'PARKED'
  /**
   * Of a type the consumer does not apply (`messageTypes`): at its turn it moved the key's cursor and ran nothing
   * (no `beforeEffects`, no effects, no cursor effect attributes); any held successors were released with it.
   */
  | 'SKIPPED';

export interface ConsumeResult {
  readonly outcome: ConsumeOutcome;
  /**
   * Sequences of held-back messages of the same key taken right after this one, in order (applied, or skipped when
   * of a type the consumer does not apply).
   */
  readonly released: readonly number[];
}

/** What `consumeBody` did with a queue message body, and the message it read from it. */
export interface BodyConsumeResult extends ConsumeResult {
  /** The envelope; for a body that is no valid envelope, the body as read (its key, sequence and id are valid). */
  readonly message: MessageEnvelope;
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
  /** The W3C trace context of the message, when its envelope carries one (to find the request that caused it). */
  readonly traceparent?: string;
}

export interface IdempotentConsumerOptions extends EffectGuardOptions {
  /** The effects of every message, applied in this order, each under its strategy. */
  readonly effects: readonly GuardedEffect[];
  /**
   * The message types this consumer applies (a consumer group that wants some types only). A message of any other
   * type is taken in order like every other — duplicates, gaps, holds and parking as usual — but at its turn it
   * runs nothing (no `beforeEffects`, no effects, no cursor effect attributes): it only moves the key's cursor, in
   * one conditional write, and answers SKIPPED. So the key's gap detection stays exact: a wanted message is never
   * applied ahead of a skipped predecessor, and no key waits forever for a message it will never apply.
   * At least one type, each a non-empty string.
   * @default every type
   */
  readonly messageTypes?: readonly string[];
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
   * Told when `consumeBody` gets a body whose key, sequence or message id cannot be read (so it cannot be parked):
   * the record fails, is redelivered, and ends in the queue's dead-letter queue. Log it and count it here.
   * @default a line on the console's error stream
   */
  readonly onUnreadable?: (error: UnreadableMessageError) => void;
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
   * No retry starts with less than `reserveMs` left: `consume`'s `reserveMs` when given, else this one's, else
   * {@link DEFAULT_TIME_RESERVE_MS} (5 s, `processFifoBatch`'s reserve), so the retries stay inside the batch's
   * reserve and the invocation never runs into its timeout (which would fail the whole batch).
   * @default `retryTransient`'s defaults (5 attempts, jittered backoff from 50 ms up to 2 s), 5 s kept in reserve
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
  /**
   * No in-process retry starts with less than this many milliseconds left: give `processFifoBatch`'s `reserveMs`
   * (it passes both to its record handler).
   * @default `transientRetry.reserveMs`, else {@link DEFAULT_TIME_RESERVE_MS}
   */
  readonly reserveMs?: number;
}

/** The key was unparked (replayed) while this delivery was parking a message of it: the message is tried again. */
export class KeyUnparkedError extends ReliableMessagingError {
  constructor(groupKey: string, sequence: number, options?: { cause?: unknown }) {
    super(
      `key ${groupKey} was unparked while message ${sequence} was being parked; it will be retried`,
      options,
    );
    this.name = 'KeyUnparkedError';
  }
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
  /** The message that parked the key, and why. */
  readonly parkedSequence: number | undefined;
  readonly parkedReason: string;
  /** The key's `KeyParked` alert went out. */
  readonly parkAlerted: boolean;
}

/** A failure of a message's own code (its cursor effect, `beforeEffects`) seen before its cursor was read. */
interface EarlyFailure {
  readonly error: unknown;
}

/** A parked message was stored, or could not be: its key is not parked (any more). */
type StoredParked = 'STORED' | 'UNPARKED';

/** The cursor's move alone: what a skipped message writes. */
const NO_CURSOR_EFFECT: CursorEffectUpdate = { set: '', names: undefined, values: {} };

/** The types of `messageTypes` as a set, checked: at least one, each a non-empty string. */
function validMessageTypes(types: readonly string[] | undefined): ReadonlySet<string> | undefined {
  if (types === undefined) return undefined;
  if (!Array.isArray(types) || types.length === 0) {
    throw new RangeError(
      `messageTypes must name at least one message type (leave it out to apply every type); got ${JSON.stringify(types)}`,
    );
  }
  const invalid = types.filter((type) => typeof type !== 'string' || type === '');
  if (invalid.length > 0) {
    throw new RangeError(
      `messageTypes must be non-empty strings; got ${invalid.map((type) => JSON.stringify(type)).join(', ')}`,
    );
  }
  return new Set(types);
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
 *
 * Message-type filter (`messageTypes`, a consumer group that wants some types only): every message of a key still
 * comes through this consumer and is taken in order as above; one of another type, at its turn, runs nothing and
 * only moves the cursor (the lean path's one conditional write, whatever the effects: SKIPPED). The cost is one
 * delivery and one cursor write per skipped message; the gain is that sequences stay dense per key, so a gap is
 * always a message still to come (never one filtered out upstream), nothing is applied out of order, and every
 * group's cursor reaches the key's last sequence (what reconcile checks).
 */
export class IdempotentConsumer {
  private readonly clock: () => Date;
  private readonly parkAfterFailures: number;
  private readonly maxRelease: number;
  private readonly releaseTimeReserveMs: number;
  private readonly cursor: CursorLocation;
  private readonly inbox: InboxLocation;
  private readonly messageTypes: ReadonlySet<string> | undefined;

  constructor(private readonly options: IdempotentConsumerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.messageTypes = validMessageTypes(options.messageTypes);
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
    return this.consumeRead({ message }, context);
  }

  /**
   * Consumes one queue message body. A body that is no valid envelope (say, an empty `type`) is never applied: when
   * its key, sequence and message id can be read, it is parked with the reason — on its turn (n = cursor + 1; a
   * duplicate is acknowledged, a message ahead of a gap held until then), so the key's earlier messages still apply
   * and the operator sees it as a PARKED item. When they cannot, `onUnreadable` is told and it fails with an
   * {@link UnreadableMessageError}: redelivered, then moved to the dead-letter queue (its alarm fires).
   */
  async consumeBody(body: string, context: ConsumeContext = {}): Promise<BodyConsumeResult> {
    let read: ReadBody;
    try {
      read = readBody(body);
    } catch (error) {
      if (error instanceof UnreadableMessageError) {
        const tell = this.options.onUnreadable ?? ((unreadable) => console.error(unreadable));
        tell(error);
      }
      throw error;
    }
    return { ...(await this.consumeRead(read, context)), message: read.message };
  }

  private async consumeRead(read: ReadBody, context: ConsumeContext): Promise<ConsumeResult> {
    // One token per delivery: a failure counted once per delivery, however often a lost answer makes us retry.
    const delivery = randomUUID();
    const reserveMs = context.reserveMs ?? this.options.transientRetry?.reserveMs ?? DEFAULT_TIME_RESERVE_MS;
    return retryTransient(() => this.consumeOnce(read, delivery, context.remainingTimeMs), {
      ...this.options.transientRetry,
      reserveMs,
      ...(context.remainingTimeMs === undefined ? {} : { remainingTimeMs: context.remainingTimeMs }),
    });
  }

  private async consumeOnce(
    read: ReadBody,
    delivery: string,
    remainingTimeMs?: () => number,
  ): Promise<ConsumeResult> {
    const { message } = read;
    // Of a type this consumer does not apply: taken in order all the same, with no effect at its turn.
    const taken: 'APPLIED' | 'SKIPPED' = this.skips(read) ? 'SKIPPED' : 'APPLIED';
    let early: EarlyFailure | undefined;
    if ((this.options.effects.length === 0 || taken === 'SKIPPED') && read.unreadable === undefined) {
      const lean = await this.applyOnCleanCursor(message, taken === 'SKIPPED');
      if (lean === 'APPLIED') return { outcome: taken, released: [] };
      if (lean !== 'NOT_CLEAN') early = lean;
    }
    for (let attempt = 1; ; attempt++) {
      const cursor = await this.readCursor(message.groupKey);
      // A park that a crash or a lost answer interrupted before its alert went out: finish it first.
      if (cursor.parked && !cursor.parkAlerted) await this.finishParking(message, cursor);
      if (message.sequence <= cursor.lastSequence) {
        // A redelivery after a failed or interrupted release (effect error, crash): finish releasing what is
        // held behind the cursor, else nothing would ever release it (the held messages were acknowledged).
        const released =
          cursor.heldCount > 0 && !cursor.parked
            ? await this.releaseHeld(message.groupKey, cursor.lastSequence, delivery, remainingTimeMs)
            : [];
        return { outcome: 'DUPLICATE', released };
      }
      if (cursor.parked) {
        // It joins the parked set (the message that parked the key is stored already: `finishParking` saw to it).
        const reason = 'its key is parked';
        if ((await this.storeParked(message, reason, undefined)) === 'STORED') {
          return { outcome: 'PARKED', released: [] };
        }
        // Unparked meanwhile (a replay): start over on the fresh cursor.
        if (attempt >= MAX_MARK_ATTEMPTS) throw new KeyUnparkedError(message.groupKey, message.sequence);
        continue;
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
      const heldCount = await this.applyNext(read, heldSequence, cursor.heldCount, delivery, early);
      if (heldCount === 'PARKED') return { outcome: 'PARKED', released: [] };
      const released =
        heldCount > 0
          ? await this.releaseHeld(message.groupKey, message.sequence, delivery, remainingTimeMs)
          : [];
      return { outcome: taken, released };
    }
  }

  /**
   * The lean path, when every effect rides on the cursor's write: one conditional write that moves the cursor from
   * n − 1 to n (with the cursor effect) on condition that nothing of the key is held or parked. When the condition
   * fails (a duplicate, a gap, held or parked messages) the caller takes the full path; nothing was written.
   *
   * The message's own code (its cursor effect, `beforeEffects`) runs here before anything says whether the message
   * is the key's next one: what it throws is handed to the full path, which counts it only if the message is n =
   * cursor + 1 — a duplicate's failure must never park a key below its cursor. A skipped message runs none of it.
   */
  private async applyOnCleanCursor(
    message: MessageEnvelope,
    skipped: boolean,
  ): Promise<'APPLIED' | 'NOT_CLEAN' | EarlyFailure> {
    let effect: CursorEffectUpdate = NO_CURSOR_EFFECT;
    try {
      if (!skipped) {
        effect = this.cursorEffectOf(message);
        await this.options.beforeEffects?.(message);
      }
    } catch (error) {
      if (error instanceof MessageInProgressError || isTransientError(error)) throw error;
      return { error };
    }
    try {
      await this.options.dynamodb.send(
        new UpdateCommand(cleanAdvanceUpdate(this.inbox, message, effect, this.clock().toISOString())),
      );
      return 'APPLIED';
    } catch (error) {
      // A failed condition: not clean, or our own write already landed (an answer lost, the SDK's retry failed
      // against it) — the full path reads the cursor and tells which.
      if (error instanceof ConditionalCheckFailedException) return 'NOT_CLEAN';
      if (isTransientError(error)) throw error;
      return { error };
    }
  }

  /**
   * A failure of the message's effects: counted (once per delivery); rethrown (the record is redelivered) until it
   * has failed `parkAfterFailures` times, then the key is parked. Another delivery holding a claim is not a failure,
   * and neither is a transient error (the caller retries it; only deterministic failures are poison).
   */
  private async failed(
    message: MessageEnvelope,
    error: unknown,
    heldSequence: number | undefined,
    delivery: string,
  ): Promise<'PARKED'> {
    if (error instanceof MessageInProgressError || isTransientError(error)) throw error;
    const failures = await this.countFailure(message, delivery);
    if (failures < this.parkAfterFailures) throw error;
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    await this.park(message, reason, heldSequence, failures);
    return 'PARKED';
  }

  /** A readable message of a type this consumer does not apply (an unreadable one is parked at its turn, as ever). */
  private skips(read: ReadBody): boolean {
    return (
      read.unreadable === undefined &&
      this.messageTypes !== undefined &&
      !this.messageTypes.has(read.message.type)
    );
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
    const item = response.Item;
    return {
      lastSequence: Number(item?.lastSequence ?? 0),
      heldCount: Number(item?.heldCount ?? 0),
      parked: item?.parked === true,
      parkedSequence: item?.parkedSequence === undefined ? undefined : Number(item.parkedSequence),
      parkedReason: String(item?.parkedReason ?? ''),
      parkAlerted: item?.parkAlerted === true,
    };
  }

  /**
   * Applies the effects of the next message of its key, then moves the cursor. Returns the key's held count
   * after the move, or PARKED when the message failed too often (or cannot be read at all) and parked its key.
   * A message of a type the consumer does not apply runs nothing: it only moves the cursor.
   */
  private async applyNext(
    read: ReadBody,
    heldSequence: number | undefined,
    seenHeldCount: number,
    delivery: string,
    early?: EarlyFailure,
  ): Promise<number | 'PARKED'> {
    const { message } = read;
    if (read.unreadable !== undefined) {
      // No attempt could ever apply it: park it at once, with the reason.
      await this.park(message, read.unreadable, heldSequence, 0);
      return 'PARKED';
    }
    if (this.skips(read)) return this.advance(message, NO_CURSOR_EFFECT, heldSequence, seenHeldCount);
    let effect: CursorEffectUpdate;
    try {
      if (early !== undefined) throw early.error;
      effect = this.cursorEffectOf(message);
      await this.options.beforeEffects?.(message);
      for (const { effect: guarded, strategy } of this.options.effects) {
        await applyEffect(guarded, strategy, message, this.options);
      }
    } catch (error) {
      return this.failed(message, error, heldSequence, delivery);
    }
    return this.advance(message, effect, heldSequence, seenHeldCount);
  }

  /**
   * Moves the cursor from n − 1 to n (and removes the held copy the message came from), in one transaction. The
   * transaction is also conditional on the held count we last saw, so a message held back concurrently (while the
   * effects ran) is noticed: we re-read the cursor and commit again, and the caller releases what is held. A cursor
   * found at n already is this very move landed (its answer lost, the SDK's retry failing against it) or another
   * delivery's: the message is applied either way.
   */
  private async advance(
    message: MessageEnvelope,
    effect: CursorEffectUpdate,
    heldSequence: number | undefined,
    seenHeldCount: number,
  ): Promise<number> {
    let heldCount = seenHeldCount;
    for (let attempt = 1; ; attempt++) {
      try {
        await writeAtomically(
          this.options.dynamodb,
          advanceItems(this.inbox, message, effect, heldSequence, heldCount, this.clock().toISOString()),
        );
        return heldSequence === undefined ? heldCount : heldCount - 1;
      } catch (error) {
        const cursorConditionFailed = error instanceof WriteConditionError && error.index === 0;
        if (!cursorConditionFailed) throw error;
        const cursor = await this.readCursor(message.groupKey);
        if (cursor.lastSequence === message.sequence) return cursor.heldCount;
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
          // As the SDK does: its own retries repeat the request under the same token, a no-op once it committed.
          ClientRequestToken: randomUUID(),
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
    delivery: string,
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
        await this.options.continueRelease?.(held.message);
        return released;
      }
      const cursor = await this.readCursor(groupKey);
      if (cursor.lastSequence !== next - 1 || cursor.parked) return released; // another delivery is on it
      const heldCount = await this.applyNext(held, next, cursor.heldCount, delivery);
      if (heldCount === 'PARKED') return released;
      released.push(next);
    }
  }

  /** A held message, as stored (one stored unreadable comes back with its reason). */
  private async readHeld(groupKey: string, sequence: number): Promise<ReadBody | undefined> {
    return this.readStored(inboxKeys.held(groupKey, sequence));
  }

  private async readStored(key: Record<string, string>): Promise<ReadBody | undefined> {
    const response = await this.options.dynamodb.send(
      new GetCommand({ TableName: this.options.inboxTableName, Key: key, ConsistentRead: true }),
    );
    return response.Item === undefined ? undefined : readBody(String(response.Item.message));
  }

  /**
   * Counts a failed attempt of the message's effects, once per delivery (a retry after a lost answer finds its own
   * count there); returns the count so far.
   */
  private async countFailure(message: MessageEnvelope, delivery: string): Promise<number> {
    const nowSeconds = Math.floor(this.clock().getTime() / 1000);
    try {
      const response = await this.options.dynamodb.send(
        new UpdateCommand(
          failureCountUpdate(this.inbox, message, nowSeconds, this.options.retentionSeconds, delivery),
        ),
      );
      return Number(response.Attributes?.failures ?? 1);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      return Number(error.Item?.failures?.N ?? 1);
    }
  }

  /**
   * Parks the message (and, through the cursor's flag, every later message of its key): the flag first, then the
   * message, then the alert, so a crash or a lost answer in between leaves the park to be finished by the next
   * delivery of the key (see `finishParking`).
   */
  private async park(
    message: MessageEnvelope,
    reason: string,
    heldSequence: number | undefined,
    failures: number,
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
    if ((await this.storeParked(message, reason, heldSequence)) === 'UNPARKED') {
      throw new KeyUnparkedError(message.groupKey, message.sequence);
    }
    if (alert) await this.alert(message, reason, failures);
  }

  /**
   * Stores a message as PARKED (once: a stored one keeps its first reason), on condition that its key is parked —
   * a replay that unparked the key meanwhile would otherwise leave it PARKED on an unparked key. From the held set,
   * the held copy and its count go in the same transaction.
   */
  private async storeParked(
    message: MessageEnvelope,
    reason: string,
    heldSequence: number | undefined,
  ): Promise<StoredParked> {
    try {
      await this.options.dynamodb.send(
        new TransactWriteCommand({
          TransactItems: parkedItems(this.inbox, message, reason, heldSequence, this.clock().toISOString()),
          ClientRequestToken: randomUUID(),
        }),
      );
      return 'STORED';
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return 'STORED';
      if (reasons.at(-1)?.Code === 'ConditionalCheckFailed') return 'UNPARKED';
      throw error;
    }
  }

  /**
   * Finishes a park that a crash or a lost answer cut short after the key's flag was set: stores the message that
   * parked the key (from this delivery, or from the held set when a release parked it) and sends the alert. When
   * that message is nowhere yet, its own delivery failed and will be redelivered: it finishes then.
   */
  private async finishParking(message: MessageEnvelope, cursor: Cursor): Promise<void> {
    const sequence = cursor.parkedSequence;
    if (sequence === undefined) return;
    const reason = cursor.parkedReason;
    let parker: MessageEnvelope | undefined;
    if (message.sequence === sequence) {
      if ((await this.storeParked(message, reason, undefined)) === 'UNPARKED') return;
      parker = message;
    } else {
      const held = await this.readHeld(message.groupKey, sequence);
      if (held !== undefined && (await this.storeParked(held.message, reason, sequence)) === 'UNPARKED')
        return;
      parker =
        held?.message ?? (await this.readStored(inboxKeys.parked(message.groupKey, sequence)))?.message;
    }
    if (parker === undefined) return;
    const failures = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.options.inboxTableName,
        Key: inboxKeys.failures(parker.messageId),
        ConsistentRead: true,
      }),
    );
    await this.alert(parker, reason, Number(failures.Item?.failures ?? 0));
  }

  private async alert(message: MessageEnvelope, reason: string, failures: number): Promise<void> {
    await this.options.onParked?.({
      groupKey: message.groupKey,
      sequence: message.sequence,
      messageId: message.messageId,
      // An unreadable message may have no type at all.
      type: typeof message.type === 'string' ? message.type : '',
      failures,
      error: reason,
      ...(typeof message.traceparent === 'string' ? { traceparent: message.traceparent } : {}),
    });
    // Only now is the alert out: a failure above leaves the record unacknowledged, and its redelivery alerts.
    await this.options.dynamodb.send(new UpdateCommand(parkAlertedUpdate(this.inbox, message.groupKey)));
  }
}

/** @deprecated use {@link IdempotentConsumer}: the runtime class has the name of the construct that deploys it. */
export const IdempotentOrderedConsumer = IdempotentConsumer;
/** @deprecated use {@link IdempotentConsumer}. */
export type IdempotentOrderedConsumer = IdempotentConsumer;
/** @deprecated use {@link IdempotentConsumerOptions}. */
export type IdempotentOrderedConsumerOptions = IdempotentConsumerOptions;
