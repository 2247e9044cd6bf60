import { parseArgs } from 'node:util';
import { runBench } from './bench/run-bench';
import { readOutputs } from './local/deploy';
import { connect } from './local/stack-control';

/**
 * `npm run bench -- --messages 2000 --keys 50 [--concurrency 16] [--raw 1000] [--json]`: drives messages through the
 * stack `npm start` left running and prints throughput, API→effect latency, billable units per message by
 * component against the design's floor, $ per million messages, the emulator's raw FIFO rate and bundle sizes.
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
    showProgress: !values.json,
  });
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
    `  API → effect latency       p50 ${report.latencyMs.p50} ms, p95 ${report.latencyMs.p95} ms, p99 ${report.latencyMs.p99} ms`,
  );
  console.log('\n  per message                 WRU       RRU   SQS req    Lambda       API');
  const row = (name: string, u: (typeof report)['measured']) =>
    console.log(
      `  ${name.padEnd(18)} ${f(u.writeUnits)} ${f(u.readUnits)} ${f(u.sqsRequests)} ${f(u.lambdaInvocations)} ${f(u.apiRequests)}`,
    );
  for (const [name, units] of Object.entries(report.byComponent)) row(name, units);
  row('total (measured)', report.measured);
  row('floor', report.floor);
  console.log(
    `\n  DynamoDB units per message  ${report.unitsPerMessage} measured / ${report.floorUnitsPerMessage} floor = ${report.unitsOverFloor}×`,
  );
  console.log(
    `  $ per million messages      ${report.usdPerMillion.toFixed(2)} measured / ${report.floorUsdPerMillion.toFixed(2)} floor`,
  );
  row('naive baseline', report.naive);
  const versus =
    report.cheaperThanNaive >= 1
      ? `ours is ${report.cheaperThanNaive}× cheaper`
      : `ours costs ${(1 / report.cheaperThanNaive).toFixed(2)}× as much`;
  console.log(
    `  naive baseline              ${report.naiveUnitsPerMessage} units, $${report.naiveUsdPerMillion.toFixed(2)} per million: ${versus}`,
  );
  console.log(
    `\n  sweep cost: ${report.sweepCost.readUnitsUnsentOnly} RRU with ${report.sweepCost.unsent} unsent, ` +
      `${report.sweepCost.readUnitsWithDelivered} RRU after ${report.sweepCost.delivered} more delivered: ratio ${report.sweepCost.ratio}`,
  );
  for (const drained of report.drain) {
    console.log(
      `  backlog drain: ${drained.backlog} messages at maxConcurrency ${drained.maxConcurrency}: ${drained.seconds} s (${drained.perSecond} msg/s)`,
    );
  }
  console.log('\n  handler            bundle   cold init');
  for (const [name, bytes] of Object.entries(report.bundleBytes)) {
    console.log(
      `  ${name.padEnd(16)} ${`${(bytes / 1024).toFixed(0)} KiB`.padStart(8)} ${`${report.coldInitMs[name]} ms`.padStart(11)}`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
