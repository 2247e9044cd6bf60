import { describe, expect, it } from 'vitest';
import type { OutboxAuditReport } from '../../../../functions/runtime/sweeper/outbox-audit';
import {
  AUDIT_SHARE_OF_RUN,
  auditBeforeSweep,
  auditBudget,
  auditPolicyFromEnvironment,
  NOT_AUDITED,
  SWEEPER_AUDIT_DEFAULTS,
} from '../../../../functions/sweeper/audit-before-sweep';

const AUDITED: OutboxAuditReport = {
  audited: true,
  scanned: 7,
  marked: 2,
  readCapacityUnits: 1.5,
  complete: true,
};

describe("the sweeper's audit policy from its environment", () => {
  it('reads SWEEP_AUDIT_INTERVAL_SECONDS and SWEEP_AUDIT_GRACE_SECONDS', () => {
    // WHEN
    const policy = auditPolicyFromEnvironment({
      SWEEP_AUDIT_INTERVAL_SECONDS: '0',
      SWEEP_AUDIT_GRACE_SECONDS: '10',
    });
    // THEN
    expect(policy).toMatchObject({ intervalSeconds: 0, graceSeconds: 10 });
  });

  it('defaults to one audit per 5 minutes, after a 2-minute grace', () => {
    // WHEN
    const policy = auditPolicyFromEnvironment({});
    // THEN
    expect(SWEEPER_AUDIT_DEFAULTS).toEqual({ intervalSeconds: 300, graceSeconds: 120 });
    expect(policy).toMatchObject({ intervalSeconds: 300, graceSeconds: 120 });
  });

  it.each([
    ['SWEEP_AUDIT_INTERVAL_SECONDS', 'soon'],
    ['SWEEP_AUDIT_INTERVAL_SECONDS', ''],
    ['SWEEP_AUDIT_GRACE_SECONDS', '-1'],
  ])('fails if %s is %j, naming it', (name, value) => {
    expect(() => auditPolicyFromEnvironment({ [name]: value })).toThrow(
      `${name} must be a number of seconds ≥ 0; got '${value}'`,
    );
  });
});

describe("the audit's share of a run", () => {
  it("leaves the sweep the rest of the run: the audit's budget ends when half the run is left", () => {
    // GIVEN a run with 60 s left
    let remaining = 60_000;
    // WHEN
    const budget = auditBudget(() => remaining, 0.5);
    // THEN
    expect(budget()).toBe(30_000);
    remaining = 40_000;
    expect(budget()).toBe(10_000);
    remaining = 30_000;
    expect(budget()).toBe(0);
  });

  it('gives the audit no deadline in a run without one', () => {
    const budget = auditBudget(() => Number.POSITIVE_INFINITY, AUDIT_SHARE_OF_RUN);
    expect(budget()).toBe(Number.POSITIVE_INFINITY);
  });

  it('fails if the share is not in (0, 1]', () => {
    expect(() => auditBudget(() => 1000, 0)).toThrow('share must be in (0, 1]; got 0');
    expect(() => auditBudget(() => 1000, 1.5)).toThrow('share must be in (0, 1]; got 1.5');
  });
});

describe('audit before the sweep', () => {
  it("audits within its share of the run's time and returns its report", async () => {
    // GIVEN an audit that records the budget it was given
    let given: number | undefined;
    const audit = {
      auditIfDue: async (budget: { readonly remainingTimeMs?: () => number } = {}) => {
        given = budget.remainingTimeMs?.();
        return AUDITED;
      },
    };
    // WHEN the run has 60 s left
    const outcome = await auditBeforeSweep(audit, () => 60_000);
    // THEN
    expect(outcome).toEqual({ report: AUDITED });
    expect(given).toBe(60_000 * AUDIT_SHARE_OF_RUN);
  });

  it('returns the error of an audit that failed, with nothing audited, instead of throwing: the sweep still runs', async () => {
    // GIVEN
    const denied = new Error('AccessDeniedException: not authorized to perform dynamodb:Scan');
    const audit = {
      auditIfDue: async (): Promise<OutboxAuditReport> => {
        throw denied;
      },
    };
    // WHEN
    const outcome = await auditBeforeSweep(audit, () => 60_000);
    // THEN
    expect(outcome).toEqual({ report: NOT_AUDITED, error: denied });
  });
});
