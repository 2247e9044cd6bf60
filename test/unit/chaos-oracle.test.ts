import { describe, expect, it } from 'vitest';
import { type AppliedKey, type CommittedKey, checkEffects } from '../../scripts/local/chaos-oracle';

// A key of the reliability run: an order of 2 × its SKU (sequence 1) and three notes (sequences 2 to 4).
const committed: CommittedKey = { version: 4, notes: ['note 1', 'note 2', 'note 3'], quantity: 2 };
const allApplied: AppliedKey = {
  view: { notes: ['note 1', 'note 2', 'note 3'] },
  notifications: ['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded', '4:OrderNoteAdded'],
  reserved: 2,
};
const nothingElsewhere = new Set<number>();

describe('checkEffects (the reliability run’s oracle)', () => {
  it('counts every message delivered when every effect is there exactly once and in order', () => {
    expect(checkEffects(committed, allApplied, nothingElsewhere)).toEqual({
      delivered: 4,
      lost: 0,
      accountedMissing: 0,
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
    expect(check).toMatchObject({ delivered: 2, lost: 2 });
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
    const check = checkEffects(committed, applied, new Set([4]));

    // THEN
    expect(check).toMatchObject({ delivered: 3, lost: 0, accountedMissing: 2 });
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
        lost: 0,
        accountedMissing: 0,
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
