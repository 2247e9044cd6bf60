import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  ScanCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OutboxItem } from '../../../../functions/runtime/outbox/outbox-message';
import {
  openTransactionAttributes,
  unsentMessageAttributes,
} from '../../../../functions/runtime/outbox/unsent-index';
import { OutboxPublisher } from '../../../../functions/runtime/relay/outbox-publisher';
import { listFailed, retryFailed } from '../../../../functions/runtime/sweeper/outbox-repair';
import { OutboxSweeper, type SweepPolicy } from '../../../../functions/runtime/sweeper/outbox-sweeper';
import type { Item } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { type OutboxTable, outboxTable } from '../../../../tools/dynamodb/outbox-table';

const OUTBOX_TABLE = 'outbox-table';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const NOW = new Date('2026-03-05T08:00:00.000Z');
const DAY = 24 * 3600 * 1000;

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);

let table: OutboxTable;
let dynamodb: DynamoDBDocumentClient;

function outboxItem(groupKey: string, sequence: number, changes: Partial<OutboxItem> & Item = {}): Item {
  return {
    groupKey,
    sequence,
    messageId: `msg-${groupKey}-${sequence}`,
    type: 'OrderNoteAdded',
    payload: JSON.stringify({ groupKey, sequence }),
    status: 'PENDING',
    attempts: 0,
    createdAt: new Date(NOW.getTime() - DAY).toISOString(),
    ...unsentMessageAttributes(groupKey, sequence),
    ...changes,
  };
}

/** A message the sweeper gave up on after its 4 attempts. */
function failedItem(groupKey: string, sequence: number, changes: Partial<OutboxItem> & Item = {}): Item {
  return outboxItem(groupKey, sequence, {
    status: 'FAILED',
    attempts: 4,
    lastAttemptAt: new Date(NOW.getTime() - 3600_000).toISOString(),
    lastError: 'QueueUnreachableError: connect ECONNREFUSED',
    failedAt: new Date(NOW.getTime() - 3600_000).toISOString(),
    ...changes,
  });
}

const ids = (items: readonly { messageId: string }[]) => items.map((item) => item.messageId);
const scans = () => ddb.commandCalls(ScanCommand).map((call) => call.args[0].input);
const updates = () => ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
const isUpdateOf = (groupKey: string, sequence: number) => (input: UpdateCommandInput) =>
  input.Key?.groupKey === groupKey && input.Key?.sequence === sequence;

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  sns.reset();
  table = outboxTable(OUTBOX_TABLE);
  dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  table.db.install(ddb);
  sqs.onAnyCommand().rejects(new Error('unexpected SQS command'));
  sns.onAnyCommand().rejects(new Error('unexpected SNS command'));
});

describe('listFailed', () => {
  it('returns only the FAILED items, in key and sequence order, from consistent scans', async () => {
    // GIVEN
    table.seed(
      failedItem('order-b', 10),
      outboxItem('order-a', 2),
      failedItem('order-b', 2),
      failedItem('order-a', 3),
      outboxItem('order-c', 1, { status: 'PREPARED' }),
      failedItem('order-a', 1),
    );

    // WHEN
    const failed = await listFailed(dynamodb, OUTBOX_TABLE);

    // THEN
    expect(ids(failed)).toEqual(['msg-order-a-1', 'msg-order-a-3', 'msg-order-b-2', 'msg-order-b-10']);
    expect(failed[0]).toEqual(failedItem('order-a', 1));
    expect(scans()).toEqual([expect.objectContaining({ TableName: OUTBOX_TABLE, ConsistentRead: true })]);
    expect(updates()).toEqual([]);
  });

  it('reads every page, including pages the status filter left empty', async () => {
    // GIVEN two items per page: the first page holds no FAILED item
    table.db.scanPageSize = 2;
    table.seed(
      outboxItem('order-1', 1),
      outboxItem('order-1', 2),
      failedItem('order-2', 1),
      outboxItem('order-3', 1),
      outboxItem('order-3', 2),
      failedItem('order-4', 1),
    );

    // WHEN
    const failed = await listFailed(dynamodb, OUTBOX_TABLE);

    // THEN
    expect(ids(failed)).toEqual(['msg-order-2-1', 'msg-order-4-1']);
    expect(scans()).toHaveLength(3);
    expect(scans()[1]?.ExclusiveStartKey).toEqual({ groupKey: 'order-1', sequence: 2 });
  });

  it.each([
    ['one key', { groupKey: 'order-1' }, ['msg-order-1-1', 'msg-order-1-2']],
    ['one message', { messageId: 'msg-order-2-1' }, ['msg-order-2-1']],
    ['one message of one key', { groupKey: 'order-1', messageId: 'msg-order-1-2' }, ['msg-order-1-2']],
    ['a message of another key', { groupKey: 'order-1', messageId: 'msg-order-2-1' }, []],
  ])('keeps only the FAILED messages of %s', async (_case, filter, expected) => {
    // GIVEN
    table.seed(
      failedItem('order-1', 2),
      failedItem('order-2', 1),
      failedItem('order-1', 1),
      outboxItem('order-1', 3),
    );

    // WHEN
    const failed = await listFailed(dynamodb, OUTBOX_TABLE, filter);

    // THEN
    expect(ids(failed)).toEqual(expected);
  });

  it('returns nothing for an outbox without FAILED items', async () => {
    // GIVEN
    table.seed(outboxItem('order-1', 1));

    // WHEN / THEN
    expect(await listFailed(dynamodb, OUTBOX_TABLE)).toEqual([]);
  });
});

describe('retryFailed', () => {
  it('puts FAILED messages back to PENDING with a fresh attempt budget, and returns them', async () => {
    // GIVEN
    table.seed(failedItem('order-1', 1, { leaseUntil: 1 }), failedItem('order-2', 1));

    // WHEN
    const retried = await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

    // THEN
    expect(ids(retried)).toEqual(['msg-order-1-1', 'msg-order-2-1']);
    expect(table.item('order-1', 1)).toEqual({
      groupKey: 'order-1',
      sequence: 1,
      messageId: 'msg-order-1-1',
      type: 'OrderNoteAdded',
      payload: JSON.stringify({ groupKey: 'order-1', sequence: 1 }),
      status: 'PENDING',
      attempts: 0,
      createdAt: new Date(NOW.getTime() - DAY).toISOString(),
      lastError: 'QueueUnreachableError: connect ECONNREFUSED',
      retriedAt: NOW.toISOString(),
      ...unsentMessageAttributes('order-1', 1),
      writeToken: expect.any(String),
    });
    expect(table.item('order-2', 1)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('leaves PENDING and PREPARED messages alone', async () => {
    // GIVEN
    const pending = outboxItem('order-1', 1, { attempts: 2 });
    const prepared = outboxItem('order-2', 1, { status: 'PREPARED' });
    table.seed(pending, prepared, failedItem('order-3', 1));

    // WHEN
    const retried = await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

    // THEN
    expect(ids(retried)).toEqual(['msg-order-3-1']);
    expect(updates().map((update) => update.Key)).toEqual([{ groupKey: 'order-3', sequence: 1 }]);
    expect(table.item('order-1', 1)).toEqual(pending);
    expect(table.item('order-2', 1)).toEqual(prepared);
  });

  it('leaves a FAILED half message alone: a transaction is resolved by commit or rollback, never re-sent', async () => {
    // GIVEN a transaction the check-back gave up on, beside a FAILED message
    const half = {
      groupKey: 'TX#tx-1',
      sequence: 0,
      transactionId: 'tx-1',
      targetGroupKey: 'order-1',
      messageId: 'msg-tx-1',
      type: 'PaymentCaptured',
      payload: '{}',
      status: 'FAILED',
      createdAt: NOW.toISOString(),
      checkCount: 15,
      ...openTransactionAttributes('tx-1'),
    };
    table.seed(half, failedItem('order-2', 1));

    // WHEN
    const retried = await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

    // THEN
    expect(ids(retried)).toEqual(['msg-order-2-1']);
    expect(table.item('TX#tx-1', 0)).toEqual(half);
  });

  it("retries only the given key's messages, or only the given message", async () => {
    // GIVEN
    table.seed(
      failedItem('order-1', 1),
      failedItem('order-1', 2),
      failedItem('order-2', 1),
      failedItem('order-3', 1),
    );

    // WHEN
    const byKey = await retryFailed(dynamodb, OUTBOX_TABLE, { groupKey: 'order-1' }, NOW);
    const byMessage = await retryFailed(dynamodb, OUTBOX_TABLE, { messageId: 'msg-order-3-1' }, NOW);

    // THEN
    expect(ids(byKey)).toEqual(['msg-order-1-1', 'msg-order-1-2']);
    expect(ids(byMessage)).toEqual(['msg-order-3-1']);
    expect(table.item('order-2', 1)).toEqual(failedItem('order-2', 1));
    expect(table.all().map((item) => `${item.groupKey}/${item.sequence}:${item.status}`)).toEqual([
      'order-1/1:PENDING',
      'order-1/2:PENDING',
      'order-2/1:FAILED',
      'order-3/1:PENDING',
    ]);
  });

  it('skips the messages changed since they were listed, and goes on with the others', async () => {
    // GIVEN another operator retries order-1/1 (and a sweep sends it) meanwhile, and order-1/2 is deleted
    table.seed(failedItem('order-1', 1), failedItem('order-1', 2), failedItem('order-1', 3));
    const theirs = outboxItem('order-1', 1, { attempts: 1, lastAttemptAt: NOW.toISOString() });
    table.db.before('Update', isUpdateOf('order-1', 1), () => table.seed(theirs));
    table.db.before('Update', isUpdateOf('order-1', 2), () => table.remove('order-1', 2));

    // WHEN
    const retried = await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

    // THEN
    expect(ids(retried)).toEqual(['msg-order-1-3']);
    expect(table.item('order-1', 1)).toEqual(theirs);
    expect(table.item('order-1', 2)).toBeUndefined();
    expect(table.item('order-1', 3)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('reports a message as put back when the answer to its update was lost and the SDK retry failed against it', async () => {
    // GIVEN the update of order-1/1 lands, and its SDK retry meets its own write (ConditionalCheckFailed)
    table.seed(failedItem('order-1', 1), failedItem('order-1', 2));
    table.db.loseAnswer('Update', isUpdateOf('order-1', 1), 'sdk-retry');

    // WHEN
    const retried = await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

    // THEN
    expect(table.db.lostAnswerCount).toBe(1);
    expect(ids(retried)).toEqual(['msg-order-1-1', 'msg-order-1-2']);
    expect(table.item('order-1', 1)).toMatchObject({ status: 'PENDING', attempts: 0 });
  });

  it('fails on any other error', async () => {
    // GIVEN
    table.seed(failedItem('order-1', 1));
    const throttled = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    ddb.on(UpdateCommand).rejects(throttled);

    // WHEN / THEN
    await expect(retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW)).rejects.toBe(throttled);
  });

  it('returns nothing and writes nothing when nothing is FAILED', async () => {
    // GIVEN
    table.seed(outboxItem('order-1', 1));

    // WHEN
    const retried = await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

    // THEN
    expect(retried).toEqual([]);
    expect(updates()).toEqual([]);
  });

  describe('followed by a compensation sweep', () => {
    const policy: Partial<SweepPolicy> = {
      gracePeriodSeconds: 120,
      maxAttempts: 4,
      maxAgeSeconds: 24 * 3600,
      backoffBaseSeconds: 30,
      backoffMaxSeconds: 300,
      leaseSeconds: 60,
    };
    let clock: Date;
    let sent: string[];

    function sweeper(): OutboxSweeper {
      return new OutboxSweeper({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        relay: new OutboxPublisher({
          sqs: new SQSClient({ region: 'us-east-1' }),
          dynamodb,
          queueUrl: QUEUE_URL,
          outboxTableName: OUTBOX_TABLE,
        }),
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
        policy,
        clock: () => clock,
      });
    }

    function sqsAccepting(input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput {
      const entries = input.Entries ?? [];
      sent.push(...entries.map((entry) => entry.MessageDeduplicationId ?? ''));
      return {
        $metadata: {},
        Successful: entries.map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
        Failed: [],
      };
    }

    beforeEach(() => {
      clock = NOW;
      sent = [];
      sns.on(PublishCommand).resolves({ MessageId: 'alert' });
    });

    it('sends the retried messages, in order, and removes them from the outbox', async () => {
      // GIVEN
      table.seed(failedItem('order-1', 2), failedItem('order-1', 1), failedItem('order-2', 1));
      sqs.on(SendMessageBatchCommand).callsFake(sqsAccepting);
      await retryFailed(dynamodb, OUTBOX_TABLE, { groupKey: 'order-1' }, NOW);

      // WHEN
      const report = await sweeper().sweep();

      // THEN
      expect(sent).toEqual(['msg-order-1-1', 'msg-order-1-2']);
      expect(report).toMatchObject({ resent: 2, markedFailed: 0, failed: 1 });
      expect(table.all()).toEqual([failedItem('order-2', 1)]);
    });

    it('sends a message that had FAILED for its age: its maximum age counts from the retry', async () => {
      // GIVEN a message committed 3 days ago, FAILED for its age, retried now
      table.seed(
        failedItem('order-1', 1, {
          createdAt: new Date(NOW.getTime() - 3 * DAY).toISOString(),
          attempts: 2,
          lastError: 'never sent',
        }),
      );
      sqs.on(SendMessageBatchCommand).callsFake(sqsAccepting);
      await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

      // WHEN
      clock = new Date(NOW.getTime() + 60_000);
      const report = await sweeper().sweep();

      // THEN
      expect(report).toMatchObject({ resent: 1, markedFailed: 0 });
      expect(sent).toEqual(['msg-order-1-1']);
      expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    });

    it('gives up on a retried message again once maxAge has passed since the retry', async () => {
      // GIVEN a retried message the queue still refuses
      table.seed(failedItem('order-1', 1, { createdAt: new Date(NOW.getTime() - 3 * DAY).toISOString() }));
      sqs.on(SendMessageBatchCommand).rejects(new Error('queue unavailable'));
      await retryFailed(dynamodb, OUTBOX_TABLE, {}, NOW);

      // WHEN a sweep runs just before, and one just after, maxAge from the retry
      clock = new Date(NOW.getTime() + DAY);
      const before = await sweeper().sweep();
      clock = new Date(NOW.getTime() + DAY + 1000);
      const after = await sweeper().sweep();

      // THEN
      expect(before).toMatchObject({ sendFailures: 1, markedFailed: 0 });
      expect(after).toMatchObject({ sendFailures: 0, markedFailed: 1 });
      expect(table.item('order-1', 1)).toMatchObject({ status: 'FAILED', attempts: 1 });
      const alert = JSON.parse(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '{}') as unknown;
      expect(alert).toMatchObject({ messageId: 'msg-order-1-1', reason: 'max-age' });
    });
  });
});
