import { describe, expect, it } from 'vitest';
import {
  type AuditEntry,
  type CommittedMessage,
  checkAudit,
  checkShipping,
  type ShippingState,
  shippingStatus,
} from '../../../scripts/chaos/chaos-group-oracle';
import type { KeyWhereabouts } from '../../../scripts/chaos/chaos-oracle';

// A key of the reliability run: its order (sequence 1) and three notes (sequences 2 to 4).
const committed: CommittedMessage[] = [
  { sequence: 1, type: 'OrderPlaced' },
  { sequence: 2, type: 'OrderNoteAdded' },
  { sequence: 3, type: 'OrderNoteAdded' },
  { sequence: 4, type: 'OrderNoteAdded' },
];
const entry = (position: number, sequence: number): AuditEntry => ({
  position,
  sequence,
  type: sequence === 1 ? 'OrderPlaced' : 'OrderNoteAdded',
});
const allAudited = [entry(1, 1), entry(2, 2), entry(3, 3), entry(4, 4)];
// Nothing known elsewhere and the group's queue empty: a missing effect can only be lost.
const nothingElsewhere: KeyWhereabouts = { accounted: new Set(), queueNonEmpty: false, appliedPosition: 4 };
const clean = {
  delivered: 4,
  undelivered: [],
  lost: 0,
  accountedMissing: 0,
  inFlight: 0,
  inFlightMessages: 0,
  duplicateEffects: 0,
  orderViolations: 0,
};

describe('checkAudit (the audit group’s oracle)', () => {
  it('finds nothing wrong when the entries are the committed messages in order, position = sequence', () => {
    expect(checkAudit(committed, allAudited, nothingElsewhere)).toEqual(clean);
  });

  it('reads the entries by position, whatever order the table answered them in', () => {
    expect(checkAudit(committed, [...allAudited].reverse(), nothingElsewhere)).toEqual(clean);
  });

  it('counts a missing entry as lost, and nothing else', () => {
    // GIVEN message 3 never audited: message 4 took position 3
    const entries = [entry(1, 1), entry(2, 2), entry(3, 4)];

    // WHEN / THEN
    expect(checkAudit(committed, entries, nothingElsewhere)).toEqual({
      ...clean,
      delivered: 3,
      undelivered: [3],
      lost: 1,
    });
  });

  it('counts a missing entry as accounted for when its message is kept elsewhere, in flight when it may be queued', () => {
    const entries = allAudited.slice(0, 3);
    expect(
      checkAudit(committed, entries, { accounted: new Set([4]), queueNonEmpty: true, appliedPosition: 3 }),
    ).toMatchObject({ lost: 0, accountedMissing: 1, inFlight: 0 });
    expect(
      checkAudit(committed, entries, { accounted: new Set(), queueNonEmpty: true, appliedPosition: 3 }),
    ).toMatchObject({ lost: 0, inFlight: 1, inFlightMessages: 1 });
    expect(
      checkAudit(committed, entries, { accounted: new Set(), queueNonEmpty: true, appliedPosition: 4 }),
    ).toMatchObject({ lost: 1, inFlight: 0 });
  });

  it('counts an entry applied twice as a duplicate effect', () => {
    // GIVEN message 2 audited again at position 3
    const entries = [entry(1, 1), entry(2, 2), entry(3, 2), entry(4, 3), entry(5, 4)];

    // WHEN / THEN
    expect(checkAudit(committed, entries, nothingElsewhere)).toEqual({ ...clean, duplicateEffects: 1 });
  });

  it('counts an entry of a message never committed, or of another type, as a duplicate effect', () => {
    const uncommitted = [...allAudited, entry(5, 5)];
    const wrongType = [...allAudited.slice(0, 3), { position: 4, sequence: 4, type: 'OrderCancelled' }];
    expect(checkAudit(committed, uncommitted, nothingElsewhere)).toMatchObject({ duplicateEffects: 1 });
    expect(checkAudit(committed, wrongType, nothingElsewhere)).toMatchObject({
      duplicateEffects: 1,
      lost: 1,
    });
  });

  it('counts a swapped pair as an order violation', () => {
    // GIVEN messages 2 and 3 applied in the wrong order
    const entries = [entry(1, 1), entry(2, 3), entry(3, 2), entry(4, 4)];

    // WHEN / THEN
    expect(checkAudit(committed, entries, nothingElsewhere)).toEqual({ ...clean, orderViolations: 1 });
  });

  it('counts positions that are not 1, 2, 3… as order violations (position ≠ sequence)', () => {
    // GIVEN every message audited once, in order, but the last one at position 5 (a position skipped)
    const entries = [entry(1, 1), entry(2, 2), entry(3, 3), entry(5, 4)];

    // WHEN / THEN
    expect(checkAudit(committed, entries, nothingElsewhere)).toEqual({ ...clean, orderViolations: 1 });
  });
});

describe('checkShipping (the shipping group’s oracle)', () => {
  const shipped: ShippingState = { status: 'awaiting-payment', events: 1, lastSequence: 4 };

  it('finds nothing wrong when events, status and cursor match the committed messages', () => {
    expect(checkShipping(committed, shipped, nothingElsewhere)).toEqual(clean);
  });

  it('counts one event too many as a duplicate effect, one too few as lost', () => {
    expect(checkShipping(committed, { ...shipped, events: 2 }, nothingElsewhere)).toEqual({
      ...clean,
      duplicateEffects: 1,
    });
    expect(checkShipping(committed, { ...shipped, events: 0 }, nothingElsewhere)).toEqual({
      ...clean,
      lost: 1,
    });
  });

  it('counts a cursor below the last committed message as missing messages, lost when nowhere else', () => {
    // GIVEN the cursor at 2: messages 3 and 4 (notes, no effect of their own) not taken
    const behind = { ...shipped, lastSequence: 2 };

    // WHEN / THEN
    expect(checkShipping(committed, behind, nothingElsewhere)).toEqual({
      ...clean,
      delivered: 2,
      undelivered: [3, 4],
      lost: 2,
    });
    expect(
      checkShipping(committed, behind, { accounted: new Set([3]), queueNonEmpty: true, appliedPosition: 2 }),
    ).toMatchObject({ lost: 0, accountedMissing: 1, inFlight: 1 });
  });

  it('counts a cursor past the last committed message as a duplicate effect', () => {
    expect(checkShipping(committed, { ...shipped, lastSequence: 5 }, nothingElsewhere)).toMatchObject({
      duplicateEffects: 1,
    });
  });

  it('counts a status the committed messages do not derive, in order, as an order violation', () => {
    // GIVEN a key placed, cancelled, then paid: the status must stay cancelled
    const paidAfterCancel: CommittedMessage[] = [
      { sequence: 1, type: 'OrderPlaced' },
      { sequence: 2, type: 'OrderCancelled' },
      { sequence: 3, type: 'PaymentCaptured' },
    ];
    const state = (status: string) => ({ status, events: 3, lastSequence: 3 });

    // WHEN / THEN
    expect(checkShipping(paidAfterCancel, state('cancelled'), nothingElsewhere)).toMatchObject({
      orderViolations: 0,
    });
    expect(checkShipping(paidAfterCancel, state('ready'), nothingElsewhere)).toMatchObject({
      orderViolations: 1,
    });
  });

  it('expects no item for a key with nothing committed, and every message missing for a key with no item', () => {
    expect(checkShipping([], undefined, nothingElsewhere)).toEqual({ ...clean, delivered: 0 });
    expect(checkShipping(committed, undefined, nothingElsewhere)).toMatchObject({
      delivered: 0,
      undelivered: [1, 2, 3, 4],
      lost: 4,
      orderViolations: 0,
    });
  });
});

describe('shippingStatus', () => {
  it('is awaiting payment when placed, ready when paid, cancelled when cancelled (paid or not)', () => {
    expect(shippingStatus([])).toBeUndefined();
    expect(shippingStatus(['OrderPlaced'])).toBe('awaiting-payment');
    expect(shippingStatus(['OrderPlaced', 'PaymentCaptured'])).toBe('ready');
    expect(shippingStatus(['OrderPlaced', 'PaymentCaptured', 'OrderCancelled'])).toBe('cancelled');
    expect(shippingStatus(['OrderPlaced', 'OrderCancelled', 'PaymentCaptured'])).toBe('cancelled');
  });
});
