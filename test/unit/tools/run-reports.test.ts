import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { usdPerMillion } from '../../../bench/measure/cost-model';
import { loadReports, plotsOf, ReportFileError, readReportFile } from '../../../scripts/console/run-reports';

const UNITS = {
  writeUnits: 4,
  readUnits: 0.5,
  sqsRequests: 0.3,
  lambdaInvocations: 0.2,
  lambdaGbSeconds: 0.0001,
  apiRequests: 1,
};

const BENCH = {
  messages: 200,
  keys: 10,
  throughputPerSecond: 42.5,
  latencyMs: { p50: 180, p95: 900, p99: 1400 },
  latencyHistogramMs: [
    { fromMs: 0, toMs: 50, count: 3 },
    { fromMs: 50, toMs: 100, count: 7 },
  ],
  byComponent: { producer: UNITS, relay: { ...UNITS, apiRequests: 0 } },
  referenceByComponent: { producer: UNITS },
  naiveUsdPerMillion: 12,
  floorUsdPerMillion: 4,
  pricesAsOf: '2026-06',
};

const CHAOS = {
  committed: 300,
  delivered: 299,
  lost: 0,
  duplicateEffects: 0,
  duplicateCommits: 0,
  orderViolations: 0,
  nonTerminal: 0,
  alerts: 1,
  failed: 1,
  deadLettered: 0,
  parkedKeys: 0,
  keys: 20,
  requestRetries: 3,
  seconds: 61,
};

describe('the plots of bench and chaos reports', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'console-reports-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('prices a bench report by component with the cost model, and keeps its latency histogram', () => {
    const plots = plotsOf(BENCH, 'bench.json');
    expect(plots).toEqual({
      bench: expect.objectContaining({
        latencyMs: BENCH.latencyMs,
        latencyHistogramMs: BENCH.latencyHistogramMs,
        costByComponent: [
          {
            pipeline: 'lean pipeline',
            components: [
              { component: 'producer', usdPerMillion: usdPerMillion(UNITS) },
              { component: 'relay', usdPerMillion: usdPerMillion({ ...UNITS, apiRequests: 0 }) },
            ],
          },
          {
            pipeline: 'reference application',
            components: [{ component: 'producer', usdPerMillion: usdPerMillion(UNITS) }],
          },
        ],
      }),
    });
  });

  it('plots a bench report written before the histogram by its percentiles (empty histogram)', () => {
    const { latencyHistogramMs: _, ...older } = BENCH;
    expect(plotsOf(older, 'old.json')).toEqual({
      bench: expect.objectContaining({ latencyHistogramMs: [] }),
    });
  });

  it("lists a chaos report's outcomes, and recognizes neither kind in other JSON", () => {
    expect(plotsOf(CHAOS, 'chaos.json')).toEqual({
      chaos: expect.objectContaining({
        committed: 300,
        outcomes: expect.arrayContaining([
          { label: 'delivered', count: 299 },
          { label: 'lost', count: 0 },
        ]),
      }),
    });
    expect(plotsOf({ ApiUrl: 'x' }, 'outputs.json')).toBeUndefined();
  });

  it('reads a report saved with npm run (a header before the JSON line)', () => {
    const file = path.join(dir, 'bench.json');
    writeFileSync(
      file,
      `\n> reliable-messaging-serverless@0.1.0 bench\n> tsx scripts/bench.ts --json\n\n${JSON.stringify(BENCH)}\n`,
    );
    expect(readReportFile(file)).toEqual({ bench: expect.objectContaining({ messages: 200 }) });
  });

  it('fails with ReportFileError for a --report that is missing or not a report', () => {
    expect(() => readReportFile(path.join(dir, 'none.json'))).toThrow(ReportFileError);
    const other = path.join(dir, 'outputs.json');
    writeFileSync(other, JSON.stringify({ ApiUrl: 'x' }));
    expect(() => readReportFile(other)).toThrow(/neither a bench nor a chaos report/);
  });

  it('finds the newest bench and chaos reports under a folder, passing over other files', () => {
    // GIVEN an old and a new bench report, a chaos report, the outputs and a file that is not JSON
    const write = (name: string, json: unknown, ageSeconds: number) => {
      const file = path.join(dir, name);
      writeFileSync(file, typeof json === 'string' ? json : JSON.stringify(json));
      const at = new Date(Date.now() - ageSeconds * 1000);
      utimesSync(file, at, at);
    };
    write('bench-old.json', { ...BENCH, messages: 100 }, 600);
    write('bench.json', BENCH, 60);
    write('chaos.json', CHAOS, 300);
    write('outputs.json', { ApiUrl: 'x' }, 10);
    write('broken.json', '{', 5);

    // WHEN loaded with no --report
    const plots = loadReports([], dir);

    // THEN the newest of each kind
    expect(plots.bench).toMatchObject({ messages: 200, source: path.join(dir, 'bench.json') });
    expect(plots.chaos).toMatchObject({ committed: 300 });
    expect(loadReports([], path.join(dir, 'missing'))).toEqual({ bench: null, chaos: null });
  });
});
