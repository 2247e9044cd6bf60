import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { type UnitsPerMessage, usdPerMillion } from '../../bench/measure/cost-model';
import type { LatencyBucket } from '../../bench/measure/latency-histogram';
import type { BenchReport } from '../../bench/measure/run-bench';

// The plots' data: a bench or chaos `--json` report (`npm run -s bench -- --json > .local/bench.json`), given with
// `--report FILE` or found under `.local/`. Read again at each request, so a run that ends later shows up.

const units = z.object({
  writeUnits: z.number(),
  readUnits: z.number(),
  sqsRequests: z.number(),
  lambdaInvocations: z.number(),
  lambdaGbSeconds: z.number(),
  apiRequests: z.number(),
});

const benchReport = z.object({
  messages: z.number(),
  keys: z.number(),
  throughputPerSecond: z.number(),
  latencyMs: z.object({ p50: z.number(), p95: z.number(), p99: z.number() }),
  latencyHistogramMs: z
    .array(z.object({ fromMs: z.number(), toMs: z.number().nullable(), count: z.number() }))
    .optional(),
  byComponent: z.record(z.string(), units),
  referenceByComponent: z.record(z.string(), units).optional(),
  naiveUsdPerMillion: z.number().optional(),
  floorUsdPerMillion: z.number().optional(),
});

const chaosReport = z.object({
  committed: z.number(),
  delivered: z.number(),
  lost: z.number(),
  duplicateEffects: z.number(),
  duplicateCommits: z.number(),
  orderViolations: z.number(),
  nonTerminal: z.number(),
  failed: z.number(),
  deadLettered: z.number(),
  parkedKeys: z.number(),
  alerts: z.number(),
  keys: z.number(),
  seconds: z.number(),
});

export interface CostBar {
  readonly component: string;
  /** US dollars per million messages this component costs (the bench's price list). */
  readonly usdPerMillion: number;
}

/** What the bench report says of the run itself, as the bench writes it. */
type BenchRun = Pick<BenchReport, 'messages' | 'keys' | 'throughputPerSecond' | 'latencyMs'>;

export interface BenchPlots extends BenchRun {
  readonly source: string;
  /** Empty for a report written before the bench recorded its histogram: the page then plots the percentiles. */
  readonly latencyHistogramMs: readonly LatencyBucket[];
  /** Cost per message by component, per pipeline the bench measured. */
  readonly costByComponent: ReadonlyArray<{
    readonly pipeline: string;
    readonly components: readonly CostBar[];
  }>;
  readonly naiveUsdPerMillion: number | null;
  readonly floorUsdPerMillion: number | null;
}

export interface ChaosPlots {
  readonly source: string;
  readonly committed: number;
  readonly keys: number;
  readonly seconds: number;
  /** Where each committed message ended, and what went wrong (all zero in a healthy run). */
  readonly outcomes: ReadonlyArray<{ readonly label: string; readonly count: number }>;
}

export interface ReportPlots {
  readonly bench: BenchPlots | null;
  readonly chaos: ChaosPlots | null;
}

/** A `--report` file that is not a bench or chaos report. */
export class ReportFileError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReportFileError';
  }
}

/** The JSON object in a report file: the whole text, or its last line that is one (npm may print a header first). */
function parseReportText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    const line = text
      .split('\n')
      .map((l) => l.trim())
      .reverse()
      .find((l) => l.startsWith('{'));
    return line === undefined ? undefined : JSON.parse(line);
  }
}

const costBars = (byComponent: Readonly<Record<string, UnitsPerMessage>>): CostBar[] =>
  Object.entries(byComponent).map(([component, perMessage]) => ({
    component,
    usdPerMillion: usdPerMillion(perMessage),
  }));

/** The plots of one report's JSON, or undefined when it is neither a bench nor a chaos report. */
export function plotsOf(
  json: unknown,
  source: string,
): { bench: BenchPlots } | { chaos: ChaosPlots } | undefined {
  const bench = benchReport.safeParse(json);
  if (bench.success) {
    const r = bench.data;
    return {
      bench: {
        source,
        messages: r.messages,
        keys: r.keys,
        throughputPerSecond: r.throughputPerSecond,
        latencyMs: r.latencyMs,
        latencyHistogramMs: r.latencyHistogramMs ?? [],
        costByComponent: [
          { pipeline: 'lean pipeline', components: costBars(r.byComponent) },
          ...(r.referenceByComponent === undefined
            ? []
            : [{ pipeline: 'reference application', components: costBars(r.referenceByComponent) }]),
        ],
        naiveUsdPerMillion: r.naiveUsdPerMillion ?? null,
        floorUsdPerMillion: r.floorUsdPerMillion ?? null,
      },
    };
  }
  const chaos = chaosReport.safeParse(json);
  if (chaos.success) {
    const r = chaos.data;
    return {
      chaos: {
        source,
        committed: r.committed,
        keys: r.keys,
        seconds: r.seconds,
        outcomes: [
          { label: 'delivered', count: r.delivered },
          { label: 'FAILED (kept, alerted)', count: r.failed },
          { label: 'non-terminal', count: r.nonTerminal },
          { label: 'lost', count: r.lost },
          { label: 'duplicate effects', count: r.duplicateEffects },
          { label: 'duplicate commits', count: r.duplicateCommits },
          { label: 'order violations', count: r.orderViolations },
          { label: 'dead-lettered', count: r.deadLettered },
          { label: 'parked keys', count: r.parkedKeys },
          { label: 'alerts', count: r.alerts },
        ],
      },
    };
  }
  return undefined;
}

/** Reads a report named with `--report`; throws ReportFileError when it cannot be read or is not a report. */
export function readReportFile(file: string): { bench: BenchPlots } | { chaos: ChaosPlots } {
  let json: unknown;
  try {
    json = parseReportText(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new ReportFileError(
      `cannot read the report ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const plots = plotsOf(json, file);
  if (plots === undefined) {
    throw new ReportFileError(
      `${file} is neither a bench nor a chaos report (write one with \`npm run -s bench -- --json > ${file}\`)`,
    );
  }
  return plots;
}

/**
 * The plots to show: the `--report` files given (the last of each kind wins), else the newest bench and chaos
 * reports among the `.json` files directly under `searchDir` (files that are not reports are passed over).
 */
export function loadReports(files: readonly string[], searchDir: string): ReportPlots {
  let bench: BenchPlots | null = null;
  let chaos: ChaosPlots | null = null;
  if (files.length > 0) {
    for (const file of files) {
      const plots = readReportFile(file);
      if ('bench' in plots) bench = plots.bench;
      else chaos = plots.chaos;
    }
    return { bench, chaos };
  }
  let names: string[];
  try {
    names = readdirSync(searchDir).filter((name) => name.endsWith('.json'));
  } catch {
    return { bench, chaos };
  }
  const newestFirst = names
    .map((name) => path.join(searchDir, name))
    .map((file) => ({ file, modified: statSync(file).mtimeMs }))
    .sort((a, b) => b.modified - a.modified);
  for (const { file } of newestFirst) {
    let plots: ReturnType<typeof plotsOf>;
    try {
      plots = plotsOf(parseReportText(readFileSync(file, 'utf8')), file);
    } catch {
      continue; // not JSON: not a report
    }
    if (plots !== undefined && 'bench' in plots) bench ??= plots.bench;
    if (plots !== undefined && 'chaos' in plots) chaos ??= plots.chaos;
  }
  return { bench, chaos };
}
