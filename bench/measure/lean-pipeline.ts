import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { BatchGetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OutboxWriter, UnitAccountant, type UnitLedger } from 'reliable-messaging-serverless/runtime';
import { addLedgers } from 'reliable-messaging-serverless/runtime/bench-support';
import type { ProgressBar } from '../../tools/progress';
import type { Connection } from '../../tools/stack/stack-control';
import { type CallTiming, callBreakdown } from './call-breakdown';
import { perMessage, sumUnits, type UnitsPerMessage } from './cost-model';
import { functionBilledDuration, functionLogs } from './function-logs';

export interface LeanReport {
  readonly messages: number;
  readonly units: UnitsPerMessage;
  readonly byComponent: Readonly<Record<string, UnitsPerMessage>>;
  /** Committed → every key's view at its last sequence. */
  readonly throughputPerSecond: number;
  /** Where the run's time went (see LeanProfile). */
  readonly profile: LeanProfile;
}

/** Where the lean pipeline's run spent its time. */
export interface LeanProfile {
  /** From the first commit to the last one (the producer's share), and from the first commit to all applied. */
  readonly commitSeconds: number;
  readonly runSeconds: number;
  /** Consumer invocations (batches), and their mean records and keys (message groups): a key's records run in turn. */
  readonly consumerBatches: number;
  readonly recordsPerBatch: number;
  readonly groupsPerBatch: number;
  /** Mean billed duration of a consumer batch. */
  readonly consumerMsPerBatch: number;
  /** The consumer's calls per API: count per message and milliseconds. */
  readonly consumerCalls: Readonly<Record<string, CallTiming>>;
  readonly relayInvocations: number;
  /** Messages the relay sent per invocation (its stream batch). */
  readonly messagesPerRelayInvocation: number;
  readonly relayMsPerInvocation: number;
  readonly relayCalls: Readonly<Record<string, CallTiming>>;
}

/**
 * Runs the library in its leanest configuration (the LeanBenchPipeline construct): the producer (this process,
 * standing for an API function, so one API request and one invocation per message are added) commits a business
 * item and the outbox message in one transaction with `OutboxWriter`; the stack's relay publishes to the FIFO queue
 * in batches; the consumer's one effect rides on the key's cursor. Counted like the reference pipeline; the producer
 * is billed `producerGbSecondsPerMessage` of Lambda duration (what the reference API function was billed).
 */
export async function runLeanPipeline(
  c: Connection,
  messages: number,
  keyCount: number,
  concurrency: number,
  producerGbSecondsPerMessage: number,
  progress?: { commit?: ProgressBar; apply?: ProgressBar },
): Promise<LeanReport> {
  const {
    LeanOutboxTableName: outboxTable,
    LeanBusinessTableName: businessTable,
    LeanViewTableName: viewTable,
    LeanRelayFunctionName: relayFunction,
    LeanConsumerFunctionName: consumerFunction,
  } = c.outputs;
  if (
    outboxTable === undefined ||
    businessTable === undefined ||
    viewTable === undefined ||
    relayFunction === undefined ||
    consumerFunction === undefined
  ) {
    throw new Error('the stack has no lean bench pipeline: deploy it to the emulator with `npm start`');
  }
  const producer = new UnitAccountant('lean-producer');
  const dynamodbClient = new DynamoDBClient(c.config);
  producer.instrumentDynamoDb(dynamodbClient);
  const dynamodb = DynamoDBDocumentClient.from(dynamodbClient);
  const writer = new OutboxWriter(dynamodb, outboxTable);

  const run = randomUUID().slice(0, 8);
  const keys = Array.from({ length: keyCount }, (_, k) => `lean-${run}-${k}`);
  const perKey = Math.max(1, Math.floor(messages / keyCount));
  const total = perKey * keys.length;
  const started = Date.now() - 1000;
  let committed = 0;
  let next = 0;
  // Each worker commits one key's messages in order, then takes the next key. (Measured: committing round-robin
  // over the keys instead, as the raw consumer probe's messages go, was slower end to end on the emulator — 40–46
  // against 52–74 msg/s — as every consumer batch then holds ten keys whose ten writes contend at once.)
  await Promise.all(
    Array.from({ length: Math.min(concurrency, keys.length) }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        for (let sequence = 1; sequence <= perKey; sequence++) {
          await writer.commit(
            [
              {
                Update: {
                  TableName: businessTable,
                  Key: { pk: key },
                  UpdateExpression: 'SET version = :sequence, lastNote = :note',
                  ConditionExpression: sequence === 1 ? 'attribute_not_exists(pk)' : 'version = :previous',
                  ExpressionAttributeValues: {
                    ':sequence': sequence,
                    ':note': `note ${sequence}`,
                    ...(sequence === 1 ? {} : { ':previous': sequence - 1 }),
                  },
                },
              },
            ],
            { groupKey: key, sequence, type: 'NoteAdded', payload: { text: `note ${sequence}` } },
          );
          progress?.commit?.update(++committed);
        }
      }
    }),
  );
  progress?.commit?.finish();
  const lastCommit = Date.now();
  const firstCommit = started + 1000;
  const produced = producer.take();

  // Applied: every key's view (its cursor) at the key's last sequence, read 100 keys a request (BatchGetItem, as
  // the reference pipeline's cursors are), so the watching loads the emulator the pipeline runs on as little as the
  // raw consumer probe's watching does (one request a poll).
  const pending = new Set(keys);
  const deadline = Date.now() + 600_000;
  const reader = DynamoDBDocumentClient.from(new DynamoDBClient(c.config));
  while (pending.size > 0) {
    const waiting = [...pending];
    for (let i = 0; i < waiting.length; i += 100) {
      for (const [key, lastSequence] of await viewSequences(reader, viewTable, waiting.slice(i, i + 100))) {
        if (lastSequence >= perKey) pending.delete(key);
      }
    }
    progress?.apply?.update(keys.length - pending.size);
    if (pending.size === 0) break;
    if (Date.now() > deadline)
      throw new Error(`lean pipeline: ${pending.size} keys not applied within 600 s`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  progress?.apply?.finish();
  const applied = Date.now();
  await new Promise((resolve) => setTimeout(resolve, 2000)); // let the last log lines land

  const accountingOf = async (functionName: string) =>
    (await functionLogs(c, functionName, started, Date.now())).filter(
      (record) => record.fields.unitAccounting !== undefined,
    );
  const ledgersOf = (records: Awaited<ReturnType<typeof accountingOf>>) =>
    records.map((record) => record.fields.unitAccounting as UnitLedger);
  const relayLedgers = ledgersOf(await accountingOf(relayFunction));
  const consumerRecords = await accountingOf(consumerFunction);
  const consumerLedgers = ledgersOf(consumerRecords);
  const relayBilled = await functionBilledDuration(c, relayFunction, started, Date.now());
  const consumerBilled = await functionBilledDuration(c, consumerFunction, started, Date.now());
  const relay = addLedgers('lean-relay', relayLedgers);
  const consumer = addLedgers('lean-consumer', consumerLedgers);
  const byComponent: Record<string, UnitsPerMessage> = {
    producer: perMessage(produced, total, {
      invocations: total,
      gbSeconds: producerGbSecondsPerMessage * total,
      apiRequests: total,
    }),
    relay: perMessage(relay, total, { invocations: relayLedgers.length, gbSeconds: relayBilled.gbSeconds }),
    // The Lambda service's ReceiveMessage and DeleteMessageBatch: one each per batch.
    consumer: perMessage(consumer, total, {
      invocations: consumerLedgers.length,
      gbSeconds: consumerBilled.gbSeconds,
      serviceSqsRequests: 2 * consumerLedgers.length,
    }),
  };
  const mean = (values: readonly number[]) =>
    values.length === 0 ? 0 : round(values.reduce((sum, value) => sum + value, 0) / values.length);
  const field = (name: string) => consumerRecords.map((record) => Number(record.fields[name] ?? 0));
  const ms = (billed: { gbSeconds: number }, memoryMb: number, invocations: number) =>
    invocations === 0 ? 0 : round((billed.gbSeconds * 1000 * 1024) / memoryMb / invocations);
  const memory = async (functionName: string) =>
    (await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }))).MemorySize ??
    128;
  const profile: LeanProfile = {
    commitSeconds: round((lastCommit - firstCommit) / 1000),
    runSeconds: round((applied - firstCommit) / 1000),
    consumerBatches: consumerLedgers.length,
    recordsPerBatch: mean(field('records')),
    groupsPerBatch: mean(field('groups')),
    consumerMsPerBatch: ms(consumerBilled, await memory(consumerFunction), consumerBilled.invocations),
    consumerCalls: callBreakdown(consumer, total),
    relayInvocations: relayLedgers.length,
    messagesPerRelayInvocation: relayLedgers.length === 0 ? 0 : round(total / relayLedgers.length),
    relayMsPerInvocation: ms(relayBilled, await memory(relayFunction), relayBilled.invocations),
    relayCalls: callBreakdown(relay, total),
  };
  return {
    messages: total,
    units: sumUnits(Object.values(byComponent)),
    byComponent,
    throughputPerSecond: total / ((applied - firstCommit) / 1000),
    profile,
  };
}

/** The last applied sequence on the views of up to 100 keys (a key without a view yet is left out). */
async function viewSequences(
  reader: DynamoDBDocumentClient,
  tableName: string,
  keys: readonly string[],
): Promise<Map<string, number>> {
  const found = new Map<string, number>();
  let request: Record<string, { Keys: Record<string, unknown>[]; ConsistentRead?: boolean }> | undefined = {
    [tableName]: { Keys: keys.map((pk) => ({ pk })), ConsistentRead: true },
  };
  while (request !== undefined && Object.keys(request).length > 0) {
    const response = await reader.send(new BatchGetCommand({ RequestItems: request }));
    for (const item of response.Responses?.[tableName] ?? []) {
      found.set(String(item.pk), Number(item.lastSequence ?? 0));
    }
    request = response.UnprocessedKeys as typeof request;
  }
  return found;
}

const round = (value: number) => Math.round(value * 1000) / 1000;
