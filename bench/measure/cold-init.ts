import { spawnSync } from 'node:child_process';

/** Environment every handler reads at start-up; values are placeholders (nothing is called at init). */
const PLACEHOLDER_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/000000000000/q.fifo',
  OUTBOX_TABLE_NAME: 'outbox',
  ORDERS_TABLE_NAME: 'orders',
  PROJECTION_TABLE_NAME: 'projection',
  VIEW_TABLE_NAME: 'view',
  PAYMENTS_TABLE_NAME: 'payments',
  INBOX_TABLE_NAME: 'inbox',
  INBOX_RETENTION_SECONDS: '1296000',
  INBOX_CLAIM_SECONDS: '60',
  IDEMPOTENCY_STRATEGIES: '{"default":"transaction","effects":{}}',
  PARK_AFTER_FAILURES: '3',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:000000000000:alerts',
  CHECKER_FUNCTION_NAME: 'checker',
  CHECK_INTERVAL_SECONDS: '30',
  MAX_CHECKS: '15',
};

/**
 * Cold init of a bundle on this machine: the median time, over `runs` fresh Node processes, to load and initialise
 * the handler module (what a Lambda cold start spends in "Init" after the runtime itself is up).
 */
export function coldInitMs(bundlePath: string, runs = 5): number {
  const times: number[] = [];
  for (let run = 0; run < runs; run++) {
    const result = spawnSync(
      process.execPath,
      [
        '-e',
        `const t = process.hrtime.bigint(); require(${JSON.stringify(bundlePath)}); process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));`,
      ],
      { env: { ...process.env, ...PLACEHOLDER_ENV, NODE_NO_WARNINGS: '1' }, encoding: 'utf8' },
    );
    const value = Number(result.stdout);
    if (result.status === 0 && Number.isFinite(value)) times.push(value);
  }
  times.sort((a, b) => a - b);
  return times.length === 0 ? Number.NaN : Math.round(times[Math.floor(times.length / 2)]! * 10) / 10;
}
