import { parseArgs } from 'node:util';
import { ALL_FAULTS, runChaos } from './local/chaos-run';
import { readOutputs } from './local/deploy';
import { connect } from './local/stack-control';

/**
 * `npm run chaos -- --messages 10000 --keys 100 [--concurrency 16] [--drain-timeout 1800] [--json]`: a reliability
 * run against the TEST stack `npm start -- --faults` left running, with every fault of the kit on at random.
 * Progress goes to stderr; with `--json`, stdout holds only the report, the fault rates it ran with among its fields
 * (`"faults": {…}`).
 */
async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '10000' },
      keys: { type: 'string', default: '100' },
      concurrency: { type: 'string', default: '16' },
      'drain-timeout': { type: 'string', default: '1800' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const number = (name: string, text: string, min: number): number => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min)
      throw new Error(`--${name} must be an integer ≥ ${min}; got ${text}`);
    return value;
  };
  const endpoint = (process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566').replace(/\/+$/, '');
  const report = await runChaos(connect(readOutputs(), endpoint), {
    messages: number('messages', values.messages, 1),
    keys: number('keys', values.keys, 1),
    concurrency: number('concurrency', values.concurrency, 1),
    drainTimeoutMs: number('drain-timeout', values['drain-timeout'], 1) * 1000,
    faults: ALL_FAULTS,
    showProgress: true,
  });
  if (values.json) {
    console.log(JSON.stringify(report));
    return;
  }
  console.log(
    `\nReliability run: ${report.committed} messages over ${report.keys} keys, every fault on (${report.seconds} s)`,
  );
  console.log(`faults: ${JSON.stringify(report.faults)}`);
  const rows: Array<[string, number]> = [
    ['committed', report.committed],
    ['delivered', report.delivered],
    ['lost', report.lost],
    ['in flight (queue not empty)', report.inFlight],
    ['duplicate effects', report.duplicateEffects],
    ['duplicate commits (retries)', report.duplicateCommits],
    ['order violations', report.orderViolations],
    ['non-terminal', report.nonTerminal],
    ['parked keys', report.parkedKeys],
    ['FAILED (kept, alerted)', report.failed],
    ['  of which not delivered', report.failedUndelivered],
    ['alerts', report.alerts],
    ['dead-lettered', report.deadLettered],
    ['API retries (503/409/connection)', report.requestRetries],
  ];
  for (const [name, value] of rows) console.log(`  ${name.padEnd(30)} ${String(value).padStart(8)}`);
  const healthy =
    report.lost === 0 &&
    report.inFlight === 0 &&
    report.duplicateEffects === 0 &&
    report.duplicateCommits === 0 &&
    report.orderViolations === 0 &&
    report.nonTerminal === 0 &&
    report.parkedKeys === 0 &&
    // Every committed message delivered, or FAILED (kept for a retry) and alerted.
    report.delivered + report.failedUndelivered === report.committed &&
    report.alerts >= report.failed;
  console.log(
    healthy
      ? '\nOK: nothing lost, nothing applied twice, nothing out of order, no key parked.'
      : '\nPROBLEM: see the figures above.',
  );
  if (!healthy) process.exitCode = 1;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
