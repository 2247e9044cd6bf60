import { describe, expect, it } from 'vitest';
import { parseFaultConfig } from '../../../functions/runtime/faults/fault-config';
import {
  ALL_FAULTS,
  type ChaosRunFacts,
  type ChaosTotals,
  chaosReport,
  type GroupFacts,
  type GroupTotals,
} from '../../../scripts/chaos/chaos-run';

const quietTotals: ChaosTotals = {
  committed: 40,
  delivered: 40,
  duplicateCommits: 0,
  failed: 0,
  failedUndelivered: 0,
  parkedUndelivered: 0,
  pending: 0,
};

const quietGroup: GroupTotals = {
  delivered: 40,
  lost: 0,
  inFlight: 0,
  inFlightMessages: 0,
  duplicateEffects: 0,
  orderViolations: 0,
  held: 0,
  parkedKeys: 0,
  failedUndelivered: 0,
};

const group = (overrides: Partial<GroupFacts> = {}): GroupFacts => ({
  totals: quietGroup,
  queue: { visible: 0, inFlight: 0 },
  deadLetteredBefore: 0,
  deadLetteredAfter: 0,
  ...overrides,
});

const facts = (overrides: Partial<ChaosRunFacts> = {}): ChaosRunFacts => ({
  totals: quietTotals,
  groups: { projection: group(), audit: group(), shipping: group() },
  alerts: 0,
  keys: 4,
  requestRetries: 7,
  seconds: 12,
  faults: ALL_FAULTS,
  ...overrides,
});

const quietGroupReport = {
  delivered: 40,
  lost: 0,
  inFlight: 0,
  duplicateEffects: 0,
  orderViolations: 0,
  nonTerminal: 0,
  parkedKeys: 0,
  failedUndelivered: 0,
  deadLettered: 0,
};

describe('the reliability run (npm run chaos)', () => {
  it('runs with every fault of the kit that fits its traffic, the lost answers of any write among them', () => {
    // WHEN / THEN: a valid configuration, with both ambiguous faults on at a rate that keeps the run going
    expect(parseFaultConfig(JSON.stringify(ALL_FAULTS))).toEqual(ALL_FAULTS);
    expect(ALL_FAULTS.ambiguousWriteRate).toBeGreaterThanOrEqual(0.02);
    expect(ALL_FAULTS.ambiguousWriteRate).toBeLessThanOrEqual(0.05);
    expect(ALL_FAULTS.ambiguousCommitRate).toBeGreaterThan(0);
  });

  it('reports the fault rates it ran with and each group’s figures, next to every figure it reported before', () => {
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
      parkedUndelivered: 0,
      deadLettered: 0,
      parkedKeys: 0,
      keys: 4,
      requestRetries: 7,
      seconds: 12,
      faults: { ambiguousWriteRate: 0.04, throttleRate: 0.01 },
      groups: { projection: quietGroupReport, audit: quietGroupReport, shipping: quietGroupReport },
    });
    expect(JSON.parse(JSON.stringify(report)).faults).toEqual(faults);
  });

  it('reports only the groups the stack has (a stack without fan-out: the projection alone)', () => {
    const report = chaosReport(facts({ groups: { projection: group() } }));
    expect(Object.keys(report.groups)).toEqual(['projection']);
  });

  it('counts as non-terminal what is pending once, and per group what is held and in its queue (at least the messages known to be there)', () => {
    // GIVEN 3 pending; the projection holds 2 and reports 4 queued though 6 missing messages may be in it; the audit
    // holds 1 and reports 9 queued
    const projection = group({
      totals: { ...quietGroup, held: 2, inFlightMessages: 6 },
      queue: { visible: 3, inFlight: 1 },
    });
    const audit = group({ totals: { ...quietGroup, held: 1 }, queue: { visible: 5, inFlight: 4 } });

    // WHEN
    const report = chaosReport(
      facts({ totals: { ...quietTotals, pending: 3 }, groups: { projection, audit } }),
    );

    // THEN
    expect(report.groups.projection?.nonTerminal).toBe(3 + 2 + 6);
    expect(report.groups.audit?.nonTerminal).toBe(3 + 1 + 9);
    expect(report.nonTerminal).toBe(3 + (2 + 6) + (1 + 9));
  });

  it('counts the messages each group dead-lettered during the run, never fewer than none, and sums them', () => {
    const report = chaosReport(
      facts({
        groups: {
          projection: group({ deadLetteredBefore: 5, deadLetteredAfter: 8 }),
          shipping: group({ deadLetteredBefore: 5, deadLetteredAfter: 2 }),
        },
      }),
    );
    expect(report.groups.projection?.deadLettered).toBe(3);
    expect(report.groups.shipping?.deadLettered).toBe(0);
    expect(report.deadLettered).toBe(3);
  });

  it('reports a figure of one group in that group, and in the top-level sum', () => {
    // GIVEN each group with a distinct problem
    const projection = group({ totals: { ...quietGroup, lost: 1, inFlight: 2 } });
    const audit = group({ totals: { ...quietGroup, duplicateEffects: 3, failedUndelivered: 1 } });
    const shipping = group({ totals: { ...quietGroup, orderViolations: 5, parkedKeys: 1 } });

    // WHEN
    const report = chaosReport(facts({ groups: { projection, audit, shipping } }));

    // THEN
    expect(report.groups.projection).toMatchObject({ lost: 1, inFlight: 2, duplicateEffects: 0 });
    expect(report.groups.audit).toMatchObject({ lost: 0, duplicateEffects: 3, failedUndelivered: 1 });
    expect(report.groups.shipping).toMatchObject({ orderViolations: 5, parkedKeys: 1, lost: 0 });
    expect(report).toMatchObject({
      lost: 1,
      inFlight: 2,
      duplicateEffects: 3,
      orderViolations: 5,
      parkedKeys: 1,
    });
  });

  it('copies the run’s own totals as counted, and the poisoned key', () => {
    // GIVEN every figure distinct
    const totals: ChaosTotals = {
      committed: 101,
      delivered: 97,
      duplicateCommits: 4,
      failed: 6,
      failedUndelivered: 7,
      parkedUndelivered: 3,
      pending: 0,
    };

    // WHEN
    const report = chaosReport(facts({ totals, alerts: 9, poison: { key: 'k', group: 'audit' } }));

    // THEN
    expect(report).toMatchObject({
      committed: 101,
      delivered: 97,
      duplicateCommits: 4,
      failed: 6,
      failedUndelivered: 7,
      parkedUndelivered: 3,
      alerts: 9,
      poison: { key: 'k', group: 'audit' },
    });
  });
});
