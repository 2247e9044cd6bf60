import { request as httpRequest } from 'node:http';
import { CloudWatchClient, DescribeAlarmsCommand, type MetricAlarm } from '@aws-sdk/client-cloudwatch';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { BatchGetCommand, type BatchGetCommandInput, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach } from 'vitest';
import { ATTENTION_INDEX } from '../../../../../functions/runtime/consumer/key-parking';
import { type RunningConsole, startConsoleServer } from '../../../../../lib/ops/console/server';
import type { ReportPlots } from '../../../../../scripts/console/run-reports';
import { InMemoryDynamoDb, type Item } from '../../../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../../../../tools/dynamodb/outbox-table';
import type { StackOutputs } from '../../../../../tools/stack/outputs';
import { type Connection, connect } from '../../../../../tools/stack/stack-control';

// A deployed stack for the console's routes: its tables in memory (outbox, inbox with its attention index, orders),
// its queues and alarms mocked; and the console served on 127.0.0.1, called over real HTTP.

export const STACK = 'ShopMessaging';
export const OUTBOX = 'outbox-table';
export const INBOX = 'inbox-table';
/** The transaction table of a stack built with `transactionTable` (see `fakeStack`'s option). */
export const TRANSACTIONS = 'transaction-table';
export const ORDERS = 'orders-table';
export const QUEUE = 'http://sqs.local/000000000000/queue.fifo';
export const DLQ = 'http://sqs.local/000000000000/dlq.fifo';
export const RELAY_FAILURES = 'http://sqs.local/000000000000/relay-failures';

export const OUTPUTS = {
  ApiUrl: '',
  OrdersTableName: ORDERS,
  OutboxTableName: OUTBOX,
  InboxTableName: INBOX,
  QueueUrl: QUEUE,
  DeadLetterQueueUrl: DLQ,
  AlertTopicArn: 'arn:aws:sns:us-east-1:000000000000:alerts',
  RelayFailureQueueUrl: RELAY_FAILURES,
} as unknown as StackOutputs;

export const ddb = mockClient(DynamoDBDocumentClient);
export const sqs = mockClient(SQSClient);
export const cloudWatch = mockClient(CloudWatchClient);

/** What the mocked queues hold: depth per queue URL, and the dead-letter queue's message bodies. */
export interface FakeQueues {
  depth: Record<string, { visible: number; inFlight: number }>;
  deadLetters: string[];
}

export interface FakeStack {
  readonly db: InMemoryDynamoDb;
  readonly queues: FakeQueues;
  readonly connection: Connection;
}

/**
 * Fresh tables and queues, every mock reset and installed. `transactionTable`: the stack keeps its half messages in
 * a transaction table of their own (output `TransactionTableName`). @default false: in the outbox table
 */
export function fakeStack(
  alarms: MetricAlarm[] = [],
  options: { transactionTable?: boolean } = {},
): FakeStack {
  ddb.reset();
  sqs.reset();
  cloudWatch.reset();
  const db = new InMemoryDynamoDb(
    { [OUTBOX]: OUTBOX_KEY, [TRANSACTIONS]: OUTBOX_KEY, [INBOX]: ['pk', 'sk'], [ORDERS]: ['orderId'] },
    {
      [OUTBOX]: OUTBOX_INDEXES,
      [TRANSACTIONS]: OUTBOX_INDEXES,
      [INBOX]: { [ATTENTION_INDEX]: { keys: ['attention', 'since'], projection: 'KEYS_ONLY' } },
    },
  );
  db.install(ddb);
  // Reconcile reads cursors with BatchGetItem: served from the same tables.
  ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => ({
    Responses: Object.fromEntries(
      Object.entries(input.RequestItems ?? {}).map(([table, { Keys }]) => [
        table,
        (Keys ?? []).map((key) => db.item(table, key as Item)).filter((item) => item !== undefined),
      ]),
    ),
    UnprocessedKeys: {},
  }));
  const queues: FakeQueues = {
    depth: { [QUEUE]: { visible: 0, inFlight: 0 }, [DLQ]: { visible: 0, inFlight: 0 } },
    deadLetters: [],
  };
  sqs.on(GetQueueAttributesCommand).callsFake(({ QueueUrl }: { QueueUrl: string }) => {
    const depth =
      QueueUrl === DLQ
        ? { visible: queues.deadLetters.length, inFlight: 0 }
        : (queues.depth[QueueUrl] ?? { visible: 0, inFlight: 0 });
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(depth.visible),
        ApproximateNumberOfMessagesNotVisible: String(depth.inFlight),
      },
    };
  });
  let served = 0;
  sqs.on(ReceiveMessageCommand).callsFake(({ QueueUrl }: { QueueUrl: string }) => {
    if (QueueUrl !== DLQ || served >= queues.deadLetters.length) return { Messages: [] };
    const messages = queues.deadLetters.slice(served).map((body, i) => ({
      Body: body,
      ReceiptHandle: `receipt-${served + i}`,
    }));
    served = queues.deadLetters.length;
    return { Messages: messages };
  });
  sqs.on(SendMessageCommand).resolves({ MessageId: 'sent' });
  sqs
    .on(SendMessageBatchCommand)
    .resolves({ Successful: [{ Id: '0', MessageId: 'sent', MD5OfMessageBody: '' }] });
  sqs.on(DeleteMessageBatchCommand).resolves({ Successful: [{ Id: '0' }] });
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: alarms });
  const outputs = options.transactionTable ? { ...OUTPUTS, TransactionTableName: TRANSACTIONS } : OUTPUTS;
  return { db, queues, connection: connect(outputs, 'http://127.0.0.1:9', 'us-east-1') };
}

const NO_REPORTS: ReportPlots = { bench: null, chaos: null };

/** The console over a fake stack, on a free port, with a known token. */
export async function serveConsole(
  stack: FakeStack,
  options: { readOnly?: boolean; reports?: (() => ReportPlots) | null } = {},
): Promise<RunningConsole> {
  return startConsoleServer(
    {
      connection: stack.connection,
      stackName: STACK,
      source: 'test',
      readOnly: options.readOnly ?? false,
      // The repository's console serves its run reports; the package's serves none (`reports: null`).
      ...(options.reports === null
        ? {}
        : { extraReads: { '/api/reports': async () => (options.reports ?? (() => NO_REPORTS))() } }),
    },
    { port: 0, token: 'the-token' },
  );
}

export interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  /** The JSON answer (or the text of any other). */
  readonly body: unknown;
  readonly text: string;
}

/** An HTTP request to the console, as its own page sends it unless `headers` say otherwise (`null` drops one). */
export function call(
  running: RunningConsole,
  method: string,
  path: string,
  options: { body?: string | object; headers?: Record<string, string | null> } = {},
): Promise<Answer> {
  const defaults: Record<string, string> = {
    host: `127.0.0.1:${running.port}`,
    ...(method === 'POST'
      ? {
          origin: `http://127.0.0.1:${running.port}`,
          'content-type': 'application/json',
          'x-console-token': running.token,
        }
      : {}),
  };
  const headers = Object.fromEntries(
    Object.entries({ ...defaults, ...options.headers }).filter(
      (entry): entry is [string, string] => entry[1] !== null,
    ),
  );
  const payload =
    options.body === undefined
      ? ''
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: '127.0.0.1', port: running.port, method, path, headers, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const json = String(res.headers['content-type'] ?? '').startsWith('application/json');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: json ? JSON.parse(text) : text,
            text,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A message envelope's JSON, as the queues and the inbox hold it. */
export function envelopeJson(
  groupKey: string,
  sequence: number,
  createdAt = new Date().toISOString(),
): string {
  return JSON.stringify({
    messageId: `m-${groupKey}-${sequence}`,
    groupKey,
    sequence,
    type: 'OrderNoteAdded',
    payload: {},
    createdAt,
  });
}

/**
 * For a `describe`: before each test a fresh fake stack and the console over it, closed after. Read `stack` and
 * `running` inside the tests.
 */
export function consoleForEachTest(
  alarms: MetricAlarm[] = [],
  options: { readOnly?: boolean; transactionTable?: boolean } = {},
) {
  const current = {} as { stack: FakeStack; running: RunningConsole };
  beforeEach(async () => {
    current.stack = fakeStack(alarms, { transactionTable: options.transactionTable ?? false });
    current.running = await serveConsole(current.stack, options);
  });
  afterEach(async () => {
    await current.running.close();
  });
  return current;
}
