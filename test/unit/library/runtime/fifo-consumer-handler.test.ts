import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context, Handler, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { documentClient } from '../../../../functions/runtime/clients';
import {
  type FifoConsumerHandlerOptions,
  fifoConsumerHandler,
  fifoConsumerHandlerOf,
} from '../../../../functions/runtime/consumer/fifo-consumer-handler';
import type { FifoRecord } from '../../../../functions/runtime/consumer/fifo-records';
import {
  type BodyConsumeResult,
  IdempotentConsumer,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import { ATTENTION_INDEX } from '../../../../functions/runtime/consumer/key-parking';
import type { CountMetrics } from '../../../../functions/runtime/count-metrics';
import { ConfigurationError } from '../../../../functions/runtime/errors';
import { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { envelope, INBOX_TABLE, inboxOf } from '../../support/inbox-fixtures';

// The shop's consumer: each account's view item is its cursor, `{ pk: accountId, lastSequence }`.
const VIEW_TABLE = 'view-table';
const ALERT_TOPIC_ARN = 'arn:aws:sns:eu-west-1:123456789012:alerts';

/** The environment the IdempotentConsumer construct writes. */
const CONSTRUCT_ENVIRONMENT: Readonly<Record<string, string>> = {
  INBOX_TABLE_NAME: INBOX_TABLE,
  INBOX_RETENTION_SECONDS: '1296000',
  INBOX_CLAIM_SECONDS: '60',
  IDEMPOTENCY_STRATEGIES: JSON.stringify({ default: 'transaction' }),
  PARK_AFTER_FAILURES: '3',
  ALERT_TOPIC_ARN,
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/channel.fifo',
  METRICS_NAMESPACE: 'ReliableMessaging',
  METRICS_STACK_NAME: 'ShopMessaging',
};

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
let db: InMemoryDynamoDb;
/** What the function wrote on its standard output, one parsed JSON line each. */
let lines: Record<string, unknown>[];

const shopOptions: FifoConsumerHandlerOptions = {
  env: CONSTRUCT_ENVIRONMENT,
  cursor: { tableName: VIEW_TABLE, key: (accountId) => ({ pk: accountId }) },
};

function record(messageId: string, body: string, group?: string): FifoRecord {
  return { messageId, body, attributes: group === undefined ? {} : { MessageGroupId: group } };
}

/** A queue record of message `sequence` of `accountId`. */
function delivery(accountId: string, sequence: number, type = 'BalanceChanged'): FifoRecord {
  return record(
    `${accountId}-${sequence}`,
    JSON.stringify(envelope(accountId, sequence, type, { balance: sequence })),
    accountId,
  );
}

/** Clients of the app's own (which the handler cannot know the bounds of). */
const ownClients = () => ({
  dynamodb: documentClient(new DynamoDBClient({ region: 'eu-west-1' })),
  sns: new SNSClient({ region: 'eu-west-1' }),
  sqs: new SQSClient({ region: 'eu-west-1' }),
});

/** A Lambda context with `leftMs` of its invocation left. */
const timeLeft = (leftMs: () => number) => ({ getRemainingTimeInMillis: leftMs });
const ample = timeLeft(() => 60_000);

const failedIds = (response: { batchItemFailures: { itemIdentifier: string }[] }) =>
  response.batchItemFailures.map((failure) => failure.itemIdentifier);
const view = (accountId: string) => db.item(VIEW_TABLE, { pk: accountId });
const linesSaying = (message: string) => lines.filter((line) => line.message === message);
const emfLines = () => lines.filter((line) => line._aws !== undefined);

/** Counts that a test reads back. */
function recordingMetrics() {
  const counts: Record<string, number> = {};
  let published = 0;
  const metrics: CountMetrics = {
    add: (name, count) => {
      counts[name] = (counts[name] ?? 0) + count;
    },
    publish: () => {
      published++;
    },
  };
  return { metrics, counts, published: () => published };
}

beforeEach(() => {
  ddb.reset();
  sns.reset();
  sqs.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
  sqs.onAnyCommand().resolves({});
  db = new InMemoryDynamoDb(
    { [INBOX_TABLE]: ['pk', 'sk'], [VIEW_TABLE]: ['pk'] },
    { [INBOX_TABLE]: { [ATTENTION_INDEX]: { keys: ['attention', 'since'], projection: 'KEYS_ONLY' } } },
  );
  db.install(ddb);
  lines = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    return true;
  });
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('fifoConsumerHandler, with only what the shop gives it', () => {
  it('applies each key’s messages in order, on the inbox the construct configured, and acknowledges them', async () => {
    // GIVEN
    const handler = fifoConsumerHandler(shopOptions);

    // WHEN account-1's 1 and 2, account-2's 1, and account-3's 2 ahead of its 1
    const response = await handler(
      {
        Records: [
          delivery('account-1', 1),
          delivery('account-2', 1),
          delivery('account-1', 2),
          delivery('account-3', 2),
        ],
      },
      ample,
    );

    // THEN every record is acknowledged, each view item is at its key's last sequence
    expect(response).toEqual({ batchItemFailures: [] });
    expect(view('account-1')).toMatchObject({ pk: 'account-1', lastSequence: 2 });
    expect(view('account-2')).toMatchObject({ pk: 'account-2', lastSequence: 1 });
    // and the message ahead of its gap is held in the inbox table named by INBOX_TABLE_NAME
    expect(view('account-3')).toMatchObject({ heldCount: 1 });
    expect(inboxOf(db).held('account-3', 2)).toBeDefined();
  });

  it('is a Lambda handler of @types/aws-lambda’s SQS event, context and batch response', async () => {
    // GIVEN
    const handler: Handler<SQSEvent, SQSBatchResponse> = fifoConsumerHandler(shopOptions);
    const event = { Records: [delivery('account-1', 1)] } as unknown as SQSEvent;

    // WHEN
    const response = await handler(event, ample as Context, () => {});

    // THEN
    expect(response).toEqual({ batchItemFailures: [] });
  });

  it('logs one JSON line per consumed message: its id, key, sequence, type and outcome', async () => {
    // GIVEN
    const handler = fifoConsumerHandler(shopOptions);

    // WHEN
    await handler(
      { Records: [delivery('account-1', 1), delivery('account-1', 1), delivery('account-1', 3)] },
      ample,
    );

    // THEN
    expect(linesSaying('consumed')).toEqual([
      expect.objectContaining({
        level: 'INFO',
        messageId: 'msg-account-1-1',
        groupKey: 'account-1',
        sequence: 1,
        type: 'BalanceChanged',
        outcome: 'APPLIED',
        released: [],
      }),
      expect.objectContaining({ messageId: 'msg-account-1-1', outcome: 'DUPLICATE' }),
      expect.objectContaining({ messageId: 'msg-account-1-3', sequence: 3, outcome: 'HELD' }),
    ]);
    expect(typeof linesSaying('consumed')[0]?.timestamp).toBe('string');
  });

  it('fails a record and the rest of its group when one fails, and acknowledges the other groups', async () => {
    // GIVEN account-1's first message fails (not yet often enough to park its key)
    const handler = fifoConsumerHandler({
      ...shopOptions,
      beforeEffects: async (message) => {
        if (message.groupKey === 'account-1') throw new Error('projection unavailable');
      },
    });

    // WHEN
    const response = await handler(
      { Records: [delivery('account-1', 1), delivery('account-2', 1), delivery('account-1', 2)] },
      ample,
    );

    // THEN account-1's records are redelivered, account-2's is applied
    expect(failedIds(response)).toEqual(['account-1-1', 'account-1-2']);
    expect(view('account-2')).toMatchObject({ lastSequence: 1 });
    expect(view('account-1')).toBeUndefined();
    // and the failure is one JSON line, with its error
    expect(linesSaying('record failed; it and the rest of its group will be redelivered')).toEqual([
      expect.objectContaining({
        level: 'WARN',
        sqsMessageId: 'account-1-1',
        groupKey: 'account-1',
        error: { name: 'Error', message: 'projection unavailable' },
      }),
    ]);
  });
});

describe('fifoConsumerHandler and the cursor table the construct declared', () => {
  const declared = { ...CONSTRUCT_ENVIRONMENT, CURSOR_TABLE_NAME: VIEW_TABLE, CURSOR_KEY_ATTRIBUTE: 'pk' };

  it('keeps the cursors in the declared table, keyed by its key attribute, with no cursor option', async () => {
    // GIVEN only the environment IdempotentConsumer's cursorTable writes
    const handler = fifoConsumerHandler({ env: declared });

    // WHEN
    const response = await handler({ Records: [delivery('account-1', 1), delivery('account-1', 2)] }, ample);

    // THEN the view item of the account is its cursor
    expect(response).toEqual({ batchItemFailures: [] });
    expect(view('account-1')).toMatchObject({ pk: 'account-1', lastSequence: 2 });
  });

  it('keeps the cursors in the inbox when no table is declared', async () => {
    // GIVEN
    const handler = fifoConsumerHandler({ env: CONSTRUCT_ENVIRONMENT });

    // WHEN
    await handler({ Records: [delivery('account-1', 1)] }, ample);

    // THEN
    expect(view('account-1')).toBeUndefined();
    expect(db.item(INBOX_TABLE, { pk: 'KEY#account-1', sk: 'CURSOR' })).toMatchObject({ lastSequence: 1 });
  });

  it('takes the cursor the app names over the declared one', async () => {
    // GIVEN a declared table, and another one named by the app
    const handler = fifoConsumerHandler({
      env: { ...declared, CURSOR_TABLE_NAME: 'not-this-one' },
      cursor: { tableName: VIEW_TABLE, key: (accountId) => ({ pk: accountId }) },
    });

    // WHEN
    await handler({ Records: [delivery('account-1', 1)] }, ample);

    // THEN
    expect(view('account-1')).toMatchObject({ lastSequence: 1 });
  });

  it.each([
    ['CURSOR_TABLE_NAME', 'CURSOR_KEY_ATTRIBUTE'],
    ['CURSOR_KEY_ATTRIBUTE', 'CURSOR_TABLE_NAME'],
  ])('fails at start if %s is set without %s', (given, missing) => {
    expect(() => fifoConsumerHandler({ env: { ...CONSTRUCT_ENVIRONMENT, [given]: 'x' } })).toThrow(
      new RegExp(`environment variable ${missing} is required`),
    );
  });
});

describe('fifoConsumerHandler near the invocation’s timeout', () => {
  it('fails if a record would start with less than the 5 s reserve left: it and the rest of its group are redelivered', async () => {
    // GIVEN 13 s left, and every message takes 4 s: a1 starts with 13 s, a2 with 9 s, a3 would with 5 s, a4 with 1 s
    let leftMs = 13_000;
    const handler = fifoConsumerHandler({
      ...shopOptions,
      beforeEffects: async () => {
        leftMs -= 4_000;
      },
    });

    // WHEN
    const response = await handler(
      { Records: [1, 2, 3, 4].map((sequence) => delivery('account-1', sequence)) },
      timeLeft(() => leftMs),
    );

    // THEN a3 started with exactly the reserve left; a4 did not start and is reported failed, not acknowledged
    expect(view('account-1')).toMatchObject({ lastSequence: 3 });
    expect(failedIds(response)).toEqual(['account-1-4']);
    expect(linesSaying('record failed; it and the rest of its group will be redelivered')).toEqual([
      expect.objectContaining({
        sqsMessageId: 'account-1-4',
        error: expect.objectContaining({ name: 'OutOfTimeError' }),
      }),
    ]);
  });

  it('starts no record with just under 5 s left, and takes the reserve it is given', async () => {
    // GIVEN
    const byDefault = fifoConsumerHandler(shopOptions);
    const smallerReserve = fifoConsumerHandler({ ...shopOptions, reserveMs: 1_000, ...ownClients() });

    // WHEN
    const refused = await byDefault(
      { Records: [delivery('account-1', 1)] },
      timeLeft(() => 4_999),
    );
    const started = await smallerReserve(
      { Records: [delivery('account-2', 1)] },
      timeLeft(() => 4_999),
    );

    // THEN
    expect(failedIds(refused)).toEqual(['account-1-1']);
    expect(failedIds(started)).toEqual([]);
    expect(view('account-2')).toMatchObject({ lastSequence: 1 });
  });

  it('keeps the reserve for the consumer’s in-process retries too: none starts under it', async () => {
    // GIVEN exactly the reserve left, and the first write's answer lost (a transient error, after it landed)
    const handler = fifoConsumerHandler({ ...shopOptions, transientRetry: { random: () => 0.99 } });
    db.loseAnswer('Update');

    // WHEN
    const response = await handler(
      { Records: [delivery('account-1', 1)] },
      timeLeft(() => 5_000),
    );

    // THEN no retry started (it would have found the write landed and acknowledged it): the record is redelivered
    expect(failedIds(response)).toEqual(['account-1-1']);
    expect(linesSaying('record failed; it and the rest of its group will be redelivered')).toEqual([
      expect.objectContaining({ error: expect.objectContaining({ name: 'TransientFailureError' }) }),
    ]);
  });
});

describe('fifoConsumerHandler and bodies that are no valid envelope', () => {
  it('parks a message whose body is no valid envelope, with its reason, alerts and counts it, and acknowledges it', async () => {
    // GIVEN account-1 at 1, and its message 2 without a type
    const handler = fifoConsumerHandler(shopOptions);
    await handler({ Records: [delivery('account-1', 1)] }, ample);
    lines = [];

    // WHEN
    const response = await handler({ Records: [delivery('account-1', 2, '')] }, ample);

    // THEN it is parked with the reason, never applied, and acknowledged (not left to the dead-letter queue)
    expect(response).toEqual({ batchItemFailures: [] });
    expect(inboxOf(db).parked('account-1', 2)).toMatchObject({
      reason: expect.stringContaining('InvalidEnvelopeError'),
    });
    expect(view('account-1')).toMatchObject({ lastSequence: 1, parked: true });
    // the construct's alert went out, the parked key is logged and counted
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input.TopicArn).toBe(ALERT_TOPIC_ARN);
    expect(linesSaying('key parked: a message keeps failing; the key waits for a replay')).toEqual([
      expect.objectContaining({ level: 'ERROR', groupKey: 'account-1', sequence: 2, failures: 0 }),
    ]);
    expect(linesSaying('consumed')).toEqual([expect.objectContaining({ sequence: 2, outcome: 'PARKED' })]);
    expect(emfLines()).toEqual([
      {
        _aws: {
          Timestamp: expect.any(Number),
          CloudWatchMetrics: [
            {
              Namespace: 'ReliableMessaging',
              Dimensions: [['service', 'stack']],
              Metrics: [{ Name: 'KeysParked', Unit: 'Count' }],
            },
          ],
        },
        service: 'idempotent-consumer',
        stack: 'ShopMessaging',
        KeysParked: 1,
      },
    ]);
  });

  it('reports, counts and fails a body whose key cannot be read: never a silent dead letter', async () => {
    // GIVEN
    const handler = fifoConsumerHandler(shopOptions);

    // WHEN
    const response = await handler(
      { Records: [record('garbled', 'not json'), delivery('account-1', 1)] },
      ample,
    );

    // THEN it fails (on to the dead-letter queue after its retries), the other key flows
    expect(failedIds(response)).toEqual(['garbled']);
    expect(view('account-1')).toMatchObject({ lastSequence: 1 });
    expect(
      linesSaying(
        'unreadable message: neither parked nor applied; after its retries it goes to the dead-letter queue',
      ),
    ).toEqual([
      expect.objectContaining({
        level: 'ERROR',
        sqsMessageId: 'garbled',
        groupKey: 'message:garbled',
        error: expect.objectContaining({ name: 'UnreadableMessageError' }),
      }),
    ]);
    // told once, as unreadable, not also as an ordinary failure
    expect(linesSaying('record failed; it and the rest of its group will be redelivered')).toEqual([]);
    expect(emfLines()).toEqual([
      expect.objectContaining({ UnreadableMessages: 1, service: 'idempotent-consumer' }),
    ]);
  });
});

describe('fifoConsumerHandler’s defaults, overridden', () => {
  it('tells the hooks and counts on the metrics it is given, instead of its JSON lines', async () => {
    // GIVEN
    const told: string[] = [];
    const { metrics, counts, published } = recordingMetrics();
    const handler = fifoConsumerHandler({
      ...shopOptions,
      metrics,
      onConsumed: (received, result: BodyConsumeResult) => {
        told.push(`consumed ${received.messageId} ${result.outcome}`);
      },
      onFailure: (received, error) => told.push(`failed ${received.messageId} ${(error as Error).name}`),
      onUnreadable: (received) => told.push(`unreadable ${received.messageId}`),
      onParked: (parked) => {
        told.push(`parked ${parked.groupKey}`);
      },
    });

    // WHEN
    const response = await handler(
      { Records: [delivery('account-1', 1, ''), record('garbled', '{}'), delivery('account-2', 1)] },
      ample,
    );
    await handler(
      { Records: [delivery('account-3', 1)] },
      timeLeft(() => 1_000),
    );

    // THEN
    expect(failedIds(response)).toEqual(['garbled']);
    expect(told.sort()).toEqual([
      'consumed account-1-1 PARKED',
      'consumed account-2-1 APPLIED',
      'failed account-3-1 OutOfTimeError',
      'parked account-1',
      'unreadable garbled',
    ]);
    expect(counts).toEqual({ KeysParked: 1, UnreadableMessages: 1 });
    expect(published()).toBe(2);
    expect(lines).toEqual([]);
  });

  it('fails a record whose onConsumed throws (a crash after the effect, before the ack)', async () => {
    // GIVEN
    const handler = fifoConsumerHandler({
      ...shopOptions,
      onConsumed: async () => {
        throw new Error('crashed after the effect');
      },
    });

    // WHEN
    const response = await handler({ Records: [delivery('account-1', 1), delivery('account-1', 2)] }, ample);

    // THEN the effect is applied, but the record and the rest of its group are redelivered
    expect(view('account-1')).toMatchObject({ lastSequence: 1 });
    expect(failedIds(response)).toEqual(['account-1-1', 'account-1-2']);
  });

  it('uses the clients it is given', async () => {
    // GIVEN clients of their own (the reference app's, with fault injection and unit accounting)
    const given = new SNSClient({ region: 'eu-west-1' });
    const handler = fifoConsumerHandler({ ...shopOptions, sns: given });

    // WHEN a key parks
    await handler({ Records: [delivery('account-1', 1, '')] }, ample);

    // THEN the alert went through the given client
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(sns.commandCalls(PublishCommand)[0]?.thisValue).toBe(given);
  });
});

describe('fifoConsumerHandler’s clients', () => {
  it('continues a long held chain’s release through the queue, with the SQS client it is given or builds bounded', async () => {
    // GIVEN account-1's 2 and 3 held, a release of at most one held message per delivery, and two handlers
    const given = new SQSClient({ region: 'eu-west-1' });
    const sent: { queueUrl: unknown; client: unknown }[] = [];
    sqs.onAnyCommand().callsFake((input, getClient) => {
      sent.push({ queueUrl: input.QueueUrl, client: getClient() });
      return {};
    });
    const withGiven = fifoConsumerHandler({ ...shopOptions, sqs: given, maxReleasePerDelivery: 1 });
    const withBuilt = fifoConsumerHandler({ ...shopOptions, maxReleasePerDelivery: 1 });
    await withGiven({ Records: [delivery('account-1', 2), delivery('account-1', 3)] }, ample);
    await withBuilt({ Records: [delivery('account-2', 2), delivery('account-2', 3)] }, ample);

    // WHEN each key's message 1 arrives
    await withGiven({ Records: [delivery('account-1', 1)] }, ample);
    await withBuilt({ Records: [delivery('account-2', 1)] }, ample);

    // THEN each applied 1 and 2, and put 3 back on the construct's queue, through its client
    expect(view('account-1')).toMatchObject({ lastSequence: 2 });
    expect(sent).toHaveLength(2);
    expect(sent[0]).toEqual({ queueUrl: CONSTRUCT_ENVIRONMENT.QUEUE_URL, client: given });
    const built = sent[1]?.client as SQSClient;
    expect(built).not.toBe(given);
    expect(await built.config.maxAttempts()).toBe(2);
  });

  it('builds clients whose calls end within the reserve, with the SDK bounds of the environment', async () => {
    // GIVEN the DynamoDB and SNS clients it builds, seen as they make their calls
    const clients: { maxAttempts: () => Promise<number>; requestHandler: unknown }[] = [];
    ddb.reset();
    ddb.onAnyCommand().callsFake((_input, getClient) => {
      clients.push(getClient().config as unknown as (typeof clients)[number]);
      return {};
    });
    sns.on(PublishCommand).callsFake((_input, getClient) => {
      clients.push(getClient().config as unknown as (typeof clients)[number]);
      return {};
    });
    const handler = fifoConsumerHandler({
      ...shopOptions,
      env: { ...CONSTRUCT_ENVIRONMENT, SDK_REQUEST_TIMEOUT_MS: '700' },
    });

    // WHEN a message that is no valid envelope parks its key: DynamoDB calls, then the alert (an SNS call)
    await handler({ Records: [delivery('account-1', 1, '')] }, ample);

    // THEN every call of both clients is bounded: 2 attempts, each timing out (and throwing) in time
    expect(sns.commandCalls(PublishCommand)).toHaveLength(1);
    expect(clients.length).toBe(ddb.calls().length + 1);
    for (const config of clients) {
      expect(await config.maxAttempts()).toBe(2);
      const requestHandler = config.requestHandler as { configProvider: Promise<unknown> };
      expect(await requestHandler.configProvider).toMatchObject({
        connectionTimeout: 1_000,
        requestTimeout: 700,
        throwOnRequestTimeout: true,
      });
    }
  });

  it('fails if the reserve is below the longest call of the clients it builds, and takes any reserve with clients of your own', () => {
    // WHEN / THEN the default bounds: a call ends within 4.5 s
    expect(() => fifoConsumerHandler({ ...shopOptions, reserveMs: 4_499 })).toThrow(
      new ConfigurationError(
        "reserveMs (4499) is below the longest SDK call of the consumer's clients (4500 ms): a call started just above the reserve could run into the timeout; raise reserveMs or lower the SDK bounds",
      ),
    );
    expect(() => fifoConsumerHandler({ ...shopOptions, reserveMs: 4_500 })).not.toThrow();
    expect(() =>
      fifoConsumerHandler({ ...shopOptions, ...ownClients(), sqs: undefined, reserveMs: 1_000 }),
    ).toThrow(ConfigurationError);
    expect(() => fifoConsumerHandler({ ...shopOptions, ...ownClients(), reserveMs: 1_000 })).not.toThrow();
    expect(() => fifoConsumerHandler({ ...shopOptions, ...ownClients(), reserveMs: 0 })).not.toThrow();
  });

  it.each(['dynamodb', 'sns', 'sqs'] as const)(
    'checks the reserve when it builds the %s client',
    (client) => {
      expect(() =>
        fifoConsumerHandler({ ...shopOptions, ...ownClients(), [client]: undefined, reserveMs: 1_000 }),
      ).toThrow('reserveMs (1000) is below the longest SDK call');
    },
  );

  it.each([Number.NaN, -1, Number.POSITIVE_INFINITY])('fails if the reserve is %s', (reserveMs) => {
    expect(() => fifoConsumerHandler({ ...shopOptions, ...ownClients(), reserveMs })).toThrow(
      `reserveMs must be a number of milliseconds ≥ 0; got ${reserveMs}`,
    );
  });
});

describe('fifoConsumerHandler’s environment', () => {
  it.each(['INBOX_TABLE_NAME', 'ALERT_TOPIC_ARN', 'PARK_AFTER_FAILURES', 'METRICS_STACK_NAME'])(
    'fails at the function’s start if %s is missing, naming it and who sets it',
    (name) => {
      // GIVEN
      const env = { ...CONSTRUCT_ENVIRONMENT, [name]: undefined };

      // WHEN
      const failure = (() => {
        try {
          fifoConsumerHandler({ ...shopOptions, env });
        } catch (error) {
          return error;
        }
      })();

      // THEN
      expect(failure).toEqual(
        new ConfigurationError(
          `fifoConsumerHandler: environment variable ${name} is required but not set. The IdempotentConsumer construct sets it on the function it is given as \`handler\`: give this function to an IdempotentConsumer (or pass \`env\`)`,
        ),
      );
      expect((failure as Error).cause).toEqual(
        new ConfigurationError(`environment variable ${name} is required but not set`),
      );
    },
  );

  it('lets an error that is no configuration error through unchanged', () => {
    // GIVEN an environment that cannot be read
    const unreadable = new Proxy<Record<string, string>>(
      {},
      {
        get: () => {
          throw new TypeError('environment unavailable');
        },
      },
    );

    // WHEN / THEN
    expect(() => fifoConsumerHandler({ ...shopOptions, env: unreadable })).toThrow(
      new TypeError('environment unavailable'),
    );
  });

  it('fails with the same clear error when an SDK bound in the environment is malformed', () => {
    expect(() =>
      fifoConsumerHandler({ ...shopOptions, env: { ...CONSTRUCT_ENVIRONMENT, SDK_MAX_ATTEMPTS: 'two' } }),
    ).toThrow(
      "fifoConsumerHandler: environment variable SDK_MAX_ATTEMPTS must be a positive integer; got 'two'",
    );
  });

  it('reads process.env by default', async () => {
    // GIVEN a function the construct did not configure
    for (const name of Object.keys(CONSTRUCT_ENVIRONMENT)) vi.stubEnv(name, undefined);

    // WHEN / THEN
    expect(() => fifoConsumerHandler({ cursor: shopOptions.cursor })).toThrow('IdempotentConsumer');
    for (const [name, value] of Object.entries(CONSTRUCT_ENVIRONMENT)) vi.stubEnv(name, value);
    const handler = fifoConsumerHandler({ cursor: shopOptions.cursor });
    expect(await handler({ Records: [delivery('account-1', 1)] }, ample)).toEqual({ batchItemFailures: [] });
    expect(linesSaying('consumed')).toEqual([expect.objectContaining({ outcome: 'APPLIED' })]);
  });

  it('needs none of it with metrics given, for a consumer built by the app (fifoConsumerHandlerOf)', async () => {
    // GIVEN
    const consumer = new IdempotentConsumer({
      dynamodb: documentClient(new DynamoDBClient({ region: 'eu-west-1' })),
      inboxTableName: INBOX_TABLE,
      retentionSeconds: 3_600,
      claimSeconds: 60,
      effects: [],
      cursor: shopOptions.cursor,
      onUnreadable: () => {},
    });
    const { metrics, counts } = recordingMetrics();

    // WHEN
    expect(() => fifoConsumerHandlerOf(consumer, { env: {} })).toThrow(
      'fifoConsumerHandlerOf: environment variable METRICS_STACK_NAME is required but not set.',
    );
    vi.stubEnv('METRICS_STACK_NAME', 'ShopMessaging');
    expect(() => fifoConsumerHandlerOf(consumer)).not.toThrow(); // (process.env, by default)
    const handler = fifoConsumerHandlerOf(consumer, { env: {}, metrics });
    const response = await handler(
      { Records: [delivery('account-1', 1), record('garbled', '[]'), delivery('account-2', 1)] },
      timeLeft(() => 5_000),
    );
    const late = await handler(
      { Records: [delivery('account-3', 1)] },
      timeLeft(() => 4_999),
    );

    // THEN the same glue: the time reserve, unreadable bodies reported and counted, the partial batch response
    expect(failedIds(response)).toEqual(['garbled']);
    expect(failedIds(late)).toEqual(['account-3-1']);
    expect(counts).toEqual({ UnreadableMessages: 1 });
    expect(view('account-2')).toMatchObject({ lastSequence: 1 });
    expect(linesSaying('consumed')).toHaveLength(2);
  });
});

describe('fifoConsumerHandler in a consumer group', () => {
  const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
  const shipping = {
    ...CONSTRUCT_ENVIRONMENT,
    CONSUMER_GROUP: 'shipping',
    CONSUMER_MESSAGE_TYPES: JSON.stringify(['BalanceChanged']),
  };

  /** A queue record of message `sequence` of `accountId`, carrying the producer's trace context. */
  function traced(accountId: string, sequence: number, type = 'BalanceChanged'): FifoRecord {
    const message = {
      ...envelope(accountId, sequence, type, { balance: sequence }),
      traceparent: TRACEPARENT,
    };
    return record(`${accountId}-${sequence}`, JSON.stringify(message), accountId);
  }

  it('applies the types CONSUMER_MESSAGE_TYPES names and only moves the cursor for the others (SKIPPED)', async () => {
    // GIVEN a consumer of BalanceChanged only, whose effect logs what it sees
    const seen: number[] = [];
    const handler = fifoConsumerHandler({
      ...shopOptions,
      env: shipping,
      beforeEffects: async (message) => {
        seen.push(message.sequence);
      },
    });

    // WHEN account-1's 1 (wanted), 2 (a statement, not wanted) and 3 (wanted)
    const response = await handler(
      {
        Records: [traced('account-1', 1), traced('account-1', 2, 'StatementIssued'), traced('account-1', 3)],
      },
      ample,
    );

    // THEN all are acknowledged, the cursor is at 3, and only 1 and 3 ran
    expect(response).toEqual({ batchItemFailures: [] });
    expect(view('account-1')).toMatchObject({ lastSequence: 3 });
    expect(seen).toEqual([1, 3]);
    expect(linesSaying('consumed').map((line) => line.outcome)).toEqual(['APPLIED', 'SKIPPED', 'APPLIED']);
  });

  it('takes the types the app names over CONSUMER_MESSAGE_TYPES', async () => {
    // GIVEN
    const handler = fifoConsumerHandler({ ...shopOptions, env: shipping, messageTypes: ['StatementIssued'] });

    // WHEN
    await handler({ Records: [traced('account-1', 1)] }, ample);

    // THEN
    expect(linesSaying('consumed')).toEqual([expect.objectContaining({ outcome: 'SKIPPED' })]);
  });

  it('fails at start if CONSUMER_MESSAGE_TYPES is malformed, naming it', () => {
    expect(() =>
      fifoConsumerHandler({ ...shopOptions, env: { ...shipping, CONSUMER_MESSAGE_TYPES: 'BalanceChanged' } }),
    ).toThrow(/^fifoConsumerHandler: environment variable CONSUMER_MESSAGE_TYPES must be a JSON array/);
    expect(() =>
      fifoConsumerHandler({ ...shopOptions, env: { ...shipping, CONSUMER_MESSAGE_TYPES: '[]' } }),
    ).toThrow(ConfigurationError);
  });

  it('puts the message’s id, key, sequence, traceparent and the group on every line it logs', async () => {
    // GIVEN account-2's message 1 fails twice (a poison message) and parks its key on its third delivery
    const handler = fifoConsumerHandler({
      ...shopOptions,
      env: shipping,
      beforeEffects: async (message) => {
        if (message.groupKey === 'account-2') throw new Error('label printer jammed');
      },
    });
    const correlation = (accountId: string, sequence: number) => ({
      messageId: `msg-${accountId}-${sequence}`,
      groupKey: accountId,
      sequence,
      traceparent: TRACEPARENT,
      group: 'shipping',
    });

    // WHEN
    await handler({ Records: [traced('account-1', 1), traced('account-2', 1)] }, ample);
    await handler({ Records: [traced('account-2', 1)] }, ample);
    await handler({ Records: [traced('account-2', 1)] }, ample);

    // THEN the consumed, failed and parked lines all carry the correlation fields
    expect(linesSaying('consumed')).toEqual([
      expect.objectContaining({ ...correlation('account-1', 1), outcome: 'APPLIED' }),
      expect.objectContaining({ ...correlation('account-2', 1), outcome: 'PARKED' }),
    ]);
    expect(linesSaying('record failed; it and the rest of its group will be redelivered')).toEqual([
      expect.objectContaining({ ...correlation('account-2', 1), sqsMessageId: 'account-2-1' }),
      expect.objectContaining({ ...correlation('account-2', 1), sqsMessageId: 'account-2-1' }),
    ]);
    expect(linesSaying('key parked: a message keeps failing; the key waits for a replay')).toEqual([
      expect.objectContaining(correlation('account-2', 1)),
    ]);
    // and the KeyParked alert names the group and carries the trace context
    const alert = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    expect(alert?.Subject).toBe('Key account-2 parked in group shipping');
    expect(JSON.parse(String(alert?.Message))).toMatchObject({
      alert: 'KeyParked',
      group: 'shipping',
      groupKey: 'account-2',
      traceparent: TRACEPARENT,
    });
  });

  it('logs no traceparent or group when the envelope has none and the consumer belongs to no group', async () => {
    // GIVEN
    const handler = fifoConsumerHandler(shopOptions);

    // WHEN
    await handler({ Records: [delivery('account-1', 1)] }, ample);

    // THEN
    const [consumed] = linesSaying('consumed');
    expect(consumed).toMatchObject({ messageId: 'msg-account-1-1', groupKey: 'account-1', sequence: 1 });
    expect(consumed).not.toHaveProperty('traceparent');
    expect(consumed).not.toHaveProperty('group');
  });

  it('fifoConsumerHandlerOf puts the group of its environment on its lines', async () => {
    // GIVEN a consumer built by the app
    const consumer = new IdempotentConsumer({
      dynamodb: documentClient(new DynamoDBClient({ region: 'eu-west-1' })),
      inboxTableName: INBOX_TABLE,
      retentionSeconds: 60,
      claimSeconds: 60,
      effects: [],
    });
    const handler = fifoConsumerHandlerOf(consumer, { env: shipping });

    // WHEN
    await handler({ Records: [traced('account-1', 1)] }, ample);

    // THEN
    expect(linesSaying('consumed')).toEqual([
      expect.objectContaining({ group: 'shipping', traceparent: TRACEPARENT, outcome: 'APPLIED' }),
    ]);
  });
});
