import type { EffectCheck, KeyWhereabouts } from './chaos-oracle';

/**
 * The reliability run's oracle for the reference application's two other consumer groups (design.md, "Consumer
 * groups"), one key at a time. Like the projection's (chaos-oracle.ts), it compares what a group applied with what
 * the producer COMMITTED — never with the group's own bookkeeping — and uses the group's cursor only to tell whether
 * a missing message can still be in the group's queue.
 * - audit (every message): one entry per applied message; by position the entries must be exactly the committed
 *   messages in sequence order, `position` = `sequence`, nothing more;
 * - shipping (only {@link SHIPPING_TYPES}; every other message advances its cursor with no effect): `events` = the
 *   committed messages of those types, `status` derived from them in order, the cursor (`lastSequence`, kept on the
 *   same item) at the key's last committed sequence.
 */

/** A message the producer committed for a key. */
export interface CommittedMessage {
  readonly sequence: number;
  readonly type: string;
}

/** One item of the audit table, as the audit group wrote it. */
export interface AuditEntry {
  readonly position: number;
  readonly sequence: number;
  readonly type: string;
}

/** The shipping group's item for a key (its state and its cursor, on one item); undefined: no item at all. */
export interface ShippingState {
  readonly status: string | undefined;
  readonly events: number;
  /** The key's last sequence the group took (applied or skipped by type), 0 if none. */
  readonly lastSequence: number;
}

/** The message types the shipping group applies (the reference stack's `messageTypes`). */
export const SHIPPING_TYPES: readonly string[] = ['OrderPlaced', 'PaymentCaptured', 'OrderCancelled'];

/** The shipping status the messages of `types`, applied in that order, leave. */
export function shippingStatus(types: readonly string[]): string | undefined {
  let status: string | undefined;
  for (const type of types) {
    if (type === 'OrderPlaced') status ??= 'awaiting-payment';
    if (type === 'PaymentCaptured') status = status === 'cancelled' ? 'cancelled' : 'ready';
    if (type === 'OrderCancelled') status = 'cancelled';
  }
  return status;
}

/** Sorts each missing message into kept elsewhere, possibly in the group's queue, or lost. */
function classifyMissing(missing: readonly number[], whereabouts: KeyWhereabouts) {
  const { accounted, queueNonEmpty, appliedPosition } = whereabouts;
  let lost = 0;
  let accountedMissing = 0;
  let inFlight = 0;
  for (const sequence of missing) {
    if (accounted.has(sequence)) accountedMissing++;
    else if (queueNonEmpty && sequence > appliedPosition) inFlight++;
    else lost++;
  }
  return { lost, accountedMissing, inFlight, inFlightMessages: inFlight };
}

/**
 * The audit group's entries for a key against the committed messages. A committed message without an entry is
 * missing (lost, kept elsewhere, or in flight); an entry of a message seen before, never committed, or not of its
 * committed type is a duplicate effect; entries out of sequence order (adjacent inversions) or whose positions are not
 * 1, 2, 3… (a gap, or a position taken twice) are order violations. With none of these, position = sequence for
 * every entry.
 */
export function checkAudit(
  committed: readonly CommittedMessage[],
  entries: readonly AuditEntry[],
  whereabouts: KeyWhereabouts,
): EffectCheck {
  const typeOf = new Map(committed.map((message) => [message.sequence, message.type]));
  const byPosition = [...entries].sort((a, b) => a.position - b.position);
  const seen = new Set<number>();
  const firstSequences: number[] = [];
  let duplicateEffects = 0;
  for (const entry of byPosition) {
    if (typeOf.get(entry.sequence) !== entry.type || seen.has(entry.sequence)) {
      duplicateEffects++;
      continue;
    }
    seen.add(entry.sequence);
    firstSequences.push(entry.sequence);
  }
  const inversions = firstSequences.filter(
    (sequence, i) => i > 0 && sequence < firstSequences[i - 1]!,
  ).length;
  const misplaced = byPosition.filter((entry, i) => entry.position !== i + 1).length;
  const undelivered = committed.map((m) => m.sequence).filter((sequence) => !seen.has(sequence));
  return {
    delivered: committed.length - undelivered.length,
    undelivered,
    ...classifyMissing(undelivered, whereabouts),
    duplicateEffects,
    orderViolations: inversions + misplaced,
  };
}

/**
 * The shipping group's item for a key against the committed messages. The item is the group's cursor too (its
 * effect and its cursor's move are one write), so message n is taken iff `lastSequence` ≥ n; the messages above are
 * missing (lost, kept elsewhere, or in flight). Then, over the messages taken: fewer `events` than committed messages
 * of the group's types are lost effects, more are duplicate effects (as is a cursor past the last committed message),
 * and a status other than the one they derive, in order, is an order violation.
 */
export function checkShipping(
  committed: readonly CommittedMessage[],
  state: ShippingState | undefined,
  whereabouts: KeyWhereabouts,
): EffectCheck {
  const lastSequence = state?.lastSequence ?? 0;
  const last = committed.reduce((max, message) => Math.max(max, message.sequence), 0);
  const taken = committed.filter((message) => message.sequence <= lastSequence);
  const undelivered = committed.filter((message) => message.sequence > lastSequence).map((m) => m.sequence);
  const applied = taken
    .filter((message) => SHIPPING_TYPES.includes(message.type))
    .sort((a, b) => a.sequence - b.sequence)
    .map((message) => message.type);
  const events = state?.events ?? 0;
  const missing = classifyMissing(undelivered, whereabouts);
  return {
    delivered: taken.length,
    undelivered,
    ...missing,
    lost: missing.lost + Math.max(0, applied.length - events),
    duplicateEffects: Math.max(0, events - applied.length) + Math.max(0, lastSequence - last),
    orderViolations: state?.status === shippingStatus(applied) ? 0 : 1,
  };
}
