import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { Env } from '../environment';

/** What one component asked of AWS, in the units AWS bills. */
export interface UnitLedger {
  readonly component: string;
  /** Requests per API, e.g. `dynamodb:TransactWriteItems`, `sqs:SendMessageBatch`. */
  readonly requests: Readonly<Record<string, number>>;
  /** DynamoDB read capacity units consumed (on-demand: read request units). */
  readonly readUnits: number;
  /** DynamoDB write capacity units consumed (on-demand: write request units). */
  readonly writeUnits: number;
  /** Billed SQS requests: each request counts once per 64 KiB of payload. */
  readonly sqsBilledRequests: number;
  /**
   * Billed SNS publish requests: each Publish or PublishBatch counts once per 64 KiB of payload (a batch of 10 small
   * messages is one request).
   */
  readonly snsPublishes: number;
  /** Messages published to SNS: one per Publish, one per entry of a PublishBatch (a topic's fan-out is not counted). */
  readonly snsMessages: number;
  /**
   * Milliseconds spent waiting for each API's answers, summed (keys as in `requests`): where a batch's time goes.
   * Absent in ledgers logged by older builds.
   */
  readonly requestMs?: Readonly<Record<string, number>>;
}

const READ_COMMANDS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const SUPPORTS_CONSUMED_CAPACITY = new Set([
  'GetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'Query',
  'Scan',
  'BatchGetItem',
  'BatchWriteItem',
  'TransactGetItems',
  'TransactWriteItems',
]);
const SQS_CHUNK = 64 * 1024;
/** SNS bills a publish request per 64 KiB of payload, as SQS does. */
const SNS_CHUNK = 64 * 1024;
const SNS_PUBLISHES = new Set(['Publish', 'PublishBatch']);

interface ConsumedCapacity {
  CapacityUnits?: number;
}

/** The SDK's command name without its `Command` suffix. */
const operation = (commandName: string | undefined) => (commandName ?? 'Unknown').replace(/Command$/, '');

/**
 * Counts, for one component (producer, relay, sweeper, consumer…), the requests per API and the capacity
 * DynamoDB reports as consumed (`ReturnConsumedCapacity: TOTAL` is added to every call that supports it). Attach it
 * to the component's SDK clients only when accounting is wanted: it changes no behaviour, only adds counting.
 *
 * A DynamoDB call that fails on a condition consumes capacity too, but AWS reports none in the error; those calls
 * are counted in `requests` under `…:ConditionalCheckFailed` and not in the units.
 */
export class UnitAccountant {
  private requests: Record<string, number> = {};
  private requestMs: Record<string, number> = {};
  private readUnits = 0;
  private writeUnits = 0;
  private sqsBilledRequests = 0;
  private snsPublishes = 0;
  private snsMessages = 0;

  constructor(public readonly component: string) {}

  instrumentDynamoDb(client: DynamoDBClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = operation(context.commandName);
        const input = args.input as { ReturnConsumedCapacity?: string };
        const withCapacity =
          SUPPORTS_CONSUMED_CAPACITY.has(name) && input.ReturnConsumedCapacity === undefined
            ? { ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } }
            : args;
        const started = performance.now();
        try {
          const result = await next(withCapacity as typeof args);
          this.count(`dynamodb:${name}`, started);
          const consumed = (result.output as { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] })
            .ConsumedCapacity;
          const units = [consumed ?? []].flat().reduce((sum, entry) => sum + (entry.CapacityUnits ?? 0), 0);
          if (READ_COMMANDS.has(name)) this.readUnits += units;
          else this.writeUnits += units;
          return result;
        } catch (error) {
          const code = error instanceof Error ? error.name : 'Error';
          this.count(`dynamodb:${name}:${code}`, started);
          throw error;
        }
      },
      { step: 'initialize', name: 'unitAccounting' },
    );
  }

  instrumentSqs(client: SQSClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = operation(context.commandName);
        const started = performance.now();
        const result = await next(args);
        this.count(`sqs:${name}`, started);
        this.sqsBilledRequests += Math.max(1, Math.ceil(payloadBytes(args.input) / SQS_CHUNK));
        return result;
      },
      { step: 'initialize', name: 'unitAccounting' },
    );
  }

  /**
   * Counts every request of an SNS client; Publish and PublishBatch (the events topic's, an alert's) also in
   * `snsPublishes` (billed requests) and `snsMessages` (messages).
   */
  instrumentSns(client: SNSClient): void {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = operation(context.commandName);
        const started = performance.now();
        const result = await next(args);
        this.count(`sns:${name}`, started);
        if (SNS_PUBLISHES.has(name)) {
          const messages = publishedMessages(args.input);
          this.snsPublishes += Math.max(1, Math.ceil(bytesOf(messages) / SNS_CHUNK));
          this.snsMessages += messages.length;
        }
        return result;
      },
      { step: 'initialize', name: 'unitAccounting' },
    );
  }

  /** The counts since the last call, and a fresh start. */
  take(): UnitLedger {
    const ledger: UnitLedger = {
      component: this.component,
      requests: this.requests,
      readUnits: round(this.readUnits),
      writeUnits: round(this.writeUnits),
      sqsBilledRequests: this.sqsBilledRequests,
      snsPublishes: this.snsPublishes,
      snsMessages: this.snsMessages,
      requestMs: Object.fromEntries(Object.entries(this.requestMs).map(([key, ms]) => [key, round(ms)])),
    };
    this.requests = {};
    this.requestMs = {};
    this.readUnits = 0;
    this.writeUnits = 0;
    this.sqsBilledRequests = 0;
    this.snsPublishes = 0;
    this.snsMessages = 0;
    return ledger;
  }

  /** One more request of `key`, answered now after it was sent at `started` (performance.now()). */
  private count(key: string, started: number): void {
    this.requests[key] = (this.requests[key] ?? 0) + 1;
    this.requestMs[key] = (this.requestMs[key] ?? 0) + (performance.now() - started);
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/** Bytes of message bodies in an SQS request (what SQS bills by). */
function payloadBytes(input: unknown): number {
  const request = input as { MessageBody?: string; Entries?: Array<{ MessageBody?: string }> };
  const bodies = request.Entries?.map((entry) => entry.MessageBody ?? '') ?? [request.MessageBody ?? ''];
  return bytesOf(bodies);
}

/** The messages of an SNS Publish (one) or PublishBatch (its entries). */
function publishedMessages(input: unknown): string[] {
  const request = input as { Message?: string; PublishBatchRequestEntries?: Array<{ Message?: string }> };
  return request.PublishBatchRequestEntries?.map((entry) => entry.Message ?? '') ?? [request.Message ?? ''];
}

function bytesOf(texts: readonly string[]): number {
  return texts.reduce((sum, text) => sum + Buffer.byteLength(text), 0);
}

/** Adds ledgers of the same component (or of several, for totals). */
export function addLedgers(component: string, ledgers: readonly UnitLedger[]): UnitLedger {
  const requests: Record<string, number> = {};
  const requestMs: Record<string, number> = {};
  for (const ledger of ledgers) {
    for (const [key, count] of Object.entries(ledger.requests)) requests[key] = (requests[key] ?? 0) + count;
    for (const [key, ms] of Object.entries(ledger.requestMs ?? {}))
      requestMs[key] = (requestMs[key] ?? 0) + ms;
  }
  return {
    component,
    requests,
    readUnits: round(ledgers.reduce((sum, l) => sum + l.readUnits, 0)),
    writeUnits: round(ledgers.reduce((sum, l) => sum + l.writeUnits, 0)),
    sqsBilledRequests: ledgers.reduce((sum, l) => sum + l.sqsBilledRequests, 0),
    snsPublishes: ledgers.reduce((sum, l) => sum + l.snsPublishes, 0),
    // A ledger logged by an older build has no snsMessages.
    snsMessages: ledgers.reduce((sum, l) => sum + (l.snsMessages ?? 0), 0),
    requestMs: Object.fromEntries(Object.entries(requestMs).map(([key, ms]) => [key, round(ms)])),
  };
}

/** An accountant for `component` when the stack turned unit accounting on (`UNIT_ACCOUNTING=true`), else none. */
export function unitAccountantFromEnvironment(
  component: string,
  env: NodeJS.ProcessEnv = process.env,
): UnitAccountant | undefined {
  return env[Env.UNIT_ACCOUNTING] === 'true' ? new UnitAccountant(component) : undefined;
}
