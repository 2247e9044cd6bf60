import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { OutboxWriter } from 'reliable-messaging-serverless/runtime';
import {
  OutboxAudit,
  type OutboxItem,
  OutboxPublisher,
  OutboxSweeper,
} from 'reliable-messaging-serverless/runtime/bench-support';
import { InMemoryDynamoDb } from '../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../tools/dynamodb/outbox-table';

/** Write and read units per message of each way through the outbox, as the in-memory table bills them. */
export interface OutboxUnits {
  readonly messages: number;
  /** Producer: the business item and the outbox message in one transaction (index writes included). */
  readonly producerWriteUnits: number;
  /** Relay: sent, then deleted (index writes included). */
  readonly relayWriteUnits: number;
  /** The happy path at the outbox and producer (the consumer's 1 unit is not modelled here). */
  readonly happyPathWriteUnits: number;
  /** A relay send failure: what the relay writes for it, then what the sweep that sends it writes and reads. */
  readonly sendFailure: PathUnits;
  /** A stream record the relay never processed: what the sweep writes and reads to send it. */
  readonly neverRelayed: PathUnits;
  /** A relay that crashed between send and delete: what the sweep writes and reads to send it again. */
  readonly crashBeforeDelete: PathUnits;
  /** Read units of a sweep run with nothing unsent and nothing in flight. */
  readonly idleSweepReadUnits: number;
  /** Read units of a sweep run with `inFlight` messages committed and not relayed yet (younger than the grace). */
  readonly inFlightSweepReadUnits: number;
  readonly inFlight: number;
}

export interface PathUnits {
  /** Units per message written by the relay on that path (beyond the happy path's). */
  readonly relayWriteUnits: number;
  /** Units per message written by the sweep runs that sent it. */
  readonly sweepWriteUnits: number;
  /** Read units of those sweep runs, per message. */
  readonly sweepReadUnits: number;
  /** Sweep runs until everything was sent. */
  readonly sweepRuns: number;
}

const OUTBOX = 'outbox';
const BUSINESS = 'business';
const MINUTE = 60_000;

/** Measures the outbox's units on the in-memory table, with the real writer, relay and sweeper. */
export async function measureOutboxUnits(messages = 100, keys = 10, inFlight = 1000): Promise<OutboxUnits> {
  const happy = await scenario(messages, keys, 'happy');
  const sendFailure = await scenario(messages, keys, 'send-failure');
  const neverRelayed = await scenario(messages, keys, 'never-relayed');
  const crashBeforeDelete = await scenario(messages, keys, 'crash-before-delete');
  const idle = await scenario(0, keys, 'happy');
  const busy = await scenario(inFlight, 100, 'in-flight');
  return {
    messages,
    producerWriteUnits: happy.producer,
    relayWriteUnits: happy.relay,
    happyPathWriteUnits: round(happy.producer + happy.relay),
    sendFailure: sendFailure.path,
    neverRelayed: neverRelayed.path,
    crashBeforeDelete: crashBeforeDelete.path,
    idleSweepReadUnits: idle.idleRead,
    inFlightSweepReadUnits: busy.idleRead,
    inFlight,
  };
}

type Scenario = 'happy' | 'send-failure' | 'never-relayed' | 'crash-before-delete' | 'in-flight';

async function scenario(
  messages: number,
  keyCount: number,
  kind: Scenario,
): Promise<{ producer: number; relay: number; path: PathUnits; idleRead: number }> {
  let now = new Date('2026-12-01T12:00:00Z');
  const clock = () => now;
  const db = new InMemoryDynamoDb({ [OUTBOX]: OUTBOX_KEY, [BUSINESS]: ['pk'] }, { [OUTBOX]: OUTBOX_INDEXES });
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const sqs = new SQSClient({ region: 'us-east-1' });
  const dynamodbMock = mockClient(dynamodb);
  const sqsMock = mockClient(sqs);
  let sqsDown = false;
  db.scanBilledBySize = true;
  try {
    db.install(dynamodbMock);
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
      if (sqsDown) throw Object.assign(new Error('queue unavailable'), { name: 'QueueDoesNotExist' });
      return {
        Successful: (input.Entries ?? []).map((entry) => ({
          Id: entry.Id,
          MessageId: 'm',
          MD5OfMessageBody: 'x',
        })),
        Failed: [],
      };
    });
    const writer = new OutboxWriter(dynamodb, OUTBOX, clock);
    const payload = { orderId: 'order', text: 'a note of ordinary length for a bench message' };
    const committed: OutboxItem[] = [];
    const units = () => db.consumedWriteUnits;
    const start = units();
    for (let n = 0; n < messages; n++) {
      const key = `key-${n % keyCount}`;
      const sequence = Math.floor(n / keyCount) + 1;
      await writer.commit(
        [
          {
            Update: {
              TableName: BUSINESS,
              Key: { pk: key },
              UpdateExpression: 'SET version = :sequence, lastNote = :note',
              ExpressionAttributeValues: { ':sequence': sequence, ':note': `note ${sequence}` },
            },
          },
        ],
        { groupKey: key, sequence, type: 'OrderNoteAdded', payload },
      );
      committed.push(db.item(OUTBOX, { groupKey: key, sequence }) as unknown as OutboxItem);
    }
    const producer = units() - start;
    const relayCore = (hooks?: ConstructorParameters<typeof OutboxPublisher>[0]['hooks']) =>
      new OutboxPublisher({
        sqs,
        dynamodb,
        queueUrl: 'https://sqs.local/bench.fifo',
        outboxTableName: OUTBOX,
        ...(hooks === undefined ? {} : { hooks }),
        transientRetry: { maxAttempts: 1 },
      });
    const candidates = committed.map((item) => ({ recordId: item.messageId, item }));
    const beforeRelay = units();
    if (kind === 'happy') await relayCore().relay(candidates);
    if (kind === 'send-failure') {
      sqsDown = true;
      await relayCore().relay(candidates);
      sqsDown = false;
    }
    if (kind === 'crash-before-delete') {
      await relayCore({
        beforeDelete: async () => {
          throw new Error('crashed before the delete');
        },
      })
        .relay(candidates)
        .catch(() => undefined);
    }
    const relay = units() - beforeRelay;

    const sweeper = new OutboxSweeper({
      dynamodb,
      sns: new SNSClient({ region: 'us-east-1' }),
      relay: relayCore(),
      outboxTableName: OUTBOX,
      alertTopicArn: 'arn:aws:sns:us-east-1:000000000000:bench',
      clock,
    });
    // The sweeper's handler: an audit of the outbox (marking what nobody marked), then the sweep of the index.
    const audit = new OutboxAudit({ dynamodb, outboxTableName: OUTBOX, clock });
    const run = async () =>
      (await audit.audit()).readCapacityUnits + (await sweeper.sweep()).readCapacityUnits;
    let idleRead = 0;
    if (kind === 'in-flight' || messages === 0) idleRead = await run();
    const beforeSweep = units();
    let sweepRead = 0;
    let sweepRuns = 0;
    if (kind !== 'happy' && kind !== 'in-flight') {
      while (db.all(OUTBOX).length > 0 && sweepRuns < 10) {
        now = new Date(now.getTime() + 10 * MINUTE);
        sweepRead += await run();
        sweepRuns++;
      }
      if (db.all(OUTBOX).length > 0) throw new Error(`${kind}: 10 sweeps left messages unsent`);
    }
    const per = (value: number) => (messages === 0 ? 0 : round(value / messages));
    return {
      producer: per(producer),
      relay: per(relay),
      path: {
        relayWriteUnits: per(relay),
        sweepWriteUnits: per(units() - beforeSweep),
        sweepReadUnits: per(sweepRead),
        sweepRuns,
      },
      idleRead,
    };
  } finally {
    dynamodbMock.restore();
    sqsMock.restore();
  }
}

const round = (value: number) => Math.round(value * 1000) / 1000;
