import { Env } from '../runtime/environment';
import type { OutboxAudit, OutboxAuditPolicy, OutboxAuditReport } from '../runtime/sweeper/outbox-audit';

/** The sweeper's audit policy when its environment does not say (`CompensationSweeper` always says). */
export const SWEEPER_AUDIT_DEFAULTS = {
  /** At most one audit per 5 minutes per warm sweeper: the audit's Scan reads every message in flight. */
  intervalSeconds: 300,
  /** Older than the relay's usual lag: a younger unmarked message is still the relay's. */
  graceSeconds: 120,
} as const;

/** Share of a run's time the audit may use: the sweep always keeps the rest. */
export const AUDIT_SHARE_OF_RUN = 0.5;

/**
 * The audit starts no new Scan page or mark when less than this is left of its share of the run (a page of 1,000
 * items and its marks take well under it); the sweep keeps its own reserve before the run's end.
 */
const AUDIT_STOP_BEFORE_END_OF_SHARE_SECONDS = 5;

/** What a run reports of its audit when it did not audit, or the audit failed. */
export const NOT_AUDITED: OutboxAuditReport = {
  audited: false,
  scanned: 0,
  marked: 0,
  readCapacityUnits: 0,
  complete: true,
};

/** The audit's policy from the sweeper's environment (`SWEEP_AUDIT_*`), with `SWEEPER_AUDIT_DEFAULTS`. */
export function auditPolicyFromEnvironment(
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Partial<OutboxAuditPolicy> {
  return {
    intervalSeconds: secondsFrom(
      environment,
      Env.SWEEP_AUDIT_INTERVAL_SECONDS,
      SWEEPER_AUDIT_DEFAULTS.intervalSeconds,
    ),
    graceSeconds: secondsFrom(
      environment,
      Env.SWEEP_AUDIT_GRACE_SECONDS,
      SWEEPER_AUDIT_DEFAULTS.graceSeconds,
    ),
    stopBeforeTimeoutSeconds: AUDIT_STOP_BEFORE_END_OF_SHARE_SECONDS,
  };
}

function secondsFrom(
  environment: Readonly<Record<string, string | undefined>>,
  name: string,
  fallback: number,
): number {
  const raw = environment[name];
  if (raw === undefined) return fallback;
  const seconds = raw.trim() === '' ? Number.NaN : Number(raw);
  if (!Number.isFinite(seconds) || seconds < 0)
    throw new RangeError(`${name} must be a number of seconds ≥ 0; got '${raw}'`);
  return seconds;
}

/**
 * The time the audit may use: `share` of what the run has left when it starts; the rest is the sweep's. A run
 * without a deadline gives the audit no deadline either.
 */
export function auditBudget(remainingTimeMs: () => number, share: number = AUDIT_SHARE_OF_RUN): () => number {
  if (!(share > 0 && share <= 1)) throw new RangeError(`share must be in (0, 1]; got ${share}`);
  const atStart = remainingTimeMs();
  if (!Number.isFinite(atStart)) return remainingTimeMs;
  const keptForTheSweepMs = atStart * (1 - share);
  return () => remainingTimeMs() - keptForTheSweepMs;
}

/** An audit's report, and the error that stopped it, if any. */
export interface AuditOutcome {
  readonly report: OutboxAuditReport;
  readonly error?: unknown;
}

/**
 * Runs the audit (when due) within its share of the run. An audit that fails does not stop the sweep: its error is
 * returned for the run to report and fail with once the sweep has run.
 */
export async function auditBeforeSweep(
  audit: Pick<OutboxAudit, 'auditIfDue'>,
  remainingTimeMs: () => number,
  share: number = AUDIT_SHARE_OF_RUN,
): Promise<AuditOutcome> {
  try {
    return { report: await audit.auditIfDue({ remainingTimeMs: auditBudget(remainingTimeMs, share) }) };
  } catch (error) {
    return { report: NOT_AUDITED, error };
  }
}
