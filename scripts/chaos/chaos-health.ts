import type { ChaosReport } from './chaos-run';

/**
 * Whether a reliability run came out as design invariant 2 requires, in every group: nothing lost, in flight,
 * applied twice, committed twice, out of order or still on its way; every committed message delivered to every
 * group, or FAILED (kept) and alerted. No key parked — but for a run that poisoned one key in one group: then that
 * key, and only it, is parked in that group only, and its messages there are the only ones not delivered.
 */
export function chaosHealthy(report: ChaosReport): boolean {
  const parkedAsPoisoned = Object.entries(report.groups).every(
    ([name, group]) => group.parkedKeys === (name === report.poison?.group ? 1 : 0),
  );
  return (
    report.lost === 0 &&
    report.inFlight === 0 &&
    report.duplicateEffects === 0 &&
    report.duplicateCommits === 0 &&
    report.orderViolations === 0 &&
    report.nonTerminal === 0 &&
    parkedAsPoisoned &&
    (report.poison !== undefined || report.parkedUndelivered === 0) &&
    report.delivered + report.failedUndelivered + report.parkedUndelivered === report.committed &&
    report.alerts >= report.failed
  );
}
