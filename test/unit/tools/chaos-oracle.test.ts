import { describe, expect, it } from 'vitest';
import {
  type AppliedKey,
  type CommittedKey,
  checkEffects,
  type KeyWhereabouts,
} from '../../../scripts/chaos/chaos-oracle';

// A key of the reliability run: an order of 2 × its SKU (sequence 1) and three notes (sequences 2 to 4).
const committed: CommittedKey = { version: 4, notes: ['note 1', 'note 2', 'note 3'], quantity: 2 };
const allApplied: AppliedKey = {
  view: { notes: ['note 1', 'note 2', 'note 3'] },
  notifications: ['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded', '4:OrderNoteAdded'],
  reserved: 2,
};
// Nothing known elsewhere and the queue empty: a missing effect can only be lost.
const nothingElsewhere: KeyWhereabouts = { accounted: new Set(), queueNonEmpty: false, appliedPosition: 4 };

describe('checkEffects (the reliability run’s oracle)', () => {
  it('counts every message delivered when every effect is there exactly once and in order', () => {
    expect(checkEffects(committed, allApplied, nothingElsewhere)).toEqual({
      delivered: 4,
      undelivered: [],
      lost: 0,
      accountedMissing: 0,
      inFlight: 0,
      inFlightMessages: 0,
      duplicateEffects: 0,
      orderViolations: 0,
    });
  });

  it('counts a note missing from the view as lost, whatever the consumer’s cursor says', () => {
    // GIVEN the view lacks note 2 (message 3), though its notification is there (its cursor moved past it)
    const applied = { ...allApplied, view: { notes: ['note 1', 'note 3'] } };

    // WHEN
    const check = checkEffects(committed, applied, nothingElsewhere);

    // THEN
    expect(check).toMatchObject({ delivered: 3, lost: 1, duplicateEffects: 0, orderViolations: 0 });
  });

  it('counts a missing notification and a missing reservation as lost', () => {
    // GIVEN
    const applied = {
      ...allApplied,
      notifications: ['1:OrderPlaced', '2:OrderNoteAdded', '4:OrderNoteAdded'],
      reserved: 0,
    };

    // WHEN
    const check = checkEffects(committed, applied, nothingElsewhere);

    // THEN messages 1 and 3 each lack one effect
    expect(check).toMatchObject({ delivered: 2, undelivered: [1, 3], lost: 2 });
  });

  it('counts every effect of a key whose view was never written as lost', () => {
    // GIVEN
    const applied: AppliedKey = { view: undefined, notifications: [], reserved: 0 };

    // WHEN / THEN: view, reservation and notification of 1; note and notification of 2, 3 and 4
    expect(checkEffects(committed, applied, nothingElsewhere)).toMatchObject({ delivered: 0, lost: 9 });
  });

  it('does not count as lost the effects of messages known to be elsewhere (pending, FAILED, held, parked)', () => {
    // GIVEN message 4 is still in the outbox
    const applied = {
      ...allApplied,
      notifications: allApplied.notifications.slice(0, 3),
      view: { notes: ['note 1', 'note 2'] },
    };

    // WHEN
    const check = checkEffects(committed, applied, {
      accounted: new Set([4]),
      queueNonEmpty: true,
      appliedPosition: 3,
    });

    // THEN
    expect(check).toMatchObject({ delivered: 3, lost: 0, accountedMissing: 2, inFlight: 0 });
  });

  describe('a missing effect whose message may still be in the queue', () => {
    // Message 4 lacks its note and its notification; it is neither in the outbox nor in the inbox.
    const withoutLast: AppliedKey = {
      ...allApplied,
      notifications: allApplied.notifications.slice(0, 3),
      view: { notes: ['note 1', 'note 2'] },
    };

    it('is in flight, not lost, while the queue is not empty and the key’s cursor is below the message', () => {
      // GIVEN the queue holds messages and the cursor is at 3
      const whereabouts = { accounted: new Set<number>(), queueNonEmpty: true, appliedPosition: 3 };

      // WHEN
      const check = checkEffects(committed, withoutLast, whereabouts);

      // THEN
      expect(check).toMatchObject({ delivered: 3, lost: 0, inFlight: 2, inFlightMessages: 1 });
    });

    it('fails if an effect is called in flight while the queue is empty: it is lost', () => {
      // GIVEN the same key, the cursor below the message, but nothing in the queue
      const whereabouts = { accounted: new Set<number>(), queueNonEmpty: false, appliedPosition: 3 };

      // WHEN
      const check = checkEffects(committed, withoutLast, whereabouts);

      // THEN
      expect(check).toMatchObject({ delivered: 3, lost: 2, inFlight: 0, inFlightMessages: 0 });
    });

    it('is lost when the key’s cursor is at or past the message, even while the queue is not empty', () => {
      // GIVEN note 2 (message 3) missing from the view; the consumer would skip message 3 as a duplicate now
      const applied = { ...allApplied, view: { notes: ['note 1', 'note 3'] } };

      for (const appliedPosition of [3, 4]) {
        // WHEN
        const check = checkEffects(committed, applied, {
          accounted: new Set(),
          queueNonEmpty: true,
          appliedPosition,
        });

        // THEN
        expect(check).toMatchObject({ delivered: 3, lost: 1, inFlight: 0, inFlightMessages: 0 });
      }
    });

    it('is accounted for, not in flight, when the message is known to be in the outbox or the inbox', () => {
      // GIVEN message 4 held in the inbox, the queue not empty, the cursor below it
      const whereabouts = { accounted: new Set([4]), queueNonEmpty: true, appliedPosition: 2 };

      // WHEN / THEN
      expect(checkEffects(committed, withoutLast, whereabouts)).toMatchObject({
        lost: 0,
        accountedMissing: 2,
        inFlight: 0,
      });
    });
  });

  it('counts effects applied twice, or never committed, as duplicate effects', () => {
    // GIVEN a note twice, a notification of an uncommitted message, and the reservation twice
    const applied = {
      view: { notes: ['note 1', 'note 2', 'note 2', 'note 3'] },
      notifications: [...allApplied.notifications, '5:OrderNoteAdded'],
      reserved: 4,
    };

    // WHEN / THEN
    expect(checkEffects(committed, applied, nothingElsewhere)).toMatchObject({
      delivered: 4,
      lost: 0,
      duplicateEffects: 3,
      orderViolations: 0,
    });
  });

  it('counts effects applied out of commit order', () => {
    // GIVEN notes 2 and 3 swapped in the view, and notifications 3 and 4 swapped in the log
    const applied = {
      ...allApplied,
      view: { notes: ['note 1', 'note 3', 'note 2'] },
      notifications: ['1:OrderPlaced', '2:OrderNoteAdded', '4:OrderNoteAdded', '3:OrderNoteAdded'],
    };

    // WHEN / THEN
    expect(checkEffects(committed, applied, nothingElsewhere)).toMatchObject({
      delivered: 4,
      lost: 0,
      orderViolations: 2,
    });
  });

  it('expects nothing of a key whose order was never committed, and counts what was applied anyway', () => {
    // GIVEN
    const none: CommittedKey = { version: 0, notes: [], quantity: 2 };

    // WHEN / THEN
    expect(checkEffects(none, { view: undefined, notifications: [], reserved: 0 }, nothingElsewhere)).toEqual(
      {
        delivered: 0,
        undelivered: [],
        lost: 0,
        accountedMissing: 0,
        inFlight: 0,
        inFlightMessages: 0,
        duplicateEffects: 0,
        orderViolations: 0,
      },
    );
    expect(
      checkEffects(
        none,
        { view: undefined, notifications: ['1:OrderPlaced'], reserved: 2 },
        nothingElsewhere,
      ),
    ).toMatchObject({ duplicateEffects: 2 });
  });
});
