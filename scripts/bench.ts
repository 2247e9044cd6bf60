import path from 'node:path';
import { parseArgs } from 'node:util';
import { RECOVERY_AUDITS, type RecoveryAudit } from '../bench/measure/recovery';
import { benchMarkdown } from '../bench/measure/results';
import { runBench } from '../bench/measure/run-bench';
import { resultsDate, writeResults } from '../tools/results-files';
import { readOutputs } from '../tools/stack/outputs';
import { connect } from '../tools/stack/stack-control';

/**
 * `npm run bench -- --messages 2000 --keys 50 [--concurrency 16] [--raw 1000] [--rounds 3] [--ceiling-rounds 3]
 * [--recovery-audit auto|sweeper|bench] [--json] [--no-results]`: drives messages through the stack `npm start` left running and prints
 * throughput, API→effect latency, billable units per message by component against the design's floor, $ per
 * million messages, the cost per message with 1, 2 and 3 consumer groups (SNS FIFO fan-out), the emulator's raw FIFO rate, the safety net's read ratio and recovery rate (the median of
 * `--rounds` rounds, with their spread) and bundle sizes. The lean pipeline is measured `--ceiling-rounds` times,
 * each right after a trivial consumer on its own FIFO queue, and compared with min(raw API, raw consumer).
 * The report is filed in bench/results/ (bench-<date>.json and .md, latest.json and .md) unless `--no-results`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '2000' },
      keys: { type: 'string', default: '50' },
      concurrency: { type: 'string', default: '16' },
      raw: { type: 'string', default: '1000' },
      'drain-backlog': { type: 'string', default: '400' },
      'drain-concurrency': { type: 'string', default: '2,5,10' },
      'recovery-messages': { type: 'string', default: '2000' },
      'recovery-keys': { type: 'string', default: '20' },
      'hot-key': { type: 'string', default: '10000' },
      rounds: { type: 'string', default: '3' },
      'ceiling-rounds': { type: 'string', default: '3' },
      'no-results': { type: 'boolean', default: false },
      'recovery-audit': { type: 'string', default: 'auto' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: string, text: string): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1)
      throw new Error(`--${name} must be an integer ≥ 1; got ${text}`);
    return value;
  };
  const recoveryAudit = values['recovery-audit'];
  if (!RECOVERY_AUDITS.includes(recoveryAudit as RecoveryAudit))
    throw new Error(`--recovery-audit must be one of ${RECOVERY_AUDITS.join(', ')}; got ${recoveryAudit}`);
  const endpoint = (process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566').replace(/\/+$/, '');
  const report = await runBench(connect(readOutputs(), endpoint), {
    messages: number('messages', values.messages),
    keys: number('keys', values.keys),
    concurrency: number('concurrency', values.concurrency),
    rawMessages: number('raw', values.raw),
    drainBacklog: number('drain-backlog', values['drain-backlog']),
    drainConcurrency: values['drain-concurrency']
      .split(',')
      .filter((part) => part.trim() !== '')
      .map((part) => number('drain-concurrency', part.trim())),
    recoveryMessages: number('recovery-messages', values['recovery-messages']),
    recoveryKeys: number('recovery-keys', values['recovery-keys']),
    hotKeyMessages: number('hot-key', values['hot-key']),
    recoveryRounds: number('rounds', values.rounds),
    ceilingRounds: number('ceiling-rounds', values['ceiling-rounds']),
    recoveryAudit: recoveryAudit as RecoveryAudit,
    showProgress: !values.json,
  });
  if (!values['no-results']) {
    const date = resultsDate(new Date());
    const files = writeResults('bench', report, benchMarkdown(report, date), date);
    console.error(`report filed: ${files.map((file) => path.relative(process.cwd(), file)).join(', ')}`);
  }
  if (values.json) {
    console.log(JSON.stringify(report));
    return;
  }
  const f = (value: number, digits = 2) => value.toFixed(digits).padStart(9);
  console.log(
    `\nBenchmark: ${report.messages} messages over ${report.keys} keys (prices as of ${report.pricesAsOf})`,
  );
  console.log(`  throughput                 ${f(report.throughputPerSecond, 1)} msg/s`);
  console.log(
    `  emulator raw FIFO rate     ${f(report.rawEmulatorPerSecond, 1)} msg/s   (pipeline = ${(report.throughputRatio * 100).toFixed(1)}% of it)`,
  );
  console.log(
    `  API ceiling (trivial fn)   ${f(report.rawApiPerSecond, 1)} msg/s   (pipeline = ${(report.apiThroughputRatio * 100).toFixed(1)}% of it)`,
  );
  console.log(
    `  API → effect latency       p50 ${report.latencyMs.p50} ms, p95 ${report.latencyMs.p95} ms, p99 ${report.latencyMs.p99} ms`,
  );
  console.log(
    `  raw consumer (trivial fn)  ${f(report.rawConsumerPerSecond, 1)} msg/s   (min ${report.rawConsumerRounds.min}, max ${report.rawConsumerRounds.max})`,
  );
  console.log(
    `  ceiling                    ${f(report.ceilingPerSecond, 1)} msg/s   (min(raw API, raw consumer): the ${report.ceilingBoundBy}'s)`,
  );
  console.log(
    `  lean pipeline              ${f(report.leanThroughputPerSecond, 1)} msg/s   (commit → applied, no API; ` +
      `${(report.leanCeilingRatio * 100).toFixed(1)}% of the ceiling, rounds ${report.leanCeilingRatioRounds.min}–` +
      `${report.leanCeilingRatioRounds.max}; target ≥ 60%)`,
  );
  console.log(
    `  reference pipeline         ${(report.referenceCeilingRatio * 100).toFixed(1).padStart(9)} %       of the ceiling`,
  );
  console.log('\n  per message                 WRU       RRU   SQS req    Lambda     GB-ms       API');
  const row = (name: string, u: (typeof report)['measured']) =>
    console.log(
      `  ${name.padEnd(18)} ${f(u.writeUnits)} ${f(u.readUnits)} ${f(u.sqsRequests)} ${f(u.lambdaInvocations)} ${f(u.lambdaGbSeconds * 1000)} ${f(u.apiRequests)}`,
    );
  console.log("  lean pipeline (one effect on the key's cursor):");
  for (const [name, units] of Object.entries(report.byComponent)) row(`  ${name}`, units);
  row('total (measured)', report.measured);
  row('floor', report.floor);
  console.log('  reference application (three effects, three strategies, through the API):');
  for (const [name, units] of Object.entries(report.referenceByComponent)) row(`  ${name}`, units);
  row('total (reference)', report.reference);
  row('naive baseline', report.naive);
  console.log(
    '  (GB-ms: Lambda duration, billed ms × GB of memory, as the emulator reports it; the lean and naive producers are\n' +
      '   billed what the reference API function was billed per request.)',
  );
  const versus = (ratio: number) =>
    ratio >= 1 ? `${ratio}× cheaper than naive` : `${(1 / ratio).toFixed(2)}× as dear as naive`;
  console.log('\n                              units   $/million   vs floor   vs naive');
  const summary = (name: string, units: number, usd: number, naive = false) =>
    console.log(
      `  ${name.padEnd(26)} ${f(units, 1)} ${f(usd)} ${`${(units / report.floorUnitsPerMessage).toFixed(2)}×`.padStart(10)}   ${naive ? '—' : versus(Math.round((report.naiveUsdPerMillion / usd) * 100) / 100)}`,
    );
  summary('lean pipeline (measured)', report.unitsPerMessage, report.usdPerMillion);
  summary('floor of the design', report.floorUnitsPerMessage, report.floorUsdPerMillion);
  summary('reference application', report.referenceUnitsPerMessage, report.referenceUsdPerMillion);
  summary('naive baseline', report.naiveUnitsPerMessage, report.naiveUsdPerMillion, true);
  console.log(
    `\n  targets: ≤ 1.15× the floor: ${report.unitsOverFloor <= 1.15 ? 'met' : 'NOT met'} (${report.unitsOverFloor}×); ` +
      `≥ 2× cheaper than naive: ${report.cheaperThanNaive >= 2 ? 'met' : 'NOT met'} (${report.cheaperThanNaive}×; ` +
      `the floor itself is ${report.floorCheaperThanNaive}×, so no implementation of this design can reach 2×)`,
  );
  if (report.groupCosts.length > 0) {
    console.log(
      `\n  consumer groups (SNS FIFO fan-out; topic publish ${report.topicPublishRequestsPerMessage} requests/message, ` +
        `payload ${report.snsPayloadBytesAssumed} B assumed):`,
    );
    console.log('  groups      units   SQS req   SNS pub   SNS dlv   $/million   added by the last');
    for (const cost of report.groupCosts) {
      console.log(
        `  ${String(cost.groups).padEnd(6)} ${f(cost.unitsPerMessage)} ${f(cost.sqsRequestsPerMessage)} ` +
          `${f(cost.snsPublishRequestsPerMessage)} ${f(cost.snsDeliveriesPerMessage, 0)} ${f(cost.usdPerMillion, 4)} ${f(cost.addedUsdPerMillion, 4)}`,
      );
    }
    for (const [group, units] of Object.entries(report.groupUnits)) row(`  ${group} consumer`, units);
  }
  console.log(
    `\n  sweep cost: ${report.sweepCost.readUnitsUnsentOnly} RRU with ${report.sweepCost.unsent} unsent, ` +
      `${report.sweepCost.readUnitsWithDelivered} RRU after ${report.sweepCost.delivered} more delivered: ratio ${report.sweepCost.ratio}`,
  );
  const reads = report.sweepRead;
  console.log(
    `  sweep read ratio: a sweeper run (audit Scan + index sweep) reads ${reads.readUnitsWithHistory} RRU ` +
      `(${reads.withHistory.auditReadUnits} + ${reads.withHistory.indexReadUnits}) beside ${reads.delivered} delivered + ` +
      `${reads.resolvedHalfMessages} resolved half messages (in a table of their own) ÷ ${reads.readUnitsUnsentOnly} RRU ` +
      `(${reads.unsentOnly.auditReadUnits} + ${reads.unsentOnly.indexReadUnits}) with ${reads.unsent} unsent only = ` +
      `${report.sweepReadRatio} (target ≤ 1.2; ${reads.ratioIfHalfMessagesInOutbox} with the half messages in the outbox; ` +
      `a Scan would read ${reads.readUnitsOfAScan} RRU; in-memory table)`,
  );
  const recovery = report.recovery;
  console.log(
    `  recovery: the sweep alone (audit by the ${recovery.auditBy}) ${recovery.sweepPerSecond} msg/s vs the relay ` +
      `${recovery.relayPerSecond} msg/s (${recovery.messages} messages over ${recovery.keys} keys, medians of ` +
      `${recovery.rounds.length} rounds): ratio ${report.recoveryRatio} (min ${recovery.recoveryRatioMin}, ` +
      `max ${recovery.recoveryRatioMax}; target ≥ 0.5); relay ${recovery.relayRounds.min}–${recovery.relayRounds.max}, ` +
      `sweep ${recovery.sweepRounds.min}–${recovery.sweepRounds.max} msg/s`,
  );
  console.log(
    `  hot key: ${report.recovery.hotKeyMessages} unsent on one key drained by the sweep in ${report.hotKeyDrainSeconds} s ` +
      `(${report.recovery.hotKeySweeps} sweep runs)`,
  );
  for (const drained of report.drain) {
    console.log(
      `  backlog drain: ${drained.backlog} messages at maxConcurrency ${drained.maxConcurrency}: ${drained.seconds} s (${drained.perSecond} msg/s)`,
    );
  }
  console.log('\n  handler                  bundle   cold init');
  for (const [name, bytes] of Object.entries(report.bundleBytes)) {
    console.log(
      `  ${name.padEnd(22)} ${`${(bytes / 1024).toFixed(0)} KiB`.padStart(8)} ${`${report.coldInitMs[name]} ms`.padStart(11)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
