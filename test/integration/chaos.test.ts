import { beforeAll, describe, expect, it } from 'vitest';
import { ALL_FAULTS, runChaos } from '../../scripts/chaos/chaos-run';
import { type Stack, stack } from './support/aws';

describe('reliability run (npm run chaos) at a small size', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });

  it('300 messages over 15 keys with every fault on: none lost, none applied twice, none out of order, no key parked', async () => {
    // GIVEN every fault of the kit on at random — WHEN 300 messages are committed through the API
    const report = await runChaos(s, {
      messages: 300,
      keys: 15,
      concurrency: 8,
      faults: ALL_FAULTS,
      drainTimeoutMs: 180_000,
      showProgress: false,
    });
    console.log(`[figures] chaos: ${JSON.stringify(report)}`);

    // THEN every committed message is delivered, or FAILED and alerted
    expect(report.committed).toBe(300);
    expect(report.lost).toBe(0);
    expect(report.duplicateEffects).toBe(0);
    expect(report.duplicateCommits).toBe(0);
    expect(report.orderViolations).toBe(0);
    expect(report.nonTerminal).toBe(0);
    expect(report.parkedKeys).toBe(0);
    expect(report.delivered + report.failedUndelivered).toBe(report.committed);
    expect(report.alerts).toBe(report.failed);
  });
});
