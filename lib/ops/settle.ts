import type { NonTerminalMessages, NonTerminalState, ReconcileReport } from './reconcile-classification';

/** Where a message stays until an operator moves it (an alarm or an alert says so): `wait` does not wait for these. */
const STOPPED_STATES: ReadonlySet<NonTerminalState> = new Set<NonTerminalState>([
  'OUTBOX_FAILED',
  'TRANSACTION_FAILED',
  'LOCAL_STEP_WITHOUT_MESSAGE',
  'DEAD_LETTERED',
  'PARKED',
]);

/**
 * Whether a non-terminal message waits for an operator (it will not move on its own): FAILED, dead-lettered or
 * parked — or held or in transit behind such a message, or on a parked key (reconcile's repair then names a command
 * instead of `none: …`). Pending, open, in transit and unaccounted messages still move (or may).
 */
export function awaitsOperator(message: NonTerminalMessages): boolean {
  if (STOPPED_STATES.has(message.state)) return true;
  if (message.state === 'HELD' || message.state === 'IN_TRANSIT') return !message.repair.startsWith('none:');
  return false;
}

/** `wait`'s answer: whether every committed message settled, and reconcile's last report. */
export interface SettleReport {
  /** Every committed message is applied, rolled back, or waits for an operator. */
  readonly settled: boolean;
  /** From the first read to the last. */
  readonly seconds: number;
  /** Reads of the stack (reconcile passes) made. */
  readonly passes: number;
  /** The messages that still moved at the last read (empty when settled). */
  readonly moving: readonly NonTerminalMessages[];
  /** The messages that wait for an operator (their repair is in `reconcile`'s list). */
  readonly awaitingOperator: readonly NonTerminalMessages[];
  readonly reconcile: ReconcileReport;
}

export interface SettleOptions {
  readonly timeoutMs: number;
  /** Between two reads. @default 2000 */
  readonly intervalMs?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called after each read that is not settled yet. */
  readonly onPass?: (report: ReconcileReport, moving: number) => void;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Reads (`read`: reconcile) until no committed message moves any more, or until `timeoutMs` has passed since the
 * first read (then `settled: false`, with what still moves). Always reads at least once, and once more at the end.
 */
export async function waitUntilSettled(
  read: () => Promise<ReconcileReport>,
  options: SettleOptions,
): Promise<SettleReport> {
  const now = options.now ?? Date.now;
  const sleep = options.sleep ?? defaultSleep;
  const interval = options.intervalMs ?? 2000;
  const started = now();
  for (let passes = 1; ; passes++) {
    const report = await read();
    const moving = report.messages.filter((message) => !awaitsOperator(message));
    const elapsed = now() - started;
    if (moving.length === 0 || elapsed >= options.timeoutMs) {
      return {
        settled: moving.length === 0,
        seconds: Math.round(elapsed / 100) / 10,
        passes,
        moving,
        awaitingOperator: report.messages.filter(awaitsOperator),
        reconcile: report,
      };
    }
    options.onPass?.(report, moving.length);
    await sleep(Math.min(interval, Math.max(0, options.timeoutMs - elapsed)));
  }
}
