import { randomUUID } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { addLedgers, type UnitLedger } from '../../functions/runtime/accounting/unit-accounting';
import { projectRoot } from '../local/paths';
import { ProgressBar } from '../local/progress';
import type { Connection } from '../local/stack-control';
import { PRICES_AS_OF } from './aws-prices';
import {
  capacityUnits,
  floorUnitsPerMessage,
  percentile,
  type UnitsPerMessage,
  usdPerMillion,
} from './cost-model';
import { functionLogs } from './function-logs';
import { rawFifoRate } from './raw-fifo-rate';

export interface BenchOptions {
  readonly messages: number;
  readonly keys: number;
  readonly concurrency: number;
  readonly rawMessages: number;
  readonly showProgress: boolean;
}

export interface BenchReport {
  readonly messages: number;
  readonly keys: number;
  readonly throughputPerSecond: number;
  readonly rawEmulatorPerSecond: number;
  /** Our pipeline's rate as a fraction of the emulator's raw FIFO rate. */
  readonly throughputRatio: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** DynamoDB capacity units (reads + writes) per message, measured. */
  readonly unitsPerMessage: number;
  readonly floorUnitsPerMessage: number;
  readonly unitsOverFloor: number;
  /** Per component, per message. */
  readonly byComponent: Readonly<Record<string, UnitsPerMessage>>;
  readonly measured: UnitsPerMessage;
  readonly floor: UnitsPerMessage;
  readonly usdPerMillion: number;
  readonly floorUsdPerMillion: number;
  /** Not measured yet: the naive baseline is not built (see the README). */
  readonly naiveUnitsPerMessage: null;
  readonly naiveUsdPerMillion: null;
  readonly bundleBytes: Readonly<Record<string, number>>;
  readonly pricesAsOf: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Drives `messages` messages over `keys` keys through the deployed stack and measures what they cost and took. */
export async function runBench(c: Connection, options: BenchOptions): Promise<BenchReport> {
  const rawEmulatorPerSecond = await rawFifoRate(c, options.rawMessages);

  const run = randomUUID().slice(0, 8);
  const perKey = Math.max(1, Math.floor(options.messages / options.keys));
  const keys = Array.from({ length: options.keys }, (_, k) => `bench-${run}-${k}`);
  const total = perKey * keys.length;
  const committedAt = new Map<string, number>();
  const windowStart = Date.now() - 1000;
  const progress = new ProgressBar('committing', total, options.showProgress);

  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(options.concurrency, keys.length) }, async () => {
      while (next < keys.length) {
        const orderId = keys[next++]!;
        const placed = await c.api.placeOrder({
          customerId: 'bench',
          items: [{ sku: `${orderId}-sku`, quantity: 1 }],
          orderId,
        });
        if (placed.status !== 201) throw new Error(`POST /orders answered ${placed.status}`);
        committedAt.set(placed.body.messageId, Date.now());
        progress.update(committedAt.size);
        for (let n = 1; n < perKey; n++) {
          const added = await c.api.addNote(orderId, `note ${n}`);
          if (added.status !== 201) throw new Error(`POST notes answered ${added.status}`);
          committedAt.set(added.body.messageId, Date.now());
          progress.update(committedAt.size);
        }
      }
    }),
  );
  progress.finish();
  const firstCommit = Math.min(...committedAt.values());

  // Applied when every key's cursor is at its last sequence.
  const waiting = new ProgressBar('applying  ', keys.length, options.showProgress);
  const pending = new Set(keys);
  const deadline = Date.now() + 600_000;
  while (pending.size > 0) {
    for (const key of [...pending]) {
      const cursor = await c.dynamodb.send(
        new GetCommand({ TableName: c.outputs.InboxTableName, Key: { pk: `KEY#${key}`, sk: 'CURSOR' } }),
      );
      if (Number(cursor.Item?.lastSequence ?? 0) >= perKey) pending.delete(key);
    }
    waiting.update(keys.length - pending.size);
    if (pending.size === 0) break;
    if (Date.now() > deadline) throw new Error(`${pending.size} keys were not applied within 10 minutes`);
    await sleep(500);
  }
  waiting.finish();
  const allApplied = Date.now();
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
  for (const [component, functionName] of components) {
    const records =
      component === 'consumer' ? consumerLogs : await functionLogs(c, functionName, windowStart, windowEnd);
    const ledgers = records
      .map((record) => record.fields.unitAccounting as UnitLedger | undefined)
      .filter((ledger): ledger is UnitLedger => ledger !== undefined);
    const sum = addLedgers(component, ledgers);
    const invocations = ledgers.length;
    // The consumer's queue calls are the Lambda service's: one ReceiveMessage and one DeleteMessageBatch per batch.
    const serviceSqs = component === 'consumer' ? 2 * invocations : 0;
    byComponent[component] = {
      writeUnits: sum.writeUnits / total,
      readUnits: sum.readUnits / total,
      sqsRequests: (sum.sqsBilledRequests + serviceSqs) / total,
      lambdaInvocations: invocations / total,
      apiRequests: component === 'producer' ? invocations / total : 0,
    };
  }
  const measured = Object.values(byComponent).reduce<UnitsPerMessage>(
    (acc, u) => ({
      writeUnits: acc.writeUnits + u.writeUnits,
      readUnits: acc.readUnits + u.readUnits,
      sqsRequests: acc.sqsRequests + u.sqsRequests,
      lambdaInvocations: acc.lambdaInvocations + u.lambdaInvocations,
      apiRequests: acc.apiRequests + u.apiRequests,
    }),
    { writeUnits: 0, readUnits: 0, sqsRequests: 0, lambdaInvocations: 0, apiRequests: 0 },
  );
  const floor = floorUnitsPerMessage();
  const throughput = total / ((allApplied - firstCommit) / 1000);
  return {
    messages: total,
    keys: keys.length,
    throughputPerSecond: round(throughput),
    rawEmulatorPerSecond: round(rawEmulatorPerSecond),
    throughputRatio: round(throughput / rawEmulatorPerSecond),
    latencyMs: {
      p50: percentile(latencies, 50),
      p95: percentile(latencies, 95),
      p99: percentile(latencies, 99),
    },
    unitsPerMessage: round(capacityUnits(measured)),
    floorUnitsPerMessage: round(capacityUnits(floor)),
    unitsOverFloor: round(capacityUnits(measured) / capacityUnits(floor)),
    byComponent,
    measured,
    floor,
    usdPerMillion: usdPerMillion(measured),
    floorUsdPerMillion: usdPerMillion(floor),
    naiveUnitsPerMessage: null,
    naiveUsdPerMillion: null,
    bundleBytes: bundleSizes(),
    pricesAsOf: PRICES_AS_OF,
  };
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/** Size of each handler's bundle in the emulator cloud assembly (`npm start` synthesizes it). */
function bundleSizes(): Record<string, number> {
  const sizes: Record<string, number> = {};
  const handlers: Record<string, string> = {
    'orders-api': 'OrdersApi',
    relay: 'RelayHandler',
    sweeper: 'SweeperHandler',
    consumer: 'OrdersConsumer',
    'check-back': 'CheckBackHandler',
    'payment-checker': 'PaymentChecker',
    'inbox-monitor': 'ConsumerMonitor',
  };
  try {
    const assembly = path.join(projectRoot, 'cdk.out.emulator');
    const template = JSON.parse(
      readFileSync(path.join(assembly, 'ReliableMessagingDemo.template.json'), 'utf8'),
    ) as { Resources: Record<string, { Type: string; Metadata?: Record<string, string> }> };
    for (const [logicalId, resource] of Object.entries(template.Resources)) {
      if (resource.Type !== 'AWS::Lambda::Function') continue;
      const asset = resource.Metadata?.['aws:asset:path'];
      const name = Object.entries(handlers).find(([, prefix]) => logicalId.startsWith(prefix))?.[0];
      if (asset === undefined || name === undefined) continue;
      sizes[name] = statSync(path.join(assembly, asset, 'index.js')).size;
    }
  } catch {
    // no cloud assembly: run `npm start` first
  }
  return sizes;
}
