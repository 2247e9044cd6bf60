import { describe, expect, it } from 'vitest';
import {
  NON_TERMINAL_STATES,
  type NonTerminalMessages,
  type NonTerminalState,
  type ReconcileReport,
} from '../../../../lib/ops/reconcile-classification';
import { renderSettle } from '../../../../lib/ops/render';
import { awaitsOperator, waitUntilSettled } from '../../../../lib/ops/settle';

const message = (state: NonTerminalState, repair: string, groupKey = 'k-1'): NonTerminalMessages => ({
  groupKey,
  fromSequence: 2,
  toSequence: 2,
  count: 1,
  state,
  where: 'somewhere',
  repair,
});

function report(messages: readonly NonTerminalMessages[]): ReconcileReport {
  const byState = Object.fromEntries(NON_TERMINAL_STATES.map((state) => [state, 0])) as Record<
    NonTerminalState,
    number
  >;
  for (const m of messages) byState[m.state] += m.count;
  return {
    keysChecked: 1,
    messagesCommitted: 3,
    applied: 3 - messages.length,
    rolledBack: 0,
    notTerminal: messages.length,
    byState,
    consumerAheadKeys: 0,
    allTerminal: messages.length === 0,
    messages,
  };
}

const PENDING = message('OUTBOX_PENDING', 'none: the relay or the next sweep sends it');
const FAILED = message('OUTBOX_FAILED', 'retry-failed --key k-1');
const PARKED = message('PARKED', 'replay --key k-1');

/** A clock that moves only when the waiter sleeps, and the reports it reads in turn (the last one repeats). */
function script(reports: readonly ReconcileReport[]) {
  let now = 0;
  let reads = 0;
  const slept: number[] = [];
  return {
    read: async () => reports[Math.min(reads++, reports.length - 1)]!,
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    slept,
  };
}

describe('wait: until every committed message has settled', () => {
  it.each([
    ['OUTBOX_FAILED', 'retry-failed --key k-1', true],
    ['TRANSACTION_FAILED', 'resolve --transaction t --commit|--rollback', true],
    ['LOCAL_STEP_WITHOUT_MESSAGE', 'investigate: …', true],
    ['DEAD_LETTERED', 'redrive', true],
    ['PARKED', 'replay --key k-1', true],
    ['HELD', 'redrive (for #2, which it waits for)', true],
    ['IN_TRANSIT', 'replay --key k-1', true],
    ['HELD', 'none: released when its predecessor is applied', false],
    ['IN_TRANSIT', 'none: the consumer applies it (if it stays, see `status`)', false],
    ['OUTBOX_PENDING', 'none: the relay or the next sweep sends it', false],
    ['TRANSACTION_OPEN', 'none: the check-back decides', false],
    ['UNACCOUNTED', 'investigate: see the runbook', false],
  ] as const)('counts %s (repair %j) as waiting for an operator: %s', (state, repair, expected) => {
    expect(awaitsOperator(message(state, repair))).toBe(expected);
  });

  it('returns settled at once when nothing moves: applied, FAILED or parked', async () => {
    // GIVEN a stack where one message is FAILED and one parked (alerted), the rest applied
    const stack = script([report([FAILED, PARKED])]);

    // WHEN wait runs
    const settled = await waitUntilSettled(stack.read, {
      timeoutMs: 10_000,
      now: stack.now,
      sleep: stack.sleep,
    });

    // THEN settled after one read, listing what waits for an operator
    expect(settled).toMatchObject({
      settled: true,
      passes: 1,
      moving: [],
      awaitingOperator: [FAILED, PARKED],
    });
    expect(stack.slept).toEqual([]);
  });

  it('reads again while messages move, until they settle', async () => {
    const stack = script([report([PENDING]), report([PENDING]), report([])]);
    const settled = await waitUntilSettled(stack.read, {
      timeoutMs: 10_000,
      intervalMs: 500,
      now: stack.now,
      sleep: stack.sleep,
    });
    expect(settled).toMatchObject({ settled: true, passes: 3, seconds: 1 });
    expect(stack.slept).toEqual([500, 500]);
  });

  it('gives up at the timeout, with what still moves', async () => {
    // GIVEN a message that never leaves the outbox
    const stack = script([report([PENDING, FAILED])]);

    // WHEN wait runs for 3 s, reading every 2 s
    const given = await waitUntilSettled(stack.read, {
      timeoutMs: 3000,
      intervalMs: 2000,
      now: stack.now,
      sleep: stack.sleep,
    });

    // THEN it read at the start, after 2 s and at 3 s (the last sleep cut to the timeout), and was not settled
    expect(stack.slept).toEqual([2000, 1000]);
    expect(given).toMatchObject({ settled: false, passes: 3, moving: [PENDING], awaitingOperator: [FAILED] });
    expect(renderSettle(given, 'Shop')).toMatch(/^gave up after 3 s: 1 message\(s\) still moving, 1 wait/);
    expect(renderSettle(given, 'Shop')).toContain('REPAIR (npx reliable-messaging-ops … --stack Shop)');
  });

  it('says how many were applied when settled', async () => {
    const stack = script([report([])]);
    const settled = await waitUntilSettled(stack.read, { timeoutMs: 1, now: stack.now, sleep: stack.sleep });
    expect(renderSettle(settled)).toBe('settled after 0 s: 3 of 3 committed messages applied');
  });
});
