import type { UnitLedger } from 'reliable-messaging-serverless/runtime';

/** One API's share of a component's time: how often it was called and how long its answers took. */
export interface CallTiming {
  readonly calls: number;
  /** calls ÷ messages. */
  readonly callsPerMessage: number;
  /** Milliseconds waited for its answers, summed (calls of one batch overlap: they may add up to more than it). */
  readonly totalMs: number;
  readonly msPerCall: number;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * Where a component's batches spend their time, per API (`dynamodb:UpdateItem`, `sqs:SendMessageBatch`…): from
 * the sum of its unit-accounting ledgers (`addLedgers`), which count each API's requests and the milliseconds its
 * answers took. An API of a ledger without timings (an older build) has 0 ms. Sorted by total time, longest first.
 */
export function callBreakdown(ledger: UnitLedger, messages: number): Record<string, CallTiming> {
  if (!Number.isInteger(messages) || messages < 1) {
    throw new RangeError(`callBreakdown needs the messages the ledger is for (≥ 1); got ${messages}`);
  }
  const rows = Object.entries(ledger.requests).map(([api, calls]) => {
    const totalMs = ledger.requestMs?.[api] ?? 0;
    return [
      api,
      {
        calls,
        callsPerMessage: round(calls / messages),
        totalMs: round(totalMs),
        msPerCall: calls === 0 ? 0 : round(totalMs / calls),
      },
    ] as const;
  });
  rows.sort(([a, x], [b, y]) => y.totalMs - x.totalMs || a.localeCompare(b));
  return Object.fromEntries(rows);
}
