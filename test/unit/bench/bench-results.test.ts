import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { benchMarkdown } from '../../../bench/measure/results';
import type { BenchReport } from '../../../bench/measure/run-bench';
import { chaosMarkdown } from '../../../scripts/chaos/chaos-results';
import type { ChaosReport } from '../../../scripts/chaos/chaos-run';
import { resultsDate, writeResults } from '../../../tools/results-files';

const spread = (median: number, min: number, max: number) => ({ median, min, max, rounds: 3 });

/** The figures of a bench report that its markdown summary shows (the rest of the report is not read). */
const benchReport = {
  messages: 2000,
  keys: 50,
  pricesAsOf: '2026-01-01',
  throughputPerSecond: 40.5,
  rawApiPerSecond: 120.25,
  rawConsumerPerSecond: 170,
  rawConsumerRounds: spread(170, 160, 181),
  ceilingPerSecond: 120.25,
  ceilingBoundBy: 'api',
  leanThroughputPerSecond: 90,
  leanRounds: spread(90, 80, 95),
  leanCeilingRatio: 0.748,
  leanCeilingRatioRounds: spread(0.75, 0.66, 0.79),
  referenceCeilingRatio: 0.337,
  latencyMs: { p50: 300, p95: 900, p99: 1200 },
  unitsPerMessage: 4.1,
  floorUnitsPerMessage: 4,
  referenceUnitsPerMessage: 12.5,
  naiveUnitsPerMessage: 6,
  usdPerMillion: 3.21,
  floorUsdPerMillion: 3.1,
  referenceUsdPerMillion: 9.87,
  naiveUsdPerMillion: 7.5,
  sweepReadRatio: 1.05,
  hotKeyDrainSeconds: 33.3,
  recovery: {
    hotKeyMessages: 10000,
    relayRounds: spread(180, 150, 200),
    sweepRounds: spread(110, 70, 130),
    ratioRounds: spread(0.61, 0.46, 0.72),
  },
  leanProfile: {
    commitSeconds: 7.1,
    runSeconds: 19.5,
    consumerBatches: 201,
    recordsPerBatch: 9.95,
    groupsPerBatch: 4.2,
    consumerMsPerBatch: 54,
    consumerCalls: {
      'dynamodb:UpdateItem': { calls: 2000, callsPerMessage: 1, totalMs: 103396, msPerCall: 51.7 },
    },
    relayInvocations: 34,
    messagesPerRelayInvocation: 58.8,
    relayMsPerInvocation: 300,
    relayCalls: {
      'sqs:SendMessageBatch': { calls: 220, callsPerMessage: 0.11, totalMs: 9491.9, msPerCall: 43.1 },
    },
  },
  consumerCalls: {
    projection: {
      'dynamodb:TransactWriteItems': { calls: 2000, callsPerMessage: 1, totalMs: 30000, msPerCall: 15 },
    },
    audit: { 'dynamodb:UpdateItem': { calls: 2000, callsPerMessage: 1, totalMs: 8000, msPerCall: 4 } },
  },
} as unknown as BenchReport;

const chaosReport = {
  committed: 1000,
  delivered: 1000,
  lost: 0,
  inFlight: 0,
  duplicateEffects: 0,
  duplicateCommits: 2,
  orderViolations: 0,
  nonTerminal: 0,
  parkedKeys: 0,
  failed: 1,
  deadLettered: 0,
  alerts: 1,
  keys: 20,
  seconds: 321,
  groups: {
    projection: {
      delivered: 1000,
      lost: 0,
      duplicateEffects: 0,
      orderViolations: 0,
      parkedKeys: 0,
      deadLettered: 0,
    },
    audit: {
      delivered: 999,
      lost: 0,
      duplicateEffects: 0,
      orderViolations: 0,
      parkedKeys: 1,
      deadLettered: 0,
    },
  },
} as unknown as ChaosReport;

describe("the bench report's markdown summary", () => {
  it('shows each pipeline against min(raw API, raw consumer), with the rounds’ spread', () => {
    // WHEN
    const markdown = benchMarkdown(benchReport, '2026-12-07');
    // THEN
    expect(markdown).toContain('# Bench 2026-12-07');
    expect(markdown).toContain('| raw API (trivial function behind the gateway) | 120.3 |  |');
    expect(markdown).toContain(
      '| raw consumer (trivial function on a FIFO queue), median | 170.0 (160.0–181.0, 3 rounds) |  |',
    );
    expect(markdown).toContain('| ceiling = min(raw API, raw consumer): api | 120.3 | 1.00 |');
    expect(markdown).toContain(
      '| lean pipeline (commit → relay → queue → applied), median | 90.0 (80.0–95.0, 3 rounds) | 0.75 (rounds 0.66–0.79; target ≥ 0.60) |',
    );
    expect(markdown).toContain('| reference application (through the API) | 40.5 | 0.34 |');
  });

  it('shows the recovery rounds’ medians and spreads of the relay, the sweep and their ratio', () => {
    // WHEN
    const markdown = benchMarkdown(benchReport, '2026-12-07');
    // THEN
    expect(markdown).toContain('| relay, msg/s | 180.0 (150.0–200.0, 3 rounds) |');
    expect(markdown).toContain('| sweep, msg/s | 110.0 (70.0–130.0, 3 rounds) |');
    expect(markdown).toContain(
      '| recovery ratio (sweep ÷ relay; target ≥ 0.5) | 0.61 (0.46–0.72, 3 rounds) |',
    );
  });

  it("lists every consumer's calls per API, with calls per message and milliseconds per call", () => {
    // WHEN
    const markdown = benchMarkdown(benchReport, '2026-12-07');
    // THEN
    expect(markdown).toContain('| lean consumer | dynamodb:UpdateItem | 1.000 | 51.7 | 103.4 |');
    expect(markdown).toContain('| lean relay | sqs:SendMessageBatch | 0.110 | 43.1 | 9.5 |');
    expect(markdown).toContain('| projection consumer | dynamodb:TransactWriteItems | 1.000 | 15.0 | 30.0 |');
    expect(markdown).toContain('| audit consumer | dynamodb:UpdateItem | 1.000 | 4.0 | 8.0 |');
    expect(markdown).toContain('201 batches of 9.95 records over 4.2 keys');
  });

  it('is the same for the same report (a pure function of it)', () => {
    expect(benchMarkdown(benchReport, '2026-12-07')).toBe(benchMarkdown(benchReport, '2026-12-07'));
  });
});

describe("the chaos report's markdown summary", () => {
  it('shows the run’s figures and each group’s', () => {
    // WHEN
    const markdown = chaosMarkdown(chaosReport, '2026-12-07');
    // THEN
    expect(markdown).toContain('# Chaos 2026-12-07');
    expect(markdown).toContain('1000 messages over 20 keys');
    expect(markdown).toContain('| lost | 0 |');
    expect(markdown).toContain('| duplicate commits (retries) | 2 |');
    expect(markdown).toContain('| audit | 999 | 0 | 0 | 0 | 1 | 0 |');
  });
});

describe('filing a report', () => {
  let directory: string | undefined;
  afterEach(() => {
    if (directory !== undefined) rmSync(directory, { recursive: true, force: true });
  });

  it('files it under its date and as the latest, JSON and markdown', () => {
    // GIVEN
    directory = mkdtempSync(path.join(tmpdir(), 'bench-results-'));
    // WHEN
    writeResults('bench', { a: 1 }, '# md\n', '2026-12-07', directory);
    writeResults('chaos', { b: 2 }, '# chaos\n', '2026-12-07', directory);
    // THEN
    expect(readdirSync(directory).sort()).toEqual([
      'bench-2026-12-07.json',
      'bench-2026-12-07.md',
      'chaos-2026-12-07.json',
      'chaos-2026-12-07.md',
      'latest-chaos.json',
      'latest-chaos.md',
      'latest.json',
      'latest.md',
    ]);
    expect(JSON.parse(readFileSync(path.join(directory, 'latest.json'), 'utf8'))).toEqual({ a: 1 });
    expect(readFileSync(path.join(directory, 'latest-chaos.md'), 'utf8')).toBe('# chaos\n');
  });

  it('files by the UTC day of the run', () => {
    expect(resultsDate(new Date('2026-12-07T23:59:59.999Z'))).toBe('2026-12-07');
  });
});
