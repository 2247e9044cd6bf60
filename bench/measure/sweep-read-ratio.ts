import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { newOutboxItem, OutboxPublisher, OutboxSweeper } from 'reliable-messaging-serverless/runtime';
import { outboxTable } from '../../test/unit/support/outbox-table';

export interface SweepReadRatio {
  readonly unsent: number;
  readonly delivered: number;
  readonly resolvedHalfMessages: number;
  /** Read units of one sweep with only the unsent messages in the outbox. */
  readonly readUnitsUnsentOnly: number;
  /** Read units of the same sweep beside the delivered messages and the resolved half messages. */
  readonly readUnitsWithHistory: number;
  /** What one full Scan of that outbox reads (what the sweep read before its index). */
  readonly readUnitsOfAScan: number;
  readonly ratio: number;
}

const TABLE = 'outbox';
const MINUTE = 60_000;

/**
 * `sweepReadRatio`, measured on the in-memory table (test/unit/support/in-memory-dynamodb.ts), which bills a Query
 * as DynamoDB does — the bytes it read, in 4 KB units, half a unit each when eventually consistent, at least one
 * per page. The emulator cannot hold 200,000 items in time for a bench run, nor does it report read units per
 * index query. The real OutboxSweeper runs against it twice: with `unsent` due messages only, and with the
 * same messages beside `history` delivered messages (committed, sent and deleted, as the relay does) and `history`
 * resolved half messages (tombstones kept for 7 days).
 */
export async function measureSweepReadRatio(unsent = 10, history = 100_000): Promise<SweepReadRatio> {
  const only = await sweepReadUnits(unsent, 0);
  const beside = await sweepReadUnits(unsent, history);
  return {
    unsent,
    delivered: history,
    resolvedHalfMessages: history,
    readUnitsUnsentOnly: only.sweep,
    readUnitsWithHistory: beside.sweep,
    readUnitsOfAScan: beside.scan,
    ratio: Math.round((beside.sweep / only.sweep) * 1000) / 1000,
  };
}

async function sweepReadUnits(unsent: number, history: number): Promise<{ sweep: number; scan: number }> {
  const now = new Date();
  const table = outboxTable(TABLE);
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const sqs = new SQSClient({ region: 'us-east-1' });
  const dynamodbMock = mockClient(dynamodb);
  const sqsMock = mockClient(sqs);
  try {
    table.db.install(dynamodbMock);
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
      table.seed({ ...delivered });
      table.remove(delivered.groupKey, delivered.sequence);
      // A resolved half message: its tombstone, kept until it expires, carries no index keys.
      const transactionId = randomUUID();
      table.seed({
        groupKey: `TX#${transactionId}`,
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
      table.seed({
        ...newOutboxItem(
          { groupKey: `unsent-${n}`, sequence: 1, type: 'OrderNoteAdded', payload },
          committedAt,
        ),
      });
    }
    const sweeper = new OutboxSweeper({
      dynamodb,
      sns: new SNSClient({ region: 'us-east-1' }),
      relay: new OutboxPublisher({
        sqs,
        dynamodb,
        queueUrl: 'https://sqs.local/bench.fifo',
        outboxTableName: TABLE,
      }),
      outboxTableName: TABLE,
      alertTopicArn: 'arn:aws:sns:us-east-1:000000000000:bench',
      clock: () => now,
    });
    const scan =
      Math.ceil(table.all().reduce((bytes, item) => bytes + JSON.stringify(item).length, 0) / 4096) / 2;
    const report = await sweeper.sweep();
    if (report.resent !== unsent)
      throw new Error(`the bench sweep sent ${report.resent} of ${unsent} messages`);
    return { sweep: report.readCapacityUnits, scan };
  } finally {
    dynamodbMock.restore();
    sqsMock.restore();
  }
}
