import { OpsError } from '../../lib/ops/errors';
import type { Progress } from '../../lib/ops/progress';
import { renderPairs } from '../../lib/ops/table';
import type { Connection } from '../../tools/stack/stack-control';
import { driveTraffic, waitApplied } from '../../tools/stack/traffic';

export interface LoadOptions {
  /** Keys (orders) to create. */
  readonly keys: number;
  /** Messages in all (an order per key, notes for the rest). */
  readonly messages: number;
  /** API clients at once. */
  readonly concurrency: number;
  /** Order ids start with `<prefix>-<run id>-`. */
  readonly prefix: string;
  /** Wait until the consumer applied every message, and report that throughput too. */
  readonly wait: boolean;
  readonly timeoutSeconds: number;
}

export interface LoadReport {
  /** Every order id of the run starts with this (`ops reconcile --prefix` it). */
  readonly runPrefix: string;
  readonly keys: number;
  readonly messages: number;
  readonly orders: number;
  readonly notes: number;
  readonly concurrency: number;
  /** From the first request to the last answer. */
  readonly seconds: number;
  /** Messages committed per second. */
  readonly perSecond: number;
  /** With `--wait`: from the first request until the consumer applied the last message. */
  readonly applied?: { readonly seconds: number; readonly perSecond: number };
}

const round = (value: number, digits = 1) => Math.round(value * 10 ** digits) / 10 ** digits;

/** `ops load`: drives orders and notes through the deployed API (the bench's traffic driver), and times it. */
export async function load(c: Connection, options: LoadOptions, progress?: Progress): Promise<LoadReport> {
  if (c.outputs.ApiUrl === '') {
    throw new OpsError("load drives the reference application's orders API: the stack has no ApiUrl output");
  }
  const traffic = await driveTraffic(
    c.api,
    {
      keys: options.keys,
      messages: options.messages,
      concurrency: options.concurrency,
      prefix: options.prefix,
    },
    progress?.bar('sending', options.messages),
  );
  const seconds = Math.max(0.001, (traffic.finishedAt - traffic.startedAt) / 1000);
  const report: LoadReport = {
    runPrefix: traffic.runPrefix,
    keys: traffic.keys.length,
    messages: traffic.messages,
    orders: traffic.keys.length,
    notes: traffic.messages - traffic.keys.length,
    concurrency: options.concurrency,
    seconds: round(seconds),
    perSecond: round(traffic.messages / seconds),
  };
  if (!options.wait) return report;
  const appliedAt = await waitApplied(
    c,
    traffic,
    options.timeoutSeconds * 1000,
    progress?.bar('applied keys', traffic.keys.length),
  );
  const total = Math.max(0.001, (appliedAt - traffic.startedAt) / 1000);
  return { ...report, applied: { seconds: round(total), perSecond: round(traffic.messages / total) } };
}

export function renderLoad(report: LoadReport): string {
  return renderPairs([
    ['keys (orders)', `${report.keys}, ids ${report.runPrefix}0…${report.runPrefix}${report.keys - 1}`],
    ['messages sent', `${report.messages} (${report.orders} OrderPlaced, ${report.notes} OrderNoteAdded)`],
    ['concurrency', report.concurrency],
    ['committed in', `${report.seconds} s — ${report.perSecond} messages/s`],
    ...(report.applied === undefined
      ? ([
          ['applied', `not waited for (check: npm run ops -- reconcile --prefix ${report.runPrefix})`],
        ] as const)
      : ([
          [
            'applied in',
            `${report.applied.seconds} s from the first request — ${report.applied.perSecond} messages/s`,
          ],
        ] as const)),
  ]);
}
