import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { UnitLedger } from 'reliable-messaging-serverless/runtime';
import { addLedgers } from 'reliable-messaging-serverless/runtime/bench-support';
import { projectRoot } from '../../tools/paths';
import { ProgressBar } from '../../tools/progress';
import type { Connection } from '../../tools/stack/stack-control';
import { PRICES_AS_OF } from './aws-prices';
import { type CallTiming, callBreakdown } from './call-breakdown';
import { type CeilingBound, ceilingRatio } from './ceilings';
import { coldInitMs } from './cold-init';
import {
  capacityUnits,
  floorUnitsPerMessage,
  percentile,
  perMessage,
  sumUnits,
  type UnitsPerMessage,
  usdPerMillion,
} from './cost-model';
import { type DrainResult, measureDrain } from './drain';
import { functionBilledDuration, functionLogs, type LogRecord } from './function-logs';
import { type GroupCost, type GroupUnits, groupCosts, topicPublishRequests } from './group-costs';
import { type LatencyBucket, latencyHistogram } from './latency-histogram';
import { type LeanProfile, type LeanReport, runLeanPipeline } from './lean-pipeline';
import { runNaiveBaseline } from './naive-baseline';
import { rawApiRate } from './raw-api-rate';
import { rawConsumerRate } from './raw-consumer-rate';
import { rawFifoRate } from './raw-fifo-rate';
import { measureRecovery, type RecoveryAudit, type RecoveryReport } from './recovery';
import { type RoundsSummary, summarizeRounds } from './rounds';
import { measureSweepCost, type SweepCostReport } from './sweep-cost';
import { measureSweepReadRatio, type SweepReadRatio } from './sweep-read-ratio';
import { commitTraffic, waitApplied } from './traffic';

export interface BenchOptions {
  readonly messages: number;
  readonly keys: number;
  readonly concurrency: number;
  readonly rawMessages: number;
  /** Backlog size for the drain measurements, and the concurrency settings to drain it with (none: skipped). */
  readonly drainBacklog: number;
  readonly drainConcurrency: readonly number[];
  /** Messages and keys of the recovery measurement, and the hot key's backlog. */
  readonly recoveryMessages: number;
  readonly recoveryKeys: number;
  readonly hotKeyMessages: number;
  /** Rounds of the recovery measurement (`recoveryRatio` is their median), and who finds what the relay left. */
  readonly recoveryRounds: number;
  readonly recoveryAudit: RecoveryAudit;
  /**
   * Rounds of the lean pipeline, each right after the raw consumer probe (same messages, keys and batch size), so
   * the two are compared under the same load: their medians are reported, with their spread.
   */
  readonly ceilingRounds: number;
  readonly showProgress: boolean;
}

export interface BenchReport {
  readonly messages: number;
  readonly keys: number;
  readonly throughputPerSecond: number;
  readonly rawEmulatorPerSecond: number;
  /** Our pipeline's rate as a fraction of the emulator's raw FIFO rate. */
  readonly throughputRatio: number;
  /** A trivial function behind the same API gateway, same client concurrency: the ceiling of the API path. */
  readonly rawApiPerSecond: number;
  /** throughputPerSecond ÷ rawApiPerSecond. */
  readonly apiThroughputRatio: number;
  /**
   * A trivial consumer (it accepts every record) on a FIFO queue fed directly with SendMessageBatch, with the lean
   * consumer's batch size and as many messages and message groups as the lean pipeline's run: the ceiling of any
   * consumer on this machine (the emulator runs one batch at a time per event source mapping). The median of
   * `ceilingRounds` rounds.
   */
  readonly rawConsumerPerSecond: number;
  readonly rawConsumerRounds: RoundsSummary;
  /** min(rawApiPerSecond, rawConsumerPerSecond), and which of the two it is. */
  readonly ceilingPerSecond: number;
  readonly ceilingBoundBy: CeilingBound;
  /** leanThroughputPerSecond ÷ ceilingPerSecond (target ≥ 0.6), and the spread of the rounds' own ratios. */
  readonly leanCeilingRatio: number;
  readonly leanCeilingRatioRounds: RoundsSummary;
  /** throughputPerSecond (the reference application, through the API) ÷ ceilingPerSecond. */
  readonly referenceCeilingRatio: number;
  /**
   * Read units of a sweeper run (the audit's Scan + the index sweep) beside 100,000 delivered and 100,000 resolved
   * half messages (in a table of their own) ÷ with 10 unsent only.
   */
  readonly sweepReadRatio: number;
  readonly sweepRead: SweepReadRatio;
  /** The sweep's recovery rate ÷ the relay's normal rate, the median of `recovery.rounds` (target ≥ 0.5). */
  readonly recoveryRatio: number;
  /** Seconds the sweep takes to drain the hot key's backlog (`recovery.hotKeyMessages` on one key). */
  readonly hotKeyDrainSeconds: number;
  readonly recovery: RecoveryReport;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** API → effect latencies per bucket (what `npm run console` plots). */
  readonly latencyHistogramMs: readonly LatencyBucket[];
  /**
   * DynamoDB capacity units (reads + writes) per message, measured on the library in the configuration the floor
   * describes (the lean pipeline: one consumer effect, riding on the key's cursor).
   */
  readonly unitsPerMessage: number;
  readonly floorUnitsPerMessage: number;
  readonly unitsOverFloor: number;
  /** The lean pipeline per component, per message. */
  readonly byComponent: Readonly<Record<string, UnitsPerMessage>>;
  readonly measured: UnitsPerMessage;
  readonly floor: UnitsPerMessage;
  readonly usdPerMillion: number;
  readonly floorUsdPerMillion: number;
  /**
   * The lean pipeline's end-to-end rate: from its first commit (a transaction of the business item and the outbox
   * message) to every key's effect applied, through the relay, the FIFO queue and the consumer. The median of
   * `ceilingRounds` rounds.
   */
  readonly leanThroughputPerSecond: number;
  readonly leanRounds: RoundsSummary;
  /** Where the median round of the lean pipeline spent its time. */
  readonly leanProfile: LeanProfile;
  /**
   * Where the reference application's consumers (projection, audit, shipping) spend a batch's time, per API: calls
   * per message and milliseconds.
   */
  readonly consumerCalls: Readonly<Record<string, Readonly<Record<string, CallTiming>>>>;
  /**
   * The reference application through its API: three effects per message, each under its own idempotency strategy,
   * plus the cursor — what a richer consumer costs on top of the floor.
   */
  readonly referenceUnitsPerMessage: number;
  readonly referenceUsdPerMillion: number;
  readonly reference: UnitsPerMessage;
  readonly referenceByComponent: Readonly<Record<string, UnitsPerMessage>>;
  /** The naive design, measured in the same run (see naive-baseline.ts). */
  readonly naiveUnitsPerMessage: number;
  readonly naiveUsdPerMillion: number;
  readonly naive: UnitsPerMessage;
  /** How many times cheaper than the naive design, in $ (the lean pipeline). */
  readonly cheaperThanNaive: number;
  /** How many times cheaper than the naive design the floor itself is: no implementation of the design does better. */
  readonly floorCheaperThanNaive: number;
  readonly bundleBytes: Readonly<Record<string, number>>;
  /** Median time to load and initialise each handler's bundle in a fresh Node process on this machine. */
  readonly coldInitMs: Readonly<Record<string, number>>;
  readonly sweepCost: SweepCostReport;
  readonly drain: readonly DrainResult[];
  /**
   * The reference application's cost per message with its first 1, 2 and 3 consumer groups (projection, audit,
   * shipping, in that order): the shared path (producer, relay, sweeper), the SNS FIFO topic's publish, and per group
   * one SNS delivery plus its consumer's units. Empty for a stack that sends to one queue (no topic).
   */
  readonly groupCosts: readonly GroupCost[];
  /** Each group's consumer, per message (its DynamoDB units, its queue's requests, its invocations). */
  readonly groupUnits: Readonly<Record<string, UnitsPerMessage>>;
  /** The topic's publish requests per message (the relay's and the sweeper's SNS PublishBatch requests). */
  readonly topicPublishRequestsPerMessage: number;
  /** The payload size per message the SNS payload charges assume. */
  readonly snsPayloadBytesAssumed: number;
  readonly pricesAsOf: string;
}

/** The payload per message the SNS FIFO payload charges assume (a bench message's envelope is well below it). */
const SNS_PAYLOAD_BYTES_ASSUMED = 1024;

/** The ledgers a function logged (its `unit accounting` lines). */
const ledgersOf = (records: readonly LogRecord[]) =>
  records
    .map((record) => record.fields.unitAccounting as UnitLedger | undefined)
    .filter((ledger): ledger is UnitLedger => ledger !== undefined);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drives `messages` messages over `keys` keys through the deployed stack and measures what they cost and took. */
export async function runBench(c: Connection, options: BenchOptions): Promise<BenchReport> {
  const rawEmulatorPerSecond = await rawFifoRate(c, options.rawMessages);

  const perKey = Math.max(1, Math.floor(options.messages / options.keys));
  const windowStart = Date.now() - 1000;
  const traffic = await commitTraffic(
    c,
    options.keys,
    perKey,
    options.concurrency,
    new ProgressBar('committing', perKey * options.keys, options.showProgress),
  );
  const { keys, committedAt } = traffic;
  const total = perKey * keys.length;
  const firstCommit = Math.min(...committedAt.values());
  const allApplied = await waitApplied(
    c,
    traffic,
    600_000,
    new ProgressBar('applying  ', keys.length, options.showProgress),
  );
  await sleep(2000); // let the last log lines land

  // Latency: from the API's answer to the consumer's log line for the same message.
  const windowEnd = Date.now();
  const consumerLogs = await functionLogs(c, c.outputs.ConsumerFunctionName, windowStart, windowEnd);
  const latencies: number[] = [];
  for (const record of consumerLogs) {
    if (record.fields.message !== 'consumed' || record.fields.outcome !== 'APPLIED') continue;
    const at = committedAt.get(String(record.fields.messageId));
    if (at !== undefined) latencies.push(Math.max(0, record.timestamp - at));
  }

  // Units: every component's ledgers in the window.
  const components: Array<[string, string]> = [
    ['producer', c.outputs.ApiFunctionName],
    ['relay', c.outputs.RelayFunctionName],
    ['sweeper', c.outputs.SweeperFunctionName],
    ['consumer', c.outputs.ConsumerFunctionName],
  ];
  const byComponent: Record<string, UnitsPerMessage> = {};
  const ledgersByComponent: Record<string, UnitLedger[]> = {};
  // The lean and naive producers are this process standing for an API function: they are billed the duration the
  // reference API function was billed per request.
  let producerGbSecondsPerRequest = 0;
  for (const [component, functionName] of components) {
    const records =
      component === 'consumer' ? consumerLogs : await functionLogs(c, functionName, windowStart, windowEnd);
    const ledgers = ledgersOf(records);
    ledgersByComponent[component] = ledgers;
    const sum = addLedgers(component, ledgers);
    const invocations = ledgers.length;
    const billed = await functionBilledDuration(c, functionName, windowStart, windowEnd);
    if (component === 'producer' && billed.invocations > 0) {
      producerGbSecondsPerRequest = billed.gbSeconds / billed.invocations;
    }
    // The consumer's queue calls are the Lambda service's: one ReceiveMessage and one DeleteMessageBatch per batch.
    byComponent[component] = perMessage(sum, total, {
      invocations,
      gbSeconds: billed.gbSeconds,
      serviceSqsRequests: component === 'consumer' ? 2 * invocations : 0,
      apiRequests: component === 'producer' ? invocations : 0,
    });
  }
  const reference = sumUnits(Object.values(byComponent));

  // Fan-out: the same window's messages reached every group; each group's consumer logged its own ledgers.
  const groupUnits: Record<string, UnitsPerMessage> = {};
  const consumerCalls: Record<string, Record<string, CallTiming>> = {};
  if (byComponent.consumer !== undefined) groupUnits.projection = byComponent.consumer;
  consumerCalls.projection = callBreakdown(
    addLedgers('projection', ledgersByComponent.consumer ?? []),
    total,
  );
  const groupOutputs = c.outputs as typeof c.outputs & {
    readonly EventsTopicArn?: string;
    readonly AuditConsumerFunctionName?: string;
    readonly ShippingConsumerFunctionName?: string;
  };
  for (const [group, functionName] of [
    ['audit', groupOutputs.AuditConsumerFunctionName],
    ['shipping', groupOutputs.ShippingConsumerFunctionName],
  ] as const) {
    if (functionName === undefined) continue;
    const ledgers = ledgersOf(await functionLogs(c, functionName, windowStart, windowEnd));
    const billed = await functionBilledDuration(c, functionName, windowStart, windowEnd);
    consumerCalls[group] = callBreakdown(addLedgers(group, ledgers), total);
    groupUnits[group] = perMessage(addLedgers(group, ledgers), total, {
      invocations: ledgers.length,
      gbSeconds: billed.gbSeconds,
      serviceSqsRequests: 2 * ledgers.length,
    });
  }
  const publishRequests = topicPublishRequests(
    [...(ledgersByComponent.relay ?? []), ...(ledgersByComponent.sweeper ?? [])],
    total,
  );
  const shared = sumUnits(
    Object.entries(byComponent)
      .filter(([component]) => component !== 'consumer')
      .map(([, units]) => units),
  );
  const fanOutGroups: GroupUnits[] = Object.entries(groupUnits).map(([group, units]) => ({ group, units }));
  const costsByGroups =
    groupOutputs.EventsTopicArn === undefined
      ? []
      : groupCosts(shared, { publishRequests, payloadBytes: SNS_PAYLOAD_BYTES_ASSUMED }, fanOutGroups);
  const floor = floorUnitsPerMessage();
  // The lean pipeline, each round right after the raw consumer probe with the same messages and keys.
  const leanRuns: LeanReport[] = [];
  const rawConsumerRates: number[] = [];
  for (let round = 0; round < options.ceilingRounds; round++) {
    rawConsumerRates.push(await rawConsumerRate(c, total, options.keys, options.concurrency));
    leanRuns.push(
      await runLeanPipeline(c, total, options.keys, options.concurrency, producerGbSecondsPerRequest, {
        commit: new ProgressBar(`lean commit ${round + 1}`, total, options.showProgress),
        apply: new ProgressBar(`lean apply  ${round + 1}`, options.keys, options.showProgress),
      }),
    );
  }
  const leanRounds = summarizeRounds(leanRuns.map((run) => run.throughputPerSecond));
  const rawConsumerRounds = summarizeRounds(rawConsumerRates);
  // The round nearest the median stands for the lean pipeline's units and profile.
  const lean = leanRuns.reduce((best, run) =>
    Math.abs(run.throughputPerSecond - leanRounds.median) <
    Math.abs(best.throughputPerSecond - leanRounds.median)
      ? run
      : best,
  );
  const measured = lean.units;

  // The sweep's cost is O(unsent): compare a sweep over 20 unsent messages before and after 500 more delivered.
  const sweepCost = await measureSweepCost(c, 20, 500, async (count) => {
    const more = await commitTraffic(c, 10, Math.max(1, Math.floor(count / 10)), options.concurrency);
    await waitApplied(c, more);
  });
  const drain: DrainResult[] = [];
  for (const concurrency of options.drainConcurrency) {
    drain.push(await measureDrain(c, options.drainBacklog, 20, concurrency));
  }
  const rawApiPerSecond = await rawApiRate(c, Math.min(total, 2000), options.concurrency);
  const recovery = await measureRecovery(c, {
    messages: options.recoveryMessages,
    keys: options.recoveryKeys,
    hotKeyMessages: options.hotKeyMessages,
    rounds: options.recoveryRounds,
    audit: options.recoveryAudit,
  });
  const sweepRead = await measureSweepReadRatio();
  const naive = await runNaiveBaseline(c, Math.min(500, total), options.keys, producerGbSecondsPerRequest);
  const bundles = bundleFiles();
  const throughput = total / ((allApplied - firstCommit) / 1000);
  const leanCeiling = ceilingRatio(leanRounds.median, rawApiPerSecond, rawConsumerRounds.median);
  const referenceCeiling = ceilingRatio(throughput, rawApiPerSecond, rawConsumerRounds.median);
  const leanCeilingRatioRounds = summarizeRounds(
    leanRuns.map(
      (run, i) => ceilingRatio(run.throughputPerSecond, rawApiPerSecond, rawConsumerRates[i]!).ratio,
    ),
  );
  const rounded = (summary: RoundsSummary): RoundsSummary => ({
    median: round(summary.median),
    min: round(summary.min),
    max: round(summary.max),
    rounds: summary.rounds,
  });
  return {
    messages: total,
    keys: keys.length,
    throughputPerSecond: round(throughput),
    rawEmulatorPerSecond: round(rawEmulatorPerSecond),
    throughputRatio: round(throughput / rawEmulatorPerSecond),
    rawApiPerSecond: round(rawApiPerSecond),
    apiThroughputRatio: round(throughput / rawApiPerSecond),
    rawConsumerPerSecond: round(rawConsumerRounds.median),
    rawConsumerRounds: rounded(rawConsumerRounds),
    ceilingPerSecond: leanCeiling.ceilingPerSecond,
    ceilingBoundBy: leanCeiling.boundBy,
    leanCeilingRatio: leanCeiling.ratio,
    leanCeilingRatioRounds: rounded(leanCeilingRatioRounds),
    referenceCeilingRatio: referenceCeiling.ratio,
    sweepReadRatio: sweepRead.ratio,
    sweepRead,
    recoveryRatio: recovery.recoveryRatio,
    hotKeyDrainSeconds: recovery.hotKeyDrainSeconds,
    recovery,
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    },
    latencyHistogramMs: latencyHistogram(latencies),
    unitsPerMessage: round(capacityUnits(measured)),
    floorUnitsPerMessage: round(capacityUnits(floor)),
    unitsOverFloor: round(capacityUnits(measured) / capacityUnits(floor)),
    byComponent: lean.byComponent,
    measured,
    floor,
    usdPerMillion: usdPerMillion(measured),
    floorUsdPerMillion: usdPerMillion(floor),
    leanThroughputPerSecond: round(leanRounds.median),
    leanRounds: rounded(leanRounds),
    leanProfile: lean.profile,
    consumerCalls,
    referenceUnitsPerMessage: round(capacityUnits(reference)),
    referenceUsdPerMillion: usdPerMillion(reference),
    reference,
    referenceByComponent: byComponent,
    naiveUnitsPerMessage: round(capacityUnits(naive.units)),
    naiveUsdPerMillion: usdPerMillion(naive.units),
    naive: naive.units,
    cheaperThanNaive: round(usdPerMillion(naive.units) / usdPerMillion(measured)),
    floorCheaperThanNaive: round(usdPerMillion(naive.units) / usdPerMillion(floor)),
    bundleBytes: Object.fromEntries(
      Object.entries(bundles).map(([name, file]) => [name, statSync(file).size]),
    ),
    coldInitMs: Object.fromEntries(Object.entries(bundles).map(([name, file]) => [name, coldInitMs(file)])),
    sweepCost,
    drain,
    groupCosts: costsByGroups,
    groupUnits,
    topicPublishRequestsPerMessage: round(publishRequests),
    snsPayloadBytesAssumed: SNS_PAYLOAD_BYTES_ASSUMED,
    pricesAsOf: PRICES_AS_OF,
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/** Each handler's bundle in the emulator cloud assembly (`npm start` synthesizes it). */
function bundleFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const handlers: Record<string, string> = {
    'orders-api': 'OrdersApi',
    relay: 'RelayHandler',
    sweeper: 'SweeperHandler',
    consumer: 'OrdersConsumer',
    'check-back': 'CheckBackHandler',
    'payment-checker': 'PaymentChecker',
    'inbox-monitor': 'ConsumerMonitor',
    'lean-consumer (bench)': 'LeanBenchPipelineConsumer',
  };
  const assembly = path.join(projectRoot, 'cdk.out.emulator');
  const templateFile = path.join(assembly, 'ReliableMessagingDemo.template.json');
  if (!existsSync(templateFile)) return files;
  const template = JSON.parse(readFileSync(templateFile, 'utf8')) as {
    Resources: Record<string, { Type: string; Metadata?: Record<string, string> }>;
  };
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Lambda::Function') continue;
    const asset = resource.Metadata?.['aws:asset:path'];
    const name = Object.entries(handlers).find(([, prefix]) => logicalId.startsWith(prefix))?.[0];
    if (asset !== undefined && name !== undefined) files[name] = path.join(assembly, asset, 'index.js');
  }
  return files;
}
