import { describe, expect, it } from 'vitest';
import { parseFaultConfig } from '../../functions/runtime/faults/fault-config';
import { ALL_FAULTS, type ChaosRunFacts, type ChaosTotals, chaosReport } from '../../scripts/local/chaos-run';

const quietTotals: ChaosTotals = {
  committed: 40,
  delivered: 40,
  lost: 0,
  inFlight: 0,
  inFlightMessages: 0,
  duplicateEffects: 0,
  duplicateCommits: 0,
  orderViolations: 0,
  failed: 0,
  failedUndelivered: 0,
  pending: 0,
  held: 0,
  parkedKeys: 0,
};

const facts = (overrides: Partial<ChaosRunFacts> = {}): ChaosRunFacts => ({
  totals: quietTotals,
  alerts: 0,
  queue: { visible: 0, inFlight: 0 },
  deadLetteredBefore: 0,
  deadLetteredAfter: 0,
  keys: 4,
  requestRetries: 7,
  seconds: 12,
  faults: ALL_FAULTS,
  ...overrides,
});

describe('the reliability run (npm run chaos)', () => {
  it('runs with every fault of the kit that fits its traffic, the lost answers of any write among them', () => {
    // WHEN / THEN: a valid configuration, with both ambiguous faults on at a rate that keeps the run going
    expect(parseFaultConfig(JSON.stringify(ALL_FAULTS))).toEqual(ALL_FAULTS);
    expect(ALL_FAULTS.ambiguousWriteRate).toBeGreaterThanOrEqual(0.02);
    expect(ALL_FAULTS.ambiguousWriteRate).toBeLessThanOrEqual(0.05);
    expect(ALL_FAULTS.ambiguousCommitRate).toBeGreaterThan(0);
  });

  it('reports the fault rates it ran with, next to every figure it reported before', () => {
    // GIVEN
    const faults = { ambiguousWriteRate: 0.04, throttleRate: 0.01 };

    // WHEN
    const report = chaosReport(facts({ faults }));

    // THEN
    expect(report).toEqual({
      committed: 40,
      delivered: 40,
      lost: 0,
      inFlight: 0,
      duplicateEffects: 0,
      duplicateCommits: 0,
      orderViolations: 0,
      nonTerminal: 0,
      alerts: 0,
      failed: 0,
      failedUndelivered: 0,
      deadLettered: 0,
      parkedKeys: 0,
      keys: 4,
      requestRetries: 7,
      seconds: 12,
      faults: { ambiguousWriteRate: 0.04, throttleRate: 0.01 },
    });
    expect(JSON.parse(JSON.stringify(report)).faults).toEqual(faults);
  });

  it('counts as non-terminal what is pending, held, and in the queue (at least the messages known to be there)', () => {
    // GIVEN 3 pending, 2 held; the queue reports 4, but 6 missing messages may be in it
    const totals = { ...quietTotals, pending: 3, held: 2, inFlightMessages: 6 };

    // WHEN
    const fewerReported = chaosReport(facts({ totals, queue: { visible: 3, inFlight: 1 } }));
    const moreReported = chaosReport(facts({ totals, queue: { visible: 5, inFlight: 4 } }));

    // THEN
    expect(fewerReported.nonTerminal).toBe(3 + 2 + 6);
    expect(moreReported.nonTerminal).toBe(3 + 2 + 9);
  });

  it('counts the messages dead-lettered during the run, never fewer than none', () => {
    expect(chaosReport(facts({ deadLetteredBefore: 5, deadLetteredAfter: 8 })).deadLettered).toBe(3);
    expect(chaosReport(facts({ deadLetteredBefore: 5, deadLetteredAfter: 2 })).deadLettered).toBe(0);
  });

  it('copies every figure of the totals as counted', () => {
    // GIVEN every figure distinct
    const totals: ChaosTotals = {
      committed: 101,
      delivered: 97,
      lost: 1,
      inFlight: 2,
      inFlightMessages: 0,
      duplicateEffects: 3,
      duplicateCommits: 4,
      orderViolations: 5,
      failed: 6,
      failedUndelivered: 7,
      pending: 0,
      held: 0,
      parkedKeys: 8,
    };

    // WHEN
    const report = chaosReport(facts({ totals, alerts: 9 }));

    // THEN
    expect(report).toMatchObject({
      committed: 101,
      delivered: 97,
      lost: 1,
      inFlight: 2,
      duplicateEffects: 3,
      duplicateCommits: 4,
      orderViolations: 5,
      failed: 6,
      failedUndelivered: 7,
      parkedKeys: 8,
      alerts: 9,
    });
  });
});
