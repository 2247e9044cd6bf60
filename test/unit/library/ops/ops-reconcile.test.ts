import { describe, expect, it } from 'vitest';
import {
  type CursorState,
  classify,
  type ReconcileData,
  shellWord,
} from '../../../../lib/ops/reconcile-classification';
import { renderReconcile } from '../../../../lib/ops/render';

/** Reconcile's input: nothing anywhere but what a test adds. */
function data(changes: Partial<ReconcileData> = {}): ReconcileData {
  return {
    committed: new Map(),
    outbox: [],
    deadLetters: [],
    deadLetterDepth: 0,
    queueDepth: 0,
    held: [],
    parked: [],
    cursors: new Map(),
    ...changes,
  };
}

const cursors = (entries: Record<string, number | CursorState>) =>
  new Map(
    Object.entries(entries).map(([key, value]) => [
      key,
      typeof value === 'number' ? { lastSequence: value, parked: false } : value,
    ]),
  );

describe('reconcile: is every committed message terminal?', () => {
  it('finds everything terminal when each key is applied up to its committed sequence', () => {
    // GIVEN three keys, the consumer's cursor at each key's version
    const report = classify(
      data({
        committed: new Map([
          ['a', 3],
          ['b', 1],
          ['c', 5],
        ]),
        cursors: cursors({ a: 3, b: 1, c: 5 }),
      }),
    );

    // THEN all 9 are applied, nothing is listed
    expect(report).toMatchObject({
      keysChecked: 3,
      messagesCommitted: 9,
      applied: 9,
      notTerminal: 0,
      allTerminal: true,
      messages: [],
    });
    expect(Object.values(report.byState).every((n) => n === 0)).toBe(true);
  });

  it('lists a FAILED outbox message with retry-failed, and the PENDING ones after it as waiting for the sweep', () => {
    // GIVEN key a committed up to 4, applied up to 1; 2 FAILED in the outbox, 3 and 4 PENDING behind it
    const report = classify(
      data({
        committed: new Map([['a', 4]]),
        outbox: [
          {
            groupKey: 'a',
            sequence: 2,
            messageId: 'm2',
            status: 'FAILED',
            attempts: 8,
            lastError: 'QueueUnreachable',
          },
          { groupKey: 'a', sequence: 3, messageId: 'm3', status: 'PENDING', attempts: 0 },
          { groupKey: 'a', sequence: 4, messageId: 'm4', status: 'PENDING', attempts: 0 },
        ],
        cursors: cursors({ a: 1 }),
      }),
    );

    // THEN 3 are not terminal: one FAILED (retry-failed --key a) and a run of two PENDING
    expect(report).toMatchObject({ messagesCommitted: 4, applied: 1, notTerminal: 3, allTerminal: false });
    expect(report.byState).toMatchObject({ OUTBOX_FAILED: 1, OUTBOX_PENDING: 2 });
    expect(report.messages).toEqual([
      {
        groupKey: 'a',
        fromSequence: 2,
        toSequence: 2,
        count: 1,
        state: 'OUTBOX_FAILED',
        where: 'outbox: FAILED after 8 attempts (QueueUnreachable)',
        repair: 'retry-failed --key a',
        messageId: 'm2',
      },
      expect.objectContaining({
        fromSequence: 3,
        toSequence: 4,
        count: 2,
        state: 'OUTBOX_PENDING',
        repair: 'none: the relay or the next sweep sends it',
      }),
    ]);
    expect(report.messages[1]).not.toHaveProperty('messageId');
  });

  it('lists a parked key with replay --key, and a dead-lettered message with redrive', () => {
    // GIVEN key p parked at 2 (2 and 3 parked), key d with 2 in the dead-letter queue
    const report = classify(
      data({
        committed: new Map([
          ['p', 3],
          ['d', 2],
        ]),
        parked: [
          { groupKey: 'p', sequence: 2 },
          { groupKey: 'p', sequence: 3 },
        ],
        deadLetters: [{ groupKey: 'd', sequence: 2, messageId: 'd2' }],
        deadLetterDepth: 1,
        cursors: cursors({ p: { lastSequence: 1, parked: true }, d: 1 }),
      }),
    );

    // THEN each gets its repair
    expect(report.byState).toMatchObject({ PARKED: 2, DEAD_LETTERED: 1 });
    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: 'd',
        fromSequence: 2,
        state: 'DEAD_LETTERED',
        repair: 'redrive',
        messageId: 'd2',
      }),
      expect.objectContaining({
        groupKey: 'p',
        fromSequence: 2,
        toSequence: 3,
        state: 'PARKED',
        repair: 'replay --key p',
      }),
    ]);
  });

  it('points a held message at the repair of the gap it waits for', () => {
    // GIVEN key h applied to 1, message 3 held, message 2 FAILED in the outbox
    const report = classify(
      data({
        committed: new Map([['h', 3]]),
        outbox: [{ groupKey: 'h', sequence: 2, messageId: 'h2', status: 'FAILED', attempts: 8 }],
        held: [{ groupKey: 'h', sequence: 3 }],
        cursors: cursors({ h: 1 }),
      }),
    );

    // THEN the held one is repaired by retrying the failed one
    expect(report.messages).toEqual([
      expect.objectContaining({ fromSequence: 2, state: 'OUTBOX_FAILED', repair: 'retry-failed --key h' }),
      expect.objectContaining({
        fromSequence: 3,
        state: 'HELD',
        where: 'inbox: held behind #2',
        repair: 'retry-failed --key h (for #2, which it waits for)',
      }),
    ]);
  });

  it('calls messages found nowhere in transit while the queue has messages, and UNACCOUNTED when it is empty', () => {
    // GIVEN key t committed to 5, applied to 2, nothing of it in the outbox or the inbox
    const base = { committed: new Map([['t', 5]]), cursors: cursors({ t: 2 }) };

    // WHEN the queue holds messages, and when it is empty
    const moving = classify(data({ ...base, queueDepth: 4 }));
    const lost = classify(data({ ...base, queueDepth: 0 }));

    // THEN one run 3–5 each: in transit (wait), or unaccounted (investigate)
    expect(moving.messages).toEqual([
      expect.objectContaining({
        fromSequence: 3,
        toSequence: 5,
        count: 3,
        state: 'IN_TRANSIT',
        where: 'queue or consumer (in flight)',
      }),
    ]);
    expect(lost.messages).toEqual([
      expect.objectContaining({ fromSequence: 3, toSequence: 5, count: 3, state: 'UNACCOUNTED' }),
    ]);
    expect(lost.messages[0]!.repair).toMatch(/^investigate/);
  });

  it('counts a message at its most advanced place when it is seen in two (outbox copy not deleted yet, and held)', () => {
    const report = classify(
      data({
        committed: new Map([['x', 3]]),
        outbox: [{ groupKey: 'x', sequence: 3, messageId: 'x3', status: 'PENDING', attempts: 1 }],
        held: [{ groupKey: 'x', sequence: 3 }],
        queueDepth: 1,
        cursors: cursors({ x: 1 }),
      }),
    );
    expect(report.byState).toMatchObject({ IN_TRANSIT: 1, HELD: 1, OUTBOX_PENDING: 0 });
    expect(report.messages.map((m) => m.state)).toEqual(['IN_TRANSIT', 'HELD']);
  });

  it('ignores an outbox copy of a message already applied (a relay crash before its delete), and counts outbox sequences as committed', () => {
    // GIVEN key y at version 2 applied to 2, a stale PENDING copy of 2, and a FAILED 3 (committed, version read earlier)
    const report = classify(
      data({
        committed: new Map([['y', 2]]),
        outbox: [
          { groupKey: 'y', sequence: 2, messageId: 'y2', status: 'PENDING', attempts: 1 },
          { groupKey: 'y', sequence: 3, messageId: 'y3', status: 'FAILED', attempts: 8 },
        ],
        cursors: cursors({ y: 2 }),
      }),
    );
    expect(report).toMatchObject({ messagesCommitted: 3, applied: 2, notTerminal: 1 });
    expect(report.messages).toEqual([expect.objectContaining({ fromSequence: 3, state: 'OUTBOX_FAILED' })]);
  });

  it('lists open and failed transactions with resolve, and counts rolled-back ones as terminal', () => {
    // GIVEN an applied key with a PREPARED, a FAILED, a ROLLED_BACK and a COMMITTED half message
    const half = (id: string, status: string) => ({
      groupKey: `TX#${id}`,
      sequence: 0,
      messageId: `m-${id}`,
      status,
      transactionId: id,
      targetGroupKey: 'o',
      checkCount: 3,
    });
    const report = classify(
      data({
        committed: new Map([['o', 2]]),
        outbox: [
          half('t1', 'PREPARED'),
          half('t2', 'FAILED'),
          half('t3', 'ROLLED_BACK'),
          half('t4', 'COMMITTED'),
        ],
        cursors: cursors({ o: 2 }),
      }),
    );

    // THEN the open and the failed one are listed (no sequence yet), the rollback is terminal
    expect(report).toMatchObject({ messagesCommitted: 2, applied: 2, rolledBack: 1, notTerminal: 2 });
    expect(report.byState).toMatchObject({ TRANSACTION_OPEN: 1, TRANSACTION_FAILED: 1 });
    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: 'o',
        fromSequence: null,
        state: 'TRANSACTION_OPEN',
        transactionId: 't1',
        repair: 'none: the check-back decides (or resolve --transaction t1 --commit|--rollback)',
      }),
      expect.objectContaining({
        state: 'TRANSACTION_FAILED',
        transactionId: 't2',
        repair: 'resolve --transaction t2 --commit|--rollback',
      }),
    ]);
  });

  it('reports a recorded payment whose transaction was rolled back (no message) as not terminal', () => {
    // GIVEN an applied key with two rolled-back transactions: one without its payment, one whose payment exists
    const rolledBack = (id: string, localStepRecorded: boolean) => ({
      groupKey: `TX#${id}`,
      sequence: 0,
      messageId: `m-${id}`,
      status: 'ROLLED_BACK',
      transactionId: id,
      targetGroupKey: 'o',
      localStepRecorded,
    });
    const report = classify(
      data({
        committed: new Map([['o', 2]]),
        outbox: [rolledBack('t1', false), rolledBack('t2', true)],
        cursors: cursors({ o: 2 }),
      }),
    );

    // THEN only the clean rollback is terminal; the payment without its message is listed
    expect(report).toMatchObject({ rolledBack: 1, notTerminal: 1, allTerminal: false });
    expect(report.byState).toMatchObject({ LOCAL_STEP_WITHOUT_MESSAGE: 1 });
    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: 'o',
        state: 'LOCAL_STEP_WITHOUT_MESSAGE',
        transactionId: 't2',
        repair: expect.stringContaining('investigate'),
      }),
    ]);
  });

  it('repairs whatever waits on a parked key with replay, and notes keys the consumer is ahead on', () => {
    const report = classify(
      data({
        committed: new Map([
          ['k', 4],
          ['ahead', 1],
        ]),
        queueDepth: 2,
        cursors: cursors({ k: { lastSequence: 2, parked: true }, ahead: 3 }),
      }),
    );
    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: 'k',
        state: 'IN_TRANSIT',
        where: 'queue or consumer (in flight); key parked',
        repair: 'replay --key k',
      }),
    ]);
    expect(report).toMatchObject({ consumerAheadKeys: 1, applied: 3 });
  });

  it('quotes keys that a shell would split', () => {
    expect(shellWord('order-1')).toBe('order-1');
    expect(shellWord("it's here")).toBe(`'it'\\''s here'`);
  });

  it('renders a summary and a table of what is not terminal', () => {
    // GIVEN a report with one FAILED message
    const report = classify(
      data({
        committed: new Map([['a', 2]]),
        outbox: [{ groupKey: 'a', sequence: 2, messageId: 'm2', status: 'FAILED', attempts: 8 }],
        cursors: cursors({ a: 1 }),
      }),
    );

    // WHEN rendered
    const text = renderReconcile(report);

    // THEN the counts, the state and its repair are readable
    expect(text).toMatch(/keys checked\s+1/);
    expect(text).toMatch(/not terminal\s+1 \(OUTBOX_FAILED 1\)/);
    expect(text).toMatch(/KEY\s+SEQUENCES\s+COUNT\s+STATE\s+WHERE\s+REPAIR/);
    expect(text).toMatch(
      /a\s+2\s+1\s+OUTBOX_FAILED\s+outbox: FAILED after 8 attempts\s+retry-failed --key a/,
    );
    expect(renderReconcile(classify(data()))).toMatch(
      /not terminal\s+0 — every committed message is terminal/,
    );
  });
});
