import { describe, expect, it } from 'vitest';
import { chaosHealthy } from '../../../scripts/chaos/chaos-health';
import type { ChaosReport, GroupReport } from '../../../scripts/chaos/chaos-run';

const quietGroup: GroupReport = {
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

const healthy: ChaosReport = {
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
  requestRetries: 0,
  seconds: 1,
  faults: {},
  groups: { projection: quietGroup, audit: quietGroup, shipping: quietGroup },
};

describe('chaosHealthy (the verdict of npm run chaos)', () => {
  it('passes a run where every group applied every committed message once, in order', () => {
    expect(chaosHealthy(healthy)).toBe(true);
  });

  it('passes FAILED messages not delivered when each is alerted, and fails them unalerted', () => {
    const failed = { ...healthy, delivered: 38, failed: 2, failedUndelivered: 2 };
    expect(chaosHealthy({ ...failed, alerts: 2 })).toBe(true);
    expect(chaosHealthy({ ...failed, alerts: 1 })).toBe(false);
  });

  it('fails a run with any figure of invariant 2 off', () => {
    for (const figure of [
      'lost',
      'inFlight',
      'duplicateEffects',
      'duplicateCommits',
      'orderViolations',
      'nonTerminal',
    ] as const) {
      expect(chaosHealthy({ ...healthy, [figure]: 1 })).toBe(false);
    }
    expect(chaosHealthy({ ...healthy, delivered: 39 })).toBe(false);
  });

  it('fails a run without a poison key when a key is parked in any group', () => {
    const parked = { ...healthy, groups: { ...healthy.groups, shipping: { ...quietGroup, parkedKeys: 1 } } };
    expect(chaosHealthy(parked)).toBe(false);
    expect(chaosHealthy({ ...healthy, delivered: 37, parkedUndelivered: 3 })).toBe(false);
  });

  describe('a run that poisoned one key in the audit group', () => {
    const poisoned: ChaosReport = {
      ...healthy,
      delivered: 37,
      parkedUndelivered: 3,
      parkedKeys: 1,
      poison: { key: 'k', group: 'audit' },
      groups: { ...healthy.groups, audit: { ...quietGroup, delivered: 37, parkedKeys: 1 } },
    };

    it('passes when the key is parked in the audit group only, its messages there the only ones not delivered', () => {
      expect(chaosHealthy(poisoned)).toBe(true);
    });

    it('fails when the key is not parked in the audit group', () => {
      expect(chaosHealthy({ ...poisoned, groups: { ...poisoned.groups, audit: quietGroup } })).toBe(false);
    });

    it('fails when a key is parked in another group too', () => {
      const alsoShipping = { ...poisoned.groups, shipping: { ...quietGroup, parkedKeys: 1 } };
      expect(chaosHealthy({ ...poisoned, groups: alsoShipping })).toBe(false);
    });
  });
});
