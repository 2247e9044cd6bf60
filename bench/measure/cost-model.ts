import type { UnitLedger } from 'reliable-messaging-serverless/runtime';
import { AWS_PRICES_USD } from './aws-prices';

/** Billable units per message, by kind. */
export interface UnitsPerMessage {
  readonly writeUnits: number;
  readonly readUnits: number;
  readonly sqsRequests: number;
  readonly lambdaInvocations: number;
  /** Lambda duration: billed milliseconds × memory, in GB-seconds. */
  readonly lambdaGbSeconds: number;
  readonly apiRequests: number;
}

/** The billable units a design needs per message, at the least. */
export interface FloorAssumptions {
  /** Items in the producer's transaction: the business item and the outbox message. */
  readonly producerTransactionItems: number;
  /** Messages per SQS batch call (SendMessageBatch, ReceiveMessage, DeleteMessageBatch). */
  readonly sqsBatchSize: number;
  /** Messages per relay and per consumer invocation. */
  readonly invocationBatchSize: number;
}

export const DEFAULT_FLOOR_ASSUMPTIONS: FloorAssumptions = {
  producerTransactionItems: 2,
  sqsBatchSize: 10,
  invocationBatchSize: 10,
};

/**
 * The floor of this design per message: the producer's transaction (2 WRU per transactional item), the outbox
 * removal (1 WRU), one conditional consumer write (1 WRU: a version-checked effect that is also the cursor), the
 * three batched SQS calls (send, receive, delete), one relay and one consumer invocation per batch, and the API call.
 * Lambda duration has no floor that can be derived (it depends on the code and the service's latency): it is 0
 * here, so the floor's $ is a true lower bound of what any implementation of the design costs.
 */
export function floorUnitsPerMessage(
  assumptions: FloorAssumptions = DEFAULT_FLOOR_ASSUMPTIONS,
): UnitsPerMessage {
  return {
    writeUnits: 2 * assumptions.producerTransactionItems + 1 + 1,
    readUnits: 0,
    sqsRequests: 3 / assumptions.sqsBatchSize,
    lambdaInvocations: 2 / assumptions.invocationBatchSize + 1,
    lambdaGbSeconds: 0,
    apiRequests: 1,
  };
}

/** US dollars per million messages for the given units per message. */
export function usdPerMillion(units: UnitsPerMessage): number {
  const p = AWS_PRICES_USD;
  const perMessage =
    (units.writeUnits * p.dynamodbWriteUnitPerMillion +
      units.readUnits * p.dynamodbReadUnitPerMillion +
      units.sqsRequests * p.sqsFifoRequestPerMillion +
      units.lambdaInvocations * p.lambdaRequestPerMillion +
      units.apiRequests * p.httpApiRequestPerMillion) /
      1_000_000 +
    units.lambdaGbSeconds * p.lambdaArmGbSecond;
  return Math.round(perMessage * 1_000_000 * 1_000_000) / 1_000_000;
}

/** DynamoDB units (reads + writes) per message: the figure compared with the floor. */
export function capacityUnits(units: UnitsPerMessage): number {
  return units.writeUnits + units.readUnits;
}

/** The value at a percentile (nearest rank) of unsorted samples; 0 for none. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return 0;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

/** Adds units per message of several components. */
export function sumUnits(parts: readonly UnitsPerMessage[]): UnitsPerMessage {
  return parts.reduce<UnitsPerMessage>(
    (acc, u) => ({
      writeUnits: acc.writeUnits + u.writeUnits,
      readUnits: acc.readUnits + u.readUnits,
      sqsRequests: acc.sqsRequests + u.sqsRequests,
      lambdaInvocations: acc.lambdaInvocations + u.lambdaInvocations,
      lambdaGbSeconds: acc.lambdaGbSeconds + u.lambdaGbSeconds,
      apiRequests: acc.apiRequests + u.apiRequests,
    }),
    { writeUnits: 0, readUnits: 0, sqsRequests: 0, lambdaInvocations: 0, lambdaGbSeconds: 0, apiRequests: 0 },
  );
}

/** What a function's invocations were billed for, from its REPORT log lines. */
export interface BilledDuration {
  readonly invocations: number;
  readonly gbSeconds: number;
}

const TEXT_REPORT = /^REPORT RequestId:.*?Billed Duration: ([\d.]+) ms\s+Memory Size: (\d+) MB/;

/**
 * Sums the billed duration of REPORT lines, in either form Lambda writes them: the text line
 * (`REPORT RequestId: … Billed Duration: 12 ms Memory Size: 512 MB …`) or, with JSON logging, a `platform.report`
 * record (`record.metrics.billedDurationMs`, `memorySizeMB`). Other lines are ignored.
 */
export function billedDuration(lines: readonly string[]): BilledDuration {
  let invocations = 0;
  let gbSeconds = 0;
  const add = (billedMs: number, memoryMb: number) => {
    if (!Number.isFinite(billedMs) || !Number.isFinite(memoryMb)) return;
    invocations += 1;
    gbSeconds += (billedMs / 1000) * (memoryMb / 1024);
  };
  for (const raw of lines) {
    const line = raw.trim();
    const text = TEXT_REPORT.exec(line);
    if (text !== null) {
      add(Number(text[1]), Number(text[2]));
      continue;
    }
    if (!line.startsWith('{') || !line.includes('platform.report')) continue;
    try {
      const record = JSON.parse(line) as {
        type?: string;
        record?: { metrics?: { billedDurationMs?: number; memorySizeMB?: number } };
      };
      const metrics = record.record?.metrics;
      if (record.type === 'platform.report' && metrics !== undefined) {
        add(Number(metrics.billedDurationMs), Number(metrics.memorySizeMB));
      }
    } catch {
      // not JSON after all
    }
  }
  return { invocations, gbSeconds };
}

/** What a component was billed for besides what its SDK clients counted. */
export interface BilledBesides {
  readonly invocations: number;
  readonly gbSeconds: number;
  /** Requests the Lambda service made for it (an SQS event source's ReceiveMessage and DeleteMessageBatch). */
  readonly serviceSqsRequests?: number;
  readonly apiRequests?: number;
}

/** A component's units per message: its counted requests and capacity, plus invocations, duration and the rest. */
export function perMessage(
  ledger: Pick<UnitLedger, 'writeUnits' | 'readUnits' | 'sqsBilledRequests'>,
  messages: number,
  besides: BilledBesides,
): UnitsPerMessage {
  const per = (value: number) => (messages === 0 ? 0 : value / messages);
  return {
    writeUnits: per(ledger.writeUnits),
    readUnits: per(ledger.readUnits),
    sqsRequests: per(ledger.sqsBilledRequests + (besides.serviceSqsRequests ?? 0)),
    lambdaInvocations: per(besides.invocations),
    lambdaGbSeconds: per(besides.gbSeconds),
    apiRequests: per(besides.apiRequests ?? 0),
  };
}
