import path from 'node:path';
import { parseArgs } from 'node:util';
import { resultsDate, writeResults } from '../tools/results-files';
import { readOutputs } from '../tools/stack/outputs';
import { connect } from '../tools/stack/stack-control';
import { CONSUMER_GROUPS, type ConsumerGroupName } from './chaos/chaos-groups';
import { chaosHealthy } from './chaos/chaos-health';
import { chaosFigures, chaosMarkdown } from './chaos/chaos-results';
import { ALL_FAULTS, runChaos } from './chaos/chaos-run';

/**
 * `npm run chaos -- --messages 10000 --keys 100 [--concurrency 16] [--drain-timeout 1800] [--poison-group audit]
 * [--json] [--no-results]`: a reliability run against the TEST stack `npm start -- --faults` left running, with every fault of the
 * kit on at random, checked in every consumer group the stack has. With `--poison-group G`, one key of the run is
 * poisoned in group G only: it must end parked there and applied everywhere else. Progress goes to stderr; with
 * `--json`, stdout holds only the report, the fault rates it ran with among its fields (`"faults": {…}`) and each
 * group's figures (`"groups": {"projection": {…}, "audit": {…}, "shipping": {…}}`). The report is filed in
 * bench/results/ (chaos-<date>.json and .md, latest-chaos.json and .md) unless `--no-results`.
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '10000' },
      keys: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      'drain-timeout': { type: 'string', default: '1800' },
      'poison-group': { type: 'string' },
      json: { type: 'boolean', default: false },
      'no-results': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} must be an integer ≥ ${min}; got ${text}`);
    return value;
  };
  const poisonGroup = values['poison-group'];
  if (poisonGroup !== undefined && !CONSUMER_GROUPS.includes(poisonGroup as ConsumerGroupName)) {
    throw new Error(`--poison-group must be one of ${CONSUMER_GROUPS.join(', ')}; got ${poisonGroup}`);
  }
  const endpoint = (process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566').replace(/\/+$/, '');
  const report = await runChaos(connect(readOutputs(), endpoint), {
    messages: number('messages', values.messages, 1),
    keys: number('keys', values.keys, 1),
    concurrency: number('concurrency', values.concurrency, 1),
    drainTimeoutMs: number('drain-timeout', values['drain-timeout'], 1) * 1000,
    faults: ALL_FAULTS,
    ...(poisonGroup === undefined ? {} : { poisonGroup: poisonGroup as ConsumerGroupName }),
    showProgress: true,
  });
  const healthy = chaosHealthy(report);
  if (!values['no-results']) {
    const date = resultsDate(new Date());
    const files = writeResults('chaos', report, chaosMarkdown(report, date), date);
    console.error(`report filed: ${files.map((file) => path.relative(process.cwd(), file)).join(', ')}`);
  }
  if (values.json) {
    console.log(JSON.stringify(report));
    if (!healthy) process.exitCode = 1;
    return;
  }
  console.log(
    `\nReliability run: ${report.committed} messages over ${report.keys} keys, every fault on (${report.seconds} s)`,
  );
  console.log(`faults: ${JSON.stringify(report.faults)}`);
  if (report.poison !== undefined) {
    console.log(`poisoned: key ${report.poison.key} in group ${report.poison.group} only`);
  }
  for (const [name, value] of chaosFigures(report))
    console.log(`  ${name.padEnd(30)} ${String(value).padStart(8)}`);
  const names = CONSUMER_GROUPS.filter((name) => report.groups[name] !== undefined);
  console.log(`\n  ${'per group'.padEnd(30)} ${names.map((name) => name.padStart(11)).join('')}`);
  const figures: Array<[string, keyof NonNullable<(typeof report.groups)['projection']>]> = [
    ['delivered', 'delivered'],
    ['lost', 'lost'],
    ['in flight', 'inFlight'],
    ['duplicate effects', 'duplicateEffects'],
    ['order violations', 'orderViolations'],
    ['non-terminal', 'nonTerminal'],
    ['parked keys', 'parkedKeys'],
    ['FAILED, not delivered', 'failedUndelivered'],
    ['dead-lettered', 'deadLettered'],
  ];
  for (const [label, figure] of figures) {
    const cells = names.map((name) => String(report.groups[name]?.[figure] ?? '').padStart(11));
    console.log(`  ${label.padEnd(30)} ${cells.join('')}`);
  }
  console.log(
    healthy
      ? report.poison === undefined
        ? '\nOK: nothing lost, nothing applied twice, nothing out of order, no key parked, in every group.'
        : `\nOK: the poisoned key parked in ${report.poison.group} only; elsewhere nothing lost, twice or out of order.`
      : '\nPROBLEM: see the figures above.',
  );
  if (!healthy) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
