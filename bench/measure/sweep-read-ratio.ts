import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import {
  newOutboxItem,
  OutboxAudit,
  OutboxPublisher,
  OutboxSweeper,
} from 'reliable-messaging-serverless/runtime/bench-support';
import { InMemoryDynamoDb } from '../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../tools/dynamodb/outbox-table';
import { halfMessageGroupKey } from '../../tools/storage-keys';

/** Where the resolved half messages (7-day tombstones) live. */
export type HalfMessageTable = 'own-table' | 'outbox';

/** Read units of one sweeper run, by read path. */
export interface SweepRunReads {
  /** The audit's Scan of the outbox table (billed by the size of every item it read, whatever its filter kept). */
  readonly auditReadUnits: number;
  /** The index sweep's Queries of the `unsent` index. */
  readonly indexReadUnits: number;
  /** Both: what the run reads. */
  readonly readUnits: number;
}

export interface SweepReadRatio {
  readonly unsent: number;
  readonly delivered: number;
  readonly resolvedHalfMessages: number;
  /** Where the resolved half messages were: in a table of their own (the design's) or in the outbox table. */
  readonly halfMessagesIn: HalfMessageTable;
  /** Read units of one sweeper run (audit + index sweep) with only the unsent messages in the outbox. */
  readonly readUnitsUnsentOnly: number;
  /** Read units of the same run beside the delivered messages and the resolved half messages. */
  readonly readUnitsWithHistory: number;
  /** The two runs by read path. */
  readonly unsentOnly: SweepRunReads;
  readonly withHistory: SweepRunReads;
  /** What one full Scan of the outbox and its tombstones reads (what the sweep read before its index). */
  readonly readUnitsOfAScan: number;
  /** readUnitsWithHistory ÷ readUnitsUnsentOnly: both read paths, in both runs (target ≤ 1.2). */
  readonly ratio: number;
  /**
   * The same ratio with the resolved half messages in the outbox table (a stack that keeps them there): the
   * audit's Scan then reads every tombstone — why the half messages need a table of their own.
   */
  readonly ratioIfHalfMessagesInOutbox: number;
}

const OUTBOX = 'outbox';
const TRANSACTIONS = 'transactions';
const MINUTE = 60_000;

/**
 * `sweepReadRatio`, measured on the in-memory table (tools/dynamodb/in-memory-dynamodb.ts), which bills a Query
 * and a Scan as DynamoDB does — the bytes read, in 4 KB units, half a unit each when eventually consistent, at least
 * one per page. The emulator cannot hold 200,000 items in time for a bench run, nor does it report read units per
 * index query. One sweeper run is what its handler does: the audit (`OutboxAudit`: a Scan of the outbox table that
 * marks what nobody marked) and then the index sweep (`OutboxSweeper`); both read paths are counted. It runs
 * twice: with `unsent` due messages only — committed as the producer commits them (unmarked), so the audit finds
 * them and the sweep sends them — and with the same messages beside `history` delivered messages (committed, sent
 * and deleted, as the relay does) and `history` resolved half messages (tombstones kept for 7 days), in a table of
 * their own by default; `ratioIfHalfMessagesInOutbox` repeats the second run with the tombstones in the outbox.
 */
export async function measureSweepReadRatio(unsent = 10, history = 100_000): Promise<SweepReadRatio> {
  const only = await sweeperRun(unsent, 0, 'own-table');
  const beside = await sweeperRun(unsent, history, 'own-table');
  const besideInOutbox = await sweeperRun(unsent, history, 'outbox');
  return {
    unsent,
    delivered: history,
    resolvedHalfMessages: history,
    halfMessagesIn: 'own-table',
    readUnitsUnsentOnly: only.reads.readUnits,
    readUnitsWithHistory: beside.reads.readUnits,
    unsentOnly: only.reads,
    withHistory: beside.reads,
    readUnitsOfAScan: beside.scan,
    ratio: readRatio(beside.reads.readUnits, only.reads.readUnits),
    ratioIfHalfMessagesInOutbox: readRatio(besideInOutbox.reads.readUnits, only.reads.readUnits),
  };
}

/** Read units with history ÷ without, to 3 decimals; fails on a run that read nothing (no ratio to speak of). */
export function readRatio(withHistory: number, unsentOnly: number): number {
  if (!(unsentOnly > 0))
    throw new RangeError(`the run without history must read something; got ${unsentOnly}`);
  return Math.round((withHistory / unsentOnly) * 1000) / 1000;
}

async function sweeperRun(
  unsent: number,
  history: number,
  halfMessagesIn: HalfMessageTable,
): Promise<{ reads: SweepRunReads; scan: number }> {
  const now = new Date();
  const db = new InMemoryDynamoDb(
    { [OUTBOX]: OUTBOX_KEY, [TRANSACTIONS]: OUTBOX_KEY },
    { [OUTBOX]: OUTBOX_INDEXES, [TRANSACTIONS]: OUTBOX_INDEXES },
  );
  db.scanBilledBySize = true;
  const halfMessageTable = halfMessagesIn === 'outbox' ? OUTBOX : TRANSACTIONS;
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const sqs = new SQSClient({ region: 'us-east-1' });
  const dynamodbMock = mockClient(dynamodb);
  const sqsMock = mockClient(sqs);
  try {
    db.install(dynamodbMock);
    sqsMock.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => ({
      Successful: (input.Entries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: 'm',
        MD5OfMessageBody: 'x',
      })),
      Failed: [],
    }));
    const committedAt = new Date(now.getTime() - 10 * MINUTE);
    const payload = { orderId: 'order', text: 'a note of ordinary length for a bench message' };
    for (let n = 0; n < history; n++) {
      // A delivered message: committed, then deleted by the relay once sent.
      const delivered = newOutboxItem(
        { groupKey: `delivered-${n % 1000}`, sequence: n + 1, type: 'OrderNoteAdded', payload },
        committedAt,
      );
      db.seed(OUTBOX, { ...delivered });
      db.remove(OUTBOX, { groupKey: delivered.groupKey, sequence: delivered.sequence });
      // A resolved half message: its tombstone, kept until it expires, carries no index keys.
      const transactionId = randomUUID();
      db.seed(halfMessageTable, {
        groupKey: halfMessageGroupKey(transactionId),
        sequence: 0,
        transactionId,
        targetGroupKey: `order-${n}`,
        messageId: randomUUID(),
        type: 'PaymentCaptured',
        payload: JSON.stringify({ orderId: `order-${n}`, amount: 42 }),
        status: n % 2 === 0 ? 'COMMITTED' : 'ROLLED_BACK',
        createdAt: committedAt.toISOString(),
        resolvedAt: committedAt.toISOString(),
        expiresAt: Math.floor(now.getTime() / 1000) + 7 * 86_400,
      });
    }
    for (let n = 0; n < unsent; n++) {
      // As the producer commits it: in no index, until the audit marks it for the sweep.
      db.seed(OUTBOX, {
        ...newOutboxItem(
          { groupKey: `unsent-${n}`, sequence: 1, type: 'OrderNoteAdded', payload },
          committedAt,
        ),
      });
    }
    const audit = new OutboxAudit({ dynamodb, outboxTableName: OUTBOX, clock: () => now });
    const sweeper = new OutboxSweeper({
      dynamodb,
      sns: new SNSClient({ region: 'us-east-1' }),
      relay: new OutboxPublisher({
        sqs,
        dynamodb,
        queueUrl: 'https://sqs.local/bench.fifo',
        outboxTableName: OUTBOX,
      }),
      outboxTableName: OUTBOX,
      alertTopicArn: 'arn:aws:sns:us-east-1:000000000000:bench',
      clock: () => now,
    });
    const scan =
      Math.ceil(
        [...db.all(OUTBOX), ...(halfMessageTable === OUTBOX ? [] : db.all(halfMessageTable))].reduce(
          (bytes, item) => bytes + JSON.stringify(item).length,
          0,
        ) / 4096,
      ) / 2;
    const audited = await audit.audit();
    if (audited.marked !== unsent)
      throw new Error(`the bench audit marked ${audited.marked} of ${unsent} unmarked messages`);
    const swept = await sweeper.sweep();
    if (swept.resent !== unsent)
      throw new Error(`the bench sweep sent ${swept.resent} of ${unsent} messages`);
    return {
      reads: {
        auditReadUnits: audited.readCapacityUnits,
        indexReadUnits: swept.readCapacityUnits,
        readUnits: audited.readCapacityUnits + swept.readCapacityUnits,
      },
      scan,
    };
  } finally {
    dynamodbMock.restore();
    sqsMock.restore();
  }
}
