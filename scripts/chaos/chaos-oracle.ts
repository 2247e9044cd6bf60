/**
 * The reliability run's oracle for one key: the effects the reference consumer applied, compared EXACTLY with what
 * the producer committed — never with the consumer's own bookkeeping (its cursor), so an effect lost while the cursor
 * moved on is seen. The cursor only answers whether a missing effect's message can still be in a non-empty queue
 * (it is above the cursor): such an effect is `inFlight`, not lost; at or below the cursor it is lost.
 *
 * A key of the run is an order (sequence 1, `OrderPlaced` of `quantity` × its own SKU) and its notes (sequence n ≥ 2
 * adds the (n − 1)th committed note). The consumer's effects per message:
 * - the view (`version` strategy): the order's view exists (n = 1) / holds the note (n ≥ 2), notes in commit order;
 * - the notifications log (`unique` strategy): one entry `<n>:<type>`, in sequence order;
 * - the inventory (`transaction` strategy, n = 1 only): `quantity` reserved on the order's SKU.
 */

/** What the producer committed for a key (its order, as the orders table has it). */
export interface CommittedKey {
  /** The order's version: the key's last committed sequence (0 if the order was never placed). */
  readonly version: number;
  /** The order's notes, in commit order: note i (from 0) is message i + 2. */
  readonly notes: readonly string[];
  /** What the order reserved on its SKU. */
  readonly quantity: number;
}

/** What the consumer applied for the key. */
export interface AppliedKey {
  /** The order's view, if it exists. */
  readonly view: { readonly notes: readonly string[] } | undefined;
  /** The notifications log's entries (`<sequence>:<type>`), in applied order. */
  readonly notifications: readonly string[];
  /** What is reserved on the order's SKU. */
  readonly reserved: number;
}

/**
 * Where the key's messages that are not (fully) applied may be, as the run saw them while it checked the key.
 */
export interface KeyWhereabouts {
  /** Sequences known to be elsewhere: pending or FAILED in the outbox, held or parked in the inbox. */
  readonly accounted: ReadonlySet<number>;
  /** Whether the queue held any message (visible or in flight) while the key was checked. */
  readonly queueNonEmpty: boolean;
  /**
   * The consumer's cursor (the key's last applied sequence, 0 if none), read before the effects. Used ONLY to tell
   * whether a message can still be in the queue — one at or below it would be acknowledged as a duplicate without
   * effect — never as a sign that anything was delivered.
   */
  readonly appliedPosition: number;
}

export interface EffectCheck {
  /** Committed messages whose every effect is there. */
  readonly delivered: number;
  /** The sequences of the committed messages that lack an effect (not delivered), in order. */
  readonly undelivered: readonly number[];
  /**
   * Missing effects of committed messages that are nowhere: not in `accounted`, and not possibly in the queue (the
   * queue was empty, or the key's cursor is at or past the message).
   */
  readonly lost: number;
  /** Missing effects of committed messages that are known to be on their way or kept (in `accounted`). */
  readonly accountedMissing: number;
  /** Missing effects of committed messages that may still be in the queue (it is not empty, the cursor is below). */
  readonly inFlight: number;
  /** The messages those `inFlight` effects belong to. */
  readonly inFlightMessages: number;
  /** Effects applied more than once, or never committed. */
  readonly duplicateEffects: number;
  /** Effects applied after an effect of a later message (adjacent inversions). */
  readonly orderViolations: number;
}

/** Adjacent inversions of the first occurrences of positions: how often a later one comes before an earlier one. */
function inversions(positions: readonly number[]): number {
  const first = positions.filter((position, i) => positions.indexOf(position) === i);
  return first.filter((position, i) => i > 0 && position < first[i - 1]!).length;
}

/** Occurrences beyond the first of each value, plus values that are not expected at all. */
function extras(applied: readonly string[], expected: ReadonlySet<string>): number {
  const seen = new Set<string>();
  let count = 0;
  for (const value of applied) {
    if (!expected.has(value) || seen.has(value)) count++;
    seen.add(value);
  }
  return count;
}

/** The type of message `sequence` of a key of the run. */
const typeOf = (sequence: number) => (sequence === 1 ? 'OrderPlaced' : 'OrderNoteAdded');

/**
 * Compares one key's applied effects with what was committed. A missing effect is `accountedMissing` if its message
 * is known to be elsewhere (outbox or inbox), `inFlight` if its message may still be in the queue, `lost` otherwise.
 */
export function checkEffects(
  committed: CommittedKey,
  applied: AppliedKey,
  whereabouts: KeyWhereabouts,
): EffectCheck {
  const { accounted, queueNonEmpty, appliedPosition } = whereabouts;
  // Only a message above the cursor can still be applied; with the queue empty, nothing is on its way in it.
  const mayBeInQueue = (sequence: number) => queueNonEmpty && sequence > appliedPosition;
  const appliedNotes = applied.view?.notes ?? [];
  const noteSet = new Set(appliedNotes);
  const entrySet = new Set(applied.notifications);
  let delivered = 0;
  let lost = 0;
  let accountedMissing = 0;
  let inFlight = 0;
  let inFlightMessages = 0;
  const undelivered: number[] = [];
  for (let sequence = 1; sequence <= committed.version; sequence++) {
    const effects =
      sequence === 1
        ? [applied.view !== undefined, applied.reserved >= committed.quantity]
        : [noteSet.has(committed.notes[sequence - 2] ?? `missing note of ${sequence}`)];
    effects.push(entrySet.has(`${sequence}:${typeOf(sequence)}`));
    const missing = effects.filter((present) => !present).length;
    if (missing === 0) {
      delivered++;
      continue;
    }
    undelivered.push(sequence);
    if (accounted.has(sequence)) accountedMissing += missing;
    else if (mayBeInQueue(sequence)) {
      inFlight += missing;
      inFlightMessages++;
    } else lost += missing;
  }

  const expectedEntries = new Set(
    Array.from({ length: committed.version }, (_, i) => `${i + 1}:${typeOf(i + 1)}`),
  );
  const surplus = committed.version >= 1 ? applied.reserved - committed.quantity : applied.reserved;
  const duplicateEffects =
    extras(appliedNotes, new Set(committed.notes.slice(0, Math.max(0, committed.version - 1)))) +
    extras(applied.notifications, expectedEntries) +
    (surplus > 0 ? Math.ceil(surplus / Math.max(1, committed.quantity)) : 0);

  const notePositions = appliedNotes
    .map((note) => committed.notes.indexOf(note))
    .filter((position) => position >= 0);
  const entrySequences = applied.notifications
    .filter((entry) => expectedEntries.has(entry))
    .map((entry) => Number(entry.split(':')[0]));
  const orderViolations = inversions(notePositions) + inversions(entrySequences);

  return {
    delivered,
    undelivered,
    lost,
    accountedMissing,
    inFlight,
    inFlightMessages,
    duplicateEffects,
    orderViolations,
  };
}
