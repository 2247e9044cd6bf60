import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type OutboxItem, parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import {
  MESSAGE_SHARDS,
  openTransactionAttributes,
  UNSENT_INDEX,
  unsentMessageAttributes,
} from '../../../../functions/runtime/outbox/unsent-index';
import { OutboxPublisher } from '../../../../functions/runtime/relay/outbox-publisher';
import {
  type FailedMessage,
  OutboxSweeper,
  SweepFailedError,
  type SweepPolicy,
  type SweepReport,
} from '../../../../functions/runtime/sweeper/outbox-sweeper';
import type { Item, LostAnswer } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { type OutboxTable, outboxTable } from '../../../../tools/dynamodb/outbox-table';
import { beforeEvery } from '../../support/dynamo-faults';

const OUTBOX_TABLE = 'outbox-table';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:outbox-alerts';
const START = new Date('2026-03-01T12:00:00.000Z');

const POLICY: SweepPolicy = {
  gracePeriodSeconds: 120,
  maxAttempts: 4,
  maxAgeSeconds: 3600,
  backoffBaseSeconds: 30,
  backoffMaxSeconds: 300,
  leaseSeconds: 60,
  concurrency: 4,
  pageSize: 500,
  stopBeforeTimeoutSeconds: 15,
};

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);

interface SentMessage {
  readonly messageId: string;
  readonly groupKey: string;
  readonly sequence: number;
}

let table: OutboxTable;
let now: Date;
/** Every message SQS accepted, in the order it accepted them. */
let sent: SentMessage[];
/** Messages (by messageId) SQS lists in Failed[], with this error message. */
let rejected: Map<string, string>;
/** Run, in turn, just before SQS serves the next SendMessageBatch. */
let beforeSend: Array<() => Promise<void>>;
let failedLog: FailedMessage[];
/** Alerts SNS did not take, as the sweeper reported them. */
let alertFailedLog: Array<{ messageId: string; error: unknown }>;

const secondsAgo = (seconds: number) => new Date(now.getTime() - seconds * 1000).toISOString();
const nowSeconds = () => Math.floor(now.getTime() / 1000);
const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};

/** A PENDING message committed 10 minutes ago (past the grace period), never tried. */
function message(groupKey: string, sequence: number, changes: Partial<OutboxItem> & Item = {}): Item {
  return {
    groupKey,
    sequence,
    messageId: `msg-${groupKey}-${sequence}`,
    type: 'OrderNoteAdded',
    payload: JSON.stringify({ groupKey, sequence }),
    status: 'PENDING',
    attempts: 0,
    createdAt: secondsAgo(600),
    ...unsentMessageAttributes(groupKey, sequence),
    ...changes,
  };
}

function newSweeper(policy: Partial<SweepPolicy> | undefined = POLICY): OutboxSweeper {
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
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
    alertTopicArn: ALERT_TOPIC,
    policy,
    clock: () => now,
    onFailed: (failed) => failedLog.push(failed),
    onAlertFailed: (failed, error) => alertFailedLog.push({ messageId: failed.messageId, error }),
  });
}

async function fakeSqs(input: SendMessageBatchCommandInput): Promise<SendMessageBatchCommandOutput> {
  await beforeSend.shift()?.();
  expect(input.QueueUrl).toBe(QUEUE_URL);
  const entries = input.Entries ?? [];
  const failed = entries.filter((entry) => rejected.has(entry.MessageDeduplicationId ?? ''));
  const accepted = entries.filter((entry) => !failed.includes(entry));
  for (const entry of accepted) {
    const envelope = parseEnvelope(entry.MessageBody ?? '');
    expect(entry.MessageDeduplicationId).toBe(envelope.messageId);
    expect(entry.MessageGroupId).toBe(envelope.groupKey);
    sent.push({ messageId: envelope.messageId, groupKey: envelope.groupKey, sequence: envelope.sequence });
  }
  return {
    $metadata: {},
    Successful: accepted.map((entry) => ({
      Id: entry.Id,
      MessageId: `sqs-${entry.Id}`,
      MD5OfMessageBody: 'md5',
    })),
    Failed: failed.map((entry) => ({
      Id: entry.Id,
      SenderFault: false,
      Code: 'InternalError',
      Message: rejected.get(entry.MessageDeduplicationId ?? ''),
    })),
  };
}

const sentIds = () => sent.map((m) => m.messageId);
const updates = () => ddb.commandCalls(UpdateCommand).map((call) => call.args[0].input);
const scans = () => ddb.commandCalls(ScanCommand).map((call) => call.args[0].input);
const queries = () => ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
const alerts = (): PublishCommandInput[] =>
  sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
const alertBodies = (): unknown[] => alerts().map((alert) => JSON.parse(alert.Message ?? '') as unknown);
const isLeaseOf = (groupKey: string, sequence: number) => (input: UpdateCommandInput) =>
  input.Key?.groupKey === groupKey &&
  input.Key?.sequence === sequence &&
  (input.UpdateExpression ?? '').includes('leaseUntil =');

const isMarkFailedOf = (groupKey: string, sequence: number) => (input: UpdateCommandInput) =>
  input.Key?.groupKey === groupKey &&
  input.Key?.sequence === sequence &&
  (input.UpdateExpression ?? '').includes('failedAt');
const isReleaseOf = (groupKey: string, sequence: number) => (input: UpdateCommandInput) =>
  input.Key?.groupKey === groupKey &&
  input.Key?.sequence === sequence &&
  (input.UpdateExpression ?? '').includes('SET attempts = :seen');
const isRecordErrorOf = (groupKey: string, sequence: number) => (input: UpdateCommandInput) =>
  input.Key?.groupKey === groupKey &&
  input.Key?.sequence === sequence &&
  (input.UpdateExpression ?? '').startsWith('SET lastError');
const LOST_ANSWERS: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  sns.reset();
  table = outboxTable(OUTBOX_TABLE);
  now = START;
  sent = [];
  rejected = new Map();
  beforeSend = [];
  failedLog = [];
  alertFailedLog = [];
  table.db.install(ddb);
  sqs.onAnyCommand().rejects(new Error('unexpected SQS command'));
  sqs.on(SendMessageBatchCommand).callsFake(fakeSqs);
  sns.onAnyCommand().rejects(new Error('unexpected SNS command'));
  sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
});

describe('OutboxSweeper.sweep', () => {
  describe('reading the outbox', () => {
    it('reads only the unsent index, every shard of it, page after page, and adds up the read capacity', async () => {
      // GIVEN five due messages of one key, served two per page
      table.db.queryPageSize = 2;
      table.seed(...[1, 2, 3, 4, 5].map((sequence) => message('order-1', sequence)));

      // WHEN
      const report = await newSweeper().sweep();

      // THEN every shard was queried, the key's shard three times (2 + 2 + 1), and the table never scanned
      const shard = unsentMessageAttributes('order-1', 1).sweepShard;
      expect(scans()).toEqual([]);
      expect(queries()).toHaveLength(MESSAGE_SHARDS + 2);
      expect(new Set(queries().map((query) => query.ExpressionAttributeValues?.[':shard'])).size).toBe(
        MESSAGE_SHARDS,
      );
      for (const query of queries()) {
        expect(query).toMatchObject({
          TableName: OUTBOX_TABLE,
          IndexName: UNSENT_INDEX,
          Limit: POLICY.pageSize,
          ReturnConsumedCapacity: 'TOTAL',
        });
      }
      const ofKey = queries().filter((query) => query.ExpressionAttributeValues?.[':shard'] === shard);
      expect(ofKey.map((query) => query.ExclusiveStartKey?.sequence)).toEqual([undefined, 2, 4]);
      expect(sent.map((m) => m.sequence)).toEqual([1, 2, 3, 4, 5]);
      expect(report).toMatchObject({ pending: 5, resent: 5, complete: true });
      expect(report.readCapacityUnits).toBe((MESSAGE_SHARDS + 2) * 0.5);
    });

    it('skips the rest of a key unread once its next message is not due, and reads on after it', async () => {
      // GIVEN two keys in one shard: the first one's messages are too young, the second one's are due
      table.db.queryPageSize = 2;
      const [young, due] = keysInOneShard(2);
      table.seed(
        ...[1, 2, 3, 4, 5].map((sequence) => message(young!, sequence, { createdAt: secondsAgo(10) })),
        message(due!, 1),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN the second page starts after the young key: its messages 3 to 5 are never read
      const shard = unsentMessageAttributes(young!, 1).sweepShard;
      const ofShard = queries().filter((query) => query.ExpressionAttributeValues?.[':shard'] === shard);
      expect(ofShard).toHaveLength(2);
      expect(ofShard[1]?.KeyConditionExpression).toBe('sweepShard = :shard AND sweepOrder > :after');
      expect(ofShard[1]?.ExclusiveStartKey).toBeUndefined();
      expect(sentIds()).toEqual([`msg-${due}-1`]);
      expect(report).toMatchObject({ pending: 3, resent: 1 });
    });

    it('counts the unsent messages by status, reports the oldest PENDING one, and never reads half messages', async () => {
      // GIVEN two PENDING and two FAILED messages, an open transaction and a resolved one (a tombstone)
      table.seed(
        message('order-1', 1, { createdAt: secondsAgo(30) }),
        message('order-2', 1, { createdAt: secondsAgo(90) }),
        message('order-4', 1, { status: 'FAILED', createdAt: secondsAgo(7000) }),
        message('order-4', 2, { status: 'FAILED', createdAt: secondsAgo(7000) }),
        {
          groupKey: 'TX#t-1',
          sequence: 0,
          transactionId: 't-1',
          status: 'PREPARED',
          createdAt: secondsAgo(5000),
          ...openTransactionAttributes('t-1'),
        },
        {
          groupKey: 'TX#t-2',
          sequence: 0,
          transactionId: 't-2',
          status: 'COMMITTED',
          createdAt: secondsAgo(5000),
        },
      );
      const read: Item[] = [];
      for (let i = 0; i < MESSAGE_SHARDS; i++) {
        beforeEvery(table.db, 'Query', () => undefined);
      }
      ddb.on(QueryCommand).callsFake(async (input) => {
        const page = await table.db.query(input);
        read.push(...(page.Items ?? []));
        return page;
      });

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(read.map((item) => item.groupKey).sort()).toEqual(['order-1', 'order-2', 'order-4', 'order-4']);
      expect(report).toEqual({
        pending: 2,
        failed: 2,
        oldestPendingAgeSeconds: 90,
        resent: 0,
        sendFailures: 0,
        markedFailed: 0,
        alertFailures: 0,
        leasedElsewhere: 0,
        readCapacityUnits: MESSAGE_SHARDS * 0.5,
        complete: true,
      });
    });

    it('reports an oldest age of 0 and does nothing else when the outbox is empty', async () => {
      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({
        pending: 0,
        failed: 0,
        oldestPendingAgeSeconds: 0,
        resent: 0,
      });
      expect(updates()).toEqual([]);
      expect(sqs.calls()).toHaveLength(0);
    });
  });

  describe('re-sending', () => {
    it('leases a due message (counting the attempt), sends it with its messageId and envelope, then deletes it', async () => {
      // GIVEN
      table.seed(message('order-1', 1, { payload: JSON.stringify({ note: 'hello' }) }));
      let duringSend: Item | undefined;
      beforeSend.push(async () => {
        duringSend = table.item('order-1', 1);
      });

      // WHEN
      const report = await newSweeper().sweep();

      // THEN it was leased for leaseSeconds, with the attempt counted, while it was being sent
      expect(duringSend).toMatchObject({
        status: 'PENDING',
        attempts: 1,
        lastAttemptAt: now.toISOString(),
        leaseUntil: nowSeconds() + POLICY.leaseSeconds,
      });
      const batch = sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input;
      expect(batch?.Entries).toHaveLength(1);
      expect(batch?.Entries?.[0]).toMatchObject({
        MessageGroupId: 'order-1',
        MessageDeduplicationId: 'msg-order-1-1',
      });
      expect(parseEnvelope(batch?.Entries?.[0]?.MessageBody ?? '')).toEqual({
        messageId: 'msg-order-1-1',
        groupKey: 'order-1',
        sequence: 1,
        type: 'OrderNoteAdded',
        payload: { note: 'hello' },
        createdAt: secondsAgo(600),
      });
      expect(table.all()).toEqual([]);
      expect(report).toMatchObject({ pending: 1, resent: 1, sendFailures: 0, markedFailed: 0 });
    });

    it("sends a key's due messages in sequence order, whatever order the scan returns them in", async () => {
      // GIVEN
      table.seed(message('order-1', 3), message('order-1', 1), message('order-2', 1), message('order-1', 2));

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(sent.filter((m) => m.groupKey === 'order-1').map((m) => m.sequence)).toEqual([1, 2, 3]);
      expect(sentIds()).toHaveLength(4);
      expect(report.resent).toBe(4);
      expect(table.all()).toEqual([]);
    });

    it('neither sends nor touches PREPARED and FAILED items', async () => {
      // GIVEN
      const prepared = message('order-1', 1, { status: 'PREPARED' });
      const failed = message('order-2', 1, { status: 'FAILED', attempts: 4, createdAt: secondsAgo(99_999) });
      table.seed(prepared, failed);

      // WHEN
      await newSweeper().sweep();

      // THEN
      expect(sqs.calls()).toHaveLength(0);
      expect(updates()).toEqual([]);
      expect(table.all()).toEqual([prepared, failed]);
    });

    it('takes over a message whose lease ran out (a sweep that crashed while sending it)', async () => {
      // GIVEN
      table.seed(
        message('order-1', 1, { attempts: 1, lastAttemptAt: secondsAgo(300), leaseUntil: nowSeconds() - 1 }),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-1-1']);
      expect(report).toMatchObject({ resent: 1, leasedElsewhere: 0 });
    });
  });

  describe('when a message is due', () => {
    it('leaves a message younger than the grace period to the relay, and takes it once the period is over', async () => {
      // GIVEN
      table.seed(message('order-1', 1, { createdAt: secondsAgo(POLICY.gracePeriodSeconds - 1) }));
      const sweeper = newSweeper();

      // WHEN
      const early = await sweeper.sweep();

      // THEN
      expect(early).toMatchObject({ pending: 1, resent: 0 });
      expect(updates()).toEqual([]);
      expect(sqs.calls()).toHaveLength(0);

      // WHEN
      advance(1);
      const due = await sweeper.sweep();

      // THEN
      expect(due.resent).toBe(1);
      expect(sentIds()).toEqual(['msg-order-1-1']);
    });

    it('waits out the backoff after a failed attempt, doubling it after each one', async () => {
      // GIVEN three failed attempts, the last one 119 s ago: the backoff is 30 s × 2² = 120 s
      table.seed(message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(119) }));
      const sweeper = newSweeper();

      // WHEN
      const early = await sweeper.sweep();

      // THEN
      expect(early.resent).toBe(0);
      expect(updates()).toEqual([]);

      // WHEN
      advance(1);
      const due = await sweeper.sweep();

      // THEN
      expect(due.resent).toBe(1);
    });

    it('sends at once a message attempted before whose last attempt time is unknown', async () => {
      // GIVEN
      table.seed(message('order-1', 1, { attempts: 2 }));

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report.resent).toBe(1);
    });

    it('sends at once a message never attempted, whatever its last attempt time says', async () => {
      // GIVEN a message whose lease was given back a second ago (attempts 0 again)
      table.seed(message('order-1', 1, { attempts: 0, lastAttemptAt: secondsAgo(1) }));

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report.resent).toBe(1);
    });

    it('caps the backoff at backoffMaxSeconds', async () => {
      // GIVEN 30 s × 2⁵ = 960 s, capped to 300 s
      table.seed(message('order-1', 1, { attempts: 6, lastAttemptAt: secondsAgo(299) }));
      const sweeper = newSweeper({ ...POLICY, maxAttempts: 10 });

      // WHEN
      const early = await sweeper.sweep();
      advance(1);
      const due = await sweeper.sweep();

      // THEN
      expect(early.resent).toBe(0);
      expect(due.resent).toBe(1);
    });

    it('sends nothing of a key after a message that is not due yet, and goes on with the other keys', async () => {
      // GIVEN order-1's first message is backing off; its second one would be due on its own
      table.seed(
        message('order-1', 1, { attempts: 1, lastAttemptAt: secondsAgo(10) }),
        message('order-1', 2),
        message('order-2', 1),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-2-1']);
      expect(updates().map((update) => update.Key)).toEqual([{ groupKey: 'order-2', sequence: 1 }]);
      expect(table.item('order-1', 2)).toMatchObject({ attempts: 0 });
      expect(report).toMatchObject({ pending: 3, resent: 1 });
    });
  });

  describe('when the send fails', () => {
    it('records the error and ends the lease, keeps the message PENDING, and retries it after the backoff', async () => {
      // GIVEN
      table.seed(message('order-1', 1));
      rejected.set('msg-order-1-1', 'try again');
      const sweeper = newSweeper();

      // WHEN
      const first = await sweeper.sweep();

      // THEN
      expect(first).toMatchObject({ resent: 0, sendFailures: 1, markedFailed: 0 });
      const item = table.item('order-1', 1);
      expect(item).toMatchObject({
        status: 'PENDING',
        attempts: 1,
        lastAttemptAt: now.toISOString(),
        lastError: 'InternalError: try again',
      });
      expect(item).not.toHaveProperty('leaseUntil');
      expect(alerts()).toEqual([]);

      // WHEN SQS is back, before and after the 30 s backoff
      rejected.clear();
      advance(29);
      const tooEarly = await sweeper.sweep();
      advance(1);
      const retried = await sweeper.sweep();

      // THEN
      expect(tooEarly.resent).toBe(0);
      expect(retried.resent).toBe(1);
      expect(sentIds()).toEqual(['msg-order-1-1']);
      expect(table.all()).toEqual([]);
    });

    it('keeps the later messages of the key in the outbox, recording why they were not sent', async () => {
      // GIVEN
      table.seed(message('order-1', 1), message('order-1', 2), message('order-2', 1));
      rejected.set('msg-order-1-1', 'try again');

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ resent: 1, sendFailures: 2 });
      expect(table.item('order-1', 1)).toMatchObject({ attempts: 1, lastError: 'InternalError: try again' });
      expect(table.item('order-1', 2)).toMatchObject({
        attempts: 1,
        lastError: 'not sent: an earlier message of its key failed',
      });
      expect(table.item('order-2', 1)).toBeUndefined();
    });

    it('gives back the leases it took ahead for the next ten: neither sent nor counted as attempted', async () => {
      // GIVEN one key of 15 messages; SQS refuses the first
      table.seed(...Array.from({ length: 15 }, (_, i) => message('order-1', i + 1)));
      rejected.set('msg-order-1-1', 'try again');

      // WHEN
      const report = await newSweeper().sweep();

      // THEN the first ten were attempted; 11–15, leased while they were being sent, are as before
      expect(report).toMatchObject({ resent: 0, sendFailures: 10 });
      expect(table.item('order-1', 10)).toMatchObject({ attempts: 1 });
      for (let sequence = 11; sequence <= 15; sequence++) {
        expect(updates().some(isLeaseOf('order-1', sequence))).toBe(true);
        expect(table.item('order-1', sequence)).toMatchObject({ attempts: 0, status: 'PENDING' });
        expect(table.item('order-1', sequence)?.leaseUntil).toBeUndefined();
      }
      expect(sent.filter((m) => m.sequence > 10)).toEqual([]);
    });

    it('fails every leased message of the batch when SendMessageBatch throws', async () => {
      // GIVEN
      table.seed(message('order-1', 1), message('order-2', 1));
      sqs
        .on(SendMessageBatchCommand)
        .rejects(Object.assign(new Error('connect ECONNREFUSED'), { name: 'NetworkingError' }));

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ resent: 0, sendFailures: 2, markedFailed: 0 });
      for (const groupKey of ['order-1', 'order-2']) {
        expect(table.item(groupKey, 1)).toMatchObject({
          status: 'PENDING',
          attempts: 1,
          lastError: 'NetworkingError: connect ECONNREFUSED',
        });
      }
    });

    it('keeps at most 1000 characters of the error', async () => {
      // GIVEN
      table.seed(message('order-1', 1));
      rejected.set('msg-order-1-1', 'x'.repeat(5000));

      // WHEN
      await newSweeper().sweep();

      // THEN
      const lastError = table.item('order-1', 1)?.lastError;
      expect(lastError).toBe(`InternalError: ${'x'.repeat(1000 - 'InternalError: '.length)}`);
    });

    it('keeps at most 1000 characters of the error of a message it gives up on', async () => {
      // GIVEN the last attempt fails with a long error
      table.seed(message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(900) }));
      rejected.set('msg-order-1-1', 'x'.repeat(5000));

      // WHEN
      await newSweeper().sweep();

      // THEN
      expect(table.item('order-1', 1)).toMatchObject({
        status: 'FAILED',
        lastError: `InternalError: ${'x'.repeat(1000 - 'InternalError: '.length)}`,
      });
    });

    it('fails the run when recording a send error fails for a reason other than its condition', async () => {
      // GIVEN
      table.seed(message('order-1', 1));
      rejected.set('msg-order-1-1', 'try again');
      const refused = Object.assign(new Error('invalid'), { name: 'ValidationException' });
      table.db.before('Update', isRecordErrorOf('order-1', 1), () => {
        throw refused;
      });

      // WHEN / THEN
      await expect(newSweeper().sweep()).rejects.toMatchObject({ name: 'SweepFailedError', cause: refused });
    });

    it('does not overwrite the record of a message another sweep has leased since', async () => {
      // GIVEN the lease of this sweep runs out while it sends, and another sweep leases the message
      table.seed(message('order-1', 1));
      rejected.set('msg-order-1-1', 'try again');
      beforeSend.push(async () => {
        table.patch('order-1', 1, { attempts: 2, lastError: 'theirs', leaseUntil: nowSeconds() + 999 });
      });

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report.sendFailures).toBe(1);
      expect(table.item('order-1', 1)).toMatchObject({
        attempts: 2,
        lastError: 'theirs',
        leaseUntil: nowSeconds() + 999,
      });
    });
  });

  describe('giving up', () => {
    it('turns the message FAILED, logs it and publishes an alert when its last attempt fails', async () => {
      // GIVEN three attempts so far; the fourth (the last one) fails
      table.seed(message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(600), lastError: 'old' }));
      rejected.set('msg-order-1-1', 'queue unavailable');

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ pending: 1, resent: 0, sendFailures: 1, markedFailed: 1, failed: 1 });
      const item = table.item('order-1', 1);
      expect(item).toMatchObject({
        status: 'FAILED',
        attempts: 4,
        failedAt: now.toISOString(),
        lastError: 'InternalError: queue unavailable',
      });
      expect(item).not.toHaveProperty('leaseUntil');
      const expected = {
        messageId: 'msg-order-1-1',
        groupKey: 'order-1',
        sequence: 1,
        type: 'OrderNoteAdded',
        attempts: 4,
        lastError: 'InternalError: queue unavailable',
        createdAt: secondsAgo(600),
        reason: 'max-attempts',
      };
      expect(failedLog).toEqual([expected]);
      expect(alerts()).toHaveLength(1);
      expect(alerts()[0]).toMatchObject({
        TopicArn: ALERT_TOPIC,
        Subject: 'Outbox message FAILED after 4 attempts',
        MessageAttributes: { alert: { DataType: 'String', StringValue: 'OutboxMessageFailed' } },
      });
      expect(alertBodies()).toEqual([{ alert: 'OutboxMessageFailed', ...expected }]);
    });

    it('turns a message that used up its attempts FAILED without sending it again', async () => {
      // GIVEN a sweep leased the last attempt and crashed; its lease has run out
      table.seed(
        message('order-1', 1, {
          attempts: 4,
          lastAttemptAt: secondsAgo(900),
          leaseUntil: nowSeconds() - 840,
          lastError: 'InternalError: try again',
        }),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(sqs.calls()).toHaveLength(0);
      expect(report).toMatchObject({ resent: 0, sendFailures: 0, markedFailed: 1, failed: 1 });
      expect(table.item('order-1', 1)).toMatchObject({ status: 'FAILED', attempts: 4 });
      expect(table.item('order-1', 1)).not.toHaveProperty('leaseUntil');
      expect(alertBodies()).toEqual([
        expect.objectContaining({
          messageId: 'msg-order-1-1',
          attempts: 4,
          lastError: 'InternalError: try again',
          reason: 'max-attempts',
        }),
      ]);
      expect(failedLog.map((failed) => failed.reason)).toEqual(['max-attempts']);
    });

    it('turns a message older than maxAge FAILED with reason max-age, as "never sent" when it has no error', async () => {
      // GIVEN one message just past maxAge, one exactly at it
      table.seed(
        message('order-1', 1, { createdAt: secondsAgo(POLICY.maxAgeSeconds + 1) }),
        message('order-2', 1, { createdAt: secondsAgo(POLICY.maxAgeSeconds) }),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ markedFailed: 1, resent: 1 });
      expect(table.item('order-1', 1)).toMatchObject({
        status: 'FAILED',
        attempts: 0,
        lastError: 'never sent',
      });
      expect(sentIds()).toEqual(['msg-order-2-1']);
      expect(alertBodies()).toEqual([
        {
          alert: 'OutboxMessageFailed',
          messageId: 'msg-order-1-1',
          groupKey: 'order-1',
          sequence: 1,
          type: 'OrderNoteAdded',
          attempts: 0,
          lastError: 'never sent',
          createdAt: secondsAgo(POLICY.maxAgeSeconds + 1),
          reason: 'max-age',
        },
      ]);
    });

    it('does not turn FAILED a message that was put back with a fresh budget while its last attempt was failing', async () => {
      // GIVEN the last attempt is under way; meanwhile (its lease ran out) another sweep turned the message
      // FAILED and an operator put it back to PENDING with attempts 0
      table.seed(message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(900) }));
      rejected.set('msg-order-1-1', 'try again');
      beforeSend.push(async () => {
        table.patch('order-1', 1, { status: 'PENDING', attempts: 0, retriedAt: now.toISOString() });
      });

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ sendFailures: 1, markedFailed: 0, failed: 0 });
      expect(table.item('order-1', 1)).toMatchObject({ status: 'PENDING', attempts: 0 });
      expect(alerts()).toEqual([]);
      expect(failedLog).toEqual([]);
    });

    it('goes on with the key after a whole batch of ten it turned FAILED, and sends the message after them', async () => {
      // GIVEN ten messages of a key that used up their attempts, then one never tried
      table.seed(
        ...Array.from({ length: 10 }, (_, i) =>
          message('order-1', i + 1, { attempts: POLICY.maxAttempts, lastAttemptAt: secondsAgo(3000) }),
        ),
        message('order-1', 11),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ markedFailed: 10, resent: 1 });
      expect(sentIds()).toEqual(['msg-order-1-11']);
      expect(table.item('order-1', 10)).toMatchObject({ status: 'FAILED' });
    });

    it('goes on with the later messages of the key after turning one FAILED', async () => {
      // GIVEN
      table.seed(
        message('order-1', 1, { attempts: 4, lastAttemptAt: secondsAgo(900) }),
        message('order-1', 2),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ markedFailed: 1, resent: 1 });
      expect(sentIds()).toEqual(['msg-order-1-2']);
    });

    it('neither alerts nor counts a message another sweep changed before this one could turn it FAILED', async () => {
      // GIVEN
      table.seed(message('order-1', 1, { attempts: 4, lastAttemptAt: secondsAgo(900) }));
      beforeEvery(table.db, 'Update', () =>
        table.patch('order-1', 1, { status: 'FAILED', failedAt: secondsAgo(1) }),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report.markedFailed).toBe(0);
      expect(alerts()).toEqual([]);
      expect(failedLog).toEqual([]);
    });

    it('leaves a FAILED message in the outbox: later sweeps neither send nor delete it', async () => {
      // GIVEN
      table.seed(message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(900) }));
      rejected.set('msg-order-1-1', 'try again');
      const sweeper = newSweeper();
      await sweeper.sweep();
      rejected.clear();

      // WHEN the queue is back, for days
      const reports: SweepReport[] = [];
      for (let sweep = 0; sweep < 5; sweep++) {
        advance(24 * 3600);
        reports.push(await sweeper.sweep());
      }

      // THEN
      expect(table.item('order-1', 1)).toMatchObject({ status: 'FAILED' });
      expect(table.deleted).toEqual([]);
      expect(sent).toEqual([]);
      expect(reports.map((report) => report.failed)).toEqual([1, 1, 1, 1, 1]);
      expect(alerts()).toHaveLength(1);
    });
  });

  describe('fencing concurrent sweeps', () => {
    it('stops at a message another sweep holds: nothing of that key is sent, the other keys are', async () => {
      // GIVEN order-1's first message is due by its backoff but leased by another sweep
      table.seed(
        message('order-1', 1, { attempts: 1, lastAttemptAt: secondsAgo(300), leaseUntil: nowSeconds() + 30 }),
        message('order-1', 2),
        message('order-2', 1),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-2-1']);
      expect(report).toMatchObject({ resent: 1, leasedElsewhere: 1 });
      expect(table.item('order-1', 1)).toMatchObject({ attempts: 1, leaseUntil: nowSeconds() + 30 });
      expect(table.item('order-1', 2)).toMatchObject({ attempts: 0 });
    });

    it('loses the lease when another sweep took the message after the scan, and then stops the key', async () => {
      // GIVEN another sweep leases order-1/1 between this sweep's scan and its lease
      table.seed(message('order-1', 1), message('order-1', 2), message('order-2', 1));
      table.db.before('Update', isLeaseOf('order-1', 1), () =>
        table.patch('order-1', 1, {
          attempts: 1,
          lastAttemptAt: now.toISOString(),
          leaseUntil: nowSeconds() + 60,
        }),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({ resent: 1, leasedElsewhere: 1 });
      expect(sentIds()).toEqual(['msg-order-2-1']);
      expect(table.item('order-1', 1)).toMatchObject({ attempts: 1 });
      // order-1/2, leased alongside, is given back as it was
      expect(table.item('order-1', 2)).toEqual(message('order-1', 2));
    });

    it.each([1, 2, 3, 4, 5])(
      'two sweeps running at once send every message exactly once, in order per key (interleaving %i)',
      async (seed) => {
        // GIVEN 6 keys × 4 messages, and a table whose answers come back in a shuffled order
        const random = seededRandom(seed);
        table.db.latency = async () => {
          for (let turns = Math.floor(random() * 4); turns > 0; turns--) await nextTurn();
        };
        const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
        table.seed(...keys.flatMap((key) => [1, 2, 3, 4].map((sequence) => message(key, sequence))));

        // WHEN pairs of sweeps run at once until the outbox is empty (a lost race leaves a key to a later run)
        let resent = 0;
        for (let round = 0; round < 10 && table.all().length > 0; round++) {
          const reports = await Promise.all([newSweeper().sweep(), newSweeper().sweep()]);
          resent += reports[0].resent + reports[1].resent;
          advance(POLICY.leaseSeconds);
        }

        // THEN
        expect([...sentIds()].sort()).toEqual(
          keys.flatMap((key) => [1, 2, 3, 4].map((s) => `msg-${key}-${s}`)),
        );
        for (const key of keys) {
          expect(sent.filter((m) => m.groupKey === key).map((m) => m.sequence)).toEqual([1, 2, 3, 4]);
        }
        expect(resent).toBe(24);
        expect(table.all()).toEqual([]);
      },
    );

    it('never turns FAILED a message another sweep is sending on its last attempt', async () => {
      // GIVEN sweep A leases the last attempt; sweep B runs while A is sending
      table.seed(
        message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(900), lastError: 'try again' }),
      );
      const [a, b] = [newSweeper(), newSweeper()];
      let reportOfB: SweepReport | undefined;
      beforeSend.push(async () => {
        advance(5);
        reportOfB = await b.sweep();
      });

      // WHEN
      const reportOfA = await a.sweep();

      // THEN A delivered it: it is neither FAILED nor alerted about, and no FAILED item was deleted
      expect(sentIds()).toEqual(['msg-order-1-1']);
      expect(reportOfA.resent).toBe(1);
      expect(reportOfB).toMatchObject({ markedFailed: 0, leasedElsewhere: 1, resent: 0 });
      expect(alerts()).toEqual([]);
      expect(failedLog).toEqual([]);
      expect(table.deleted.map((item) => item.status)).toEqual(['PENDING']);
      expect(table.all()).toEqual([]);
    });

    it('never turns FAILED a message that passed maxAge while another sweep is sending it', async () => {
      // GIVEN sweep A leases a message 10 s before its maxAge; sweep B runs 20 s later, while A is sending
      table.seed(message('order-1', 1, { createdAt: secondsAgo(POLICY.maxAgeSeconds - 10) }));
      const [a, b] = [newSweeper(), newSweeper()];
      let reportOfB: SweepReport | undefined;
      beforeSend.push(async () => {
        advance(20);
        reportOfB = await b.sweep();
      });

      // WHEN
      const reportOfA = await a.sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-1-1']);
      expect(reportOfA.resent).toBe(1);
      expect(reportOfB).toMatchObject({ markedFailed: 0, resent: 0 });
      expect(alerts()).toEqual([]);
      expect(table.deleted.map((item) => item.status)).toEqual(['PENDING']);
    });

    it('does not overtake a message another sweep is sending on its last attempt', async () => {
      // GIVEN sweep A has leased order-1/1 (its last attempt) and is about to lease order-1/2 when B runs
      table.seed(
        message('order-1', 1, { attempts: 3, lastAttemptAt: secondsAgo(900) }),
        message('order-1', 2, { attempts: 3, lastAttemptAt: secondsAgo(900) }),
      );
      const [a, b] = [newSweeper(), newSweeper()];
      let reportOfB: SweepReport | undefined;
      table.db.before('Update', isLeaseOf('order-1', 2), async () => {
        reportOfB = await b.sweep();
      });

      // WHEN
      const reportOfA = await a.sweep();

      // THEN order-1/2 went out after order-1/1, once, and nothing was turned FAILED
      expect(sentIds()).toEqual(['msg-order-1-1', 'msg-order-1-2']);
      expect(reportOfA.resent).toBe(2);
      expect(reportOfB).toMatchObject({ resent: 0, markedFailed: 0 });
      expect(alerts()).toEqual([]);
    });
  });

  describe('at scale', () => {
    it('drains 100,000 unsent messages of one key in order over as many runs as it needs, each stopping before its time is up', async () => {
      // GIVEN one key with 100,000 due messages, and runs of 20 s in which every DynamoDB call takes 1 ms
      const total = 100_000;
      for (let sequence = 1; sequence <= total; sequence++) table.seed(message('hot', sequence));
      let clockMs = 0;
      table.db.latency = async () => {
        clockMs++;
      };
      const sweeper = newSweeper({ ...POLICY, stopBeforeTimeoutSeconds: 1 });

      // WHEN runs follow one another until the key is drained
      const runs: SweepReport[] = [];
      let lowestRemainingMs = Number.POSITIVE_INFINITY;
      while (sent.length < total && runs.length < 50) {
        const deadline = clockMs + 20_000;
        const remainingTimeMs = () => {
          lowestRemainingMs = Math.min(lowestRemainingMs, deadline - clockMs);
          return deadline - clockMs;
        };
        runs.push(await sweeper.sweep({ remainingTimeMs }));
        advance(60);
      }

      // THEN every message went out once, in sequence order, over several runs; each run but the last stopped
      // at its budget with time to spare, and no page was larger than pageSize
      expect(sent).toHaveLength(total);
      expect(sent.every((m, i) => m.sequence === i + 1)).toBe(true);
      expect(runs.length).toBeGreaterThan(2);
      expect(runs.slice(0, -1).every((run) => !run.complete && run.resent > 0)).toBe(true);
      expect(runs.at(-1)?.complete).toBe(true);
      expect(runs.reduce((sum, run) => sum + run.resent, 0)).toBe(total);
      expect(lowestRemainingMs).toBeGreaterThan(0);
      expect(queries().every((query) => query.Limit === POLICY.pageSize)).toBe(true);
      expect(
        sqs.commandCalls(SendMessageBatchCommand).every((call) => call.args[0].input.Entries?.length === 10),
      ).toBe(true);
    }, 600_000);

    it('sends a key 10 messages per SendMessageBatch and deletes each batch in one BatchWriteItem', async () => {
      // GIVEN
      table.seed(...Array.from({ length: 25 }, (_, i) => message('order-1', i + 1)));

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(
        sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries?.length),
      ).toEqual([10, 10, 5]);
      expect(
        ddb
          .commandCalls(BatchWriteCommand)
          .map((call) => call.args[0].input.RequestItems?.[OUTBOX_TABLE]?.length),
      ).toEqual([10, 10, 5]);
      expect(sent.map((m) => m.sequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(report.resent).toBe(25);
    });

    it("leases a key's next ten while its current ten are being sent, and sends them only after", async () => {
      // GIVEN one key of 25 messages; the first SendMessageBatch is answered a few turns of the event loop late
      table.seed(...Array.from({ length: 25 }, (_, i) => message('order-1', i + 1)));
      let leasedDuringFirstSend: unknown;
      beforeSend.push(async () => {
        for (let turns = 0; turns < 5; turns++) await nextTurn();
        leasedDuringFirstSend = table.item('order-1', 11)?.attempts;
      });

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(leasedDuringFirstSend).toBe(1);
      expect(sent.map((m) => m.sequence)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
      expect(report.resent).toBe(25);
    });

    it('leases the messages of different keys at the same time', async () => {
      // GIVEN 8 keys of one message each, and a table that answers after a turn of the event loop
      table.seed(...Array.from({ length: 8 }, (_, i) => message(`order-${i}`, 1)));
      let inFlight = 0;
      let mostInFlight = 0;
      ddb.on(UpdateCommand).callsFake(async (input: UpdateCommandInput) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        await nextTurn();
        inFlight--;
        return table.db.update(input);
      });

      // WHEN
      const report = await newSweeper({ ...POLICY, concurrency: 4 }).sweep();

      // THEN
      expect(report.resent).toBe(8);
      expect(mostInFlight).toBeGreaterThan(1);
    });

    it('reads nothing and reports an incomplete run when its time is already up', async () => {
      // GIVEN
      table.seed(message('order-1', 1));

      // WHEN
      const report = await newSweeper().sweep({ remainingTimeMs: () => 14_000 });

      // THEN
      expect(report).toMatchObject({ complete: false, resent: 0 });
      expect(queries()).toEqual([]);
    });
  });

  describe('errors', () => {
    it('does not lease a message another sweep attempted since the index was read (attempts = :seen)', async () => {
      // GIVEN between this sweep's read and its lease, another sweep tried order-1/1, failed and ended its lease
      table.seed(message('order-1', 1));
      table.db.before('Update', isLeaseOf('order-1', 1), () =>
        table.patch('order-1', 1, { attempts: 1, lastAttemptAt: now.toISOString(), lastError: 'queue down' }),
      );

      // WHEN
      const report = await newSweeper().sweep();

      // THEN it is not sent again before its backoff
      expect(sentIds()).toEqual([]);
      expect(report).toMatchObject({ resent: 0, leasedElsewhere: 1 });
      expect(table.item('order-1', 1)).toMatchObject({ attempts: 1 });
    });

    it('fails the run, not as "leased elsewhere", when a lease fails for a reason other than its condition', async () => {
      // GIVEN the lease of order-1/1 is refused by a deterministic error
      table.seed(message('order-1', 1), message('order-2', 1));
      const refused = Object.assign(new Error('One or more parameter values were invalid'), {
        name: 'ValidationException',
      });
      table.db.before('Update', isLeaseOf('order-1', 1), () => {
        throw refused;
      });

      // WHEN
      const run = newSweeper().sweep();

      // THEN the other key is swept, and the run fails with the cause
      await expect(run).rejects.toThrow(SweepFailedError);
      await expect(run).rejects.toMatchObject({
        name: 'SweepFailedError',
        failures: 1,
        message:
          'the sweep could not finish 1 shard(s) or key(s); first error: ValidationException: One or more parameter values were invalid',
      });
      await run.catch((error: SweepFailedError) => {
        expect(error.cause).toBe(refused);
        expect(error.report).toMatchObject({ resent: 1, leasedElsewhere: 0 });
      });
      expect(sentIds()).toEqual(['msg-order-2-1']);
    });

    it('retries a transient error in-process and sends the message in the same run', async () => {
      // GIVEN the lease of order-1/1 is throttled once
      table.seed(message('order-1', 1));
      table.db.before('Update', isLeaseOf('order-1', 1), () => {
        throw Object.assign(new Error('Throughput exceeds the current capacity'), {
          name: 'ProvisionedThroughputExceededException',
        });
      });

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-1-1']);
      expect(report).toMatchObject({ resent: 1, leasedElsewhere: 0 });
    });
  });

  describe('when an answer is lost after the write landed', () => {
    it.each(LOST_ANSWERS)(
      'sends in the same run a message whose lease answer was lost (%s), counting the attempt once',
      async (outcome) => {
        // GIVEN
        table.seed(message('order-1', 1), message('order-1', 2));
        table.db.loseAnswer('Update', isLeaseOf('order-1', 1), outcome);
        let duringSend: Item | undefined;
        beforeSend.push(async () => {
          duringSend = table.item('order-1', 1);
        });

        // WHEN
        const report = await newSweeper().sweep();

        // THEN
        expect(table.db.lostAnswerCount).toBe(1);
        expect(duringSend).toMatchObject({ attempts: 1, leaseUntil: nowSeconds() + POLICY.leaseSeconds });
        expect(report).toMatchObject({ resent: 2, leasedElsewhere: 0 });
        expect(sentIds()).toEqual(['msg-order-1-1', 'msg-order-1-2']);
        expect(table.all()).toEqual([]);
      },
    );

    it('never gives up before maxAttempts sends were tried, when every lease answer is lost', async () => {
      // GIVEN a message SQS keeps refusing
      table.seed(message('order-1', 1));
      rejected.set('msg-order-1-1', 'queue unavailable');

      // WHEN sweeps run past every backoff, each losing the answer to its lease
      for (let run = 0; run < POLICY.maxAttempts + 1; run++) {
        table.db.loseAnswer('Update', isLeaseOf('order-1', 1), LOST_ANSWERS[run % LOST_ANSWERS.length]);
        await newSweeper().sweep();
        advance(POLICY.backoffMaxSeconds);
      }

      // THEN
      expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(POLICY.maxAttempts);
      expect(table.item('order-1', 1)).toMatchObject({ status: 'FAILED', attempts: POLICY.maxAttempts });
      expect(alerts()).toHaveLength(1);
    });

    it.each(
      LOST_ANSWERS.flatMap((outcome) => [
        { outcome, attempts: 4, sends: 0, path: 'attempts used up' },
        { outcome, attempts: 3, sends: 1, path: 'last send failed' },
      ]),
    )(
      'counts, logs and alerts a message it turned FAILED whose answer was lost ($outcome, $path)',
      async ({ outcome, attempts, sends }) => {
        // GIVEN a message at (or, once this send fails, past) its last attempt; the answer to the give-up is lost
        table.seed(
          message('order-1', 1, { attempts, lastAttemptAt: secondsAgo(900) }),
          message('order-2', 1),
        );
        rejected.set('msg-order-1-1', 'queue unavailable');
        table.db.loseAnswer('Update', isMarkFailedOf('order-1', 1), outcome);

        // WHEN
        const report = await newSweeper().sweep();

        // THEN
        expect(table.db.lostAnswerCount).toBe(1);
        expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(sends + 1);
        expect(report).toMatchObject({ markedFailed: 1, failed: 1, leasedElsewhere: 0, alertFailures: 0 });
        expect(table.item('order-1', 1)).toMatchObject({ status: 'FAILED', attempts: POLICY.maxAttempts });
        expect(failedLog.map((failed) => failed.messageId)).toEqual(['msg-order-1-1']);
        expect(alertBodies()).toEqual([expect.objectContaining({ messageId: 'msg-order-1-1' })]);
        expect(sentIds()).toEqual(['msg-order-2-1']);
      },
    );

    it.each(LOST_ANSWERS)(
      'records the send error and ends the lease when the answer to recording it was lost (%s)',
      async (outcome) => {
        // GIVEN
        table.seed(message('order-1', 1));
        rejected.set('msg-order-1-1', 'try again');
        table.db.loseAnswer('Update', isRecordErrorOf('order-1', 1), outcome);

        // WHEN
        const report = await newSweeper().sweep();

        // THEN
        expect(table.db.lostAnswerCount).toBe(1);
        expect(report).toMatchObject({ sendFailures: 1, markedFailed: 0 });
        const item = table.item('order-1', 1);
        expect(item).toMatchObject({ status: 'PENDING', attempts: 1, lastError: 'InternalError: try again' });
        expect(item).not.toHaveProperty('leaseUntil');
      },
    );

    it.each([
      ['its first message was leased by another sweep', 'lease'],
      ['its first message could not be sent', 'send'],
    ])('sends nothing of a key in a later batch of ten when %s', async (_case, blocker) => {
      // GIVEN a key with 12 due messages (two SendMessageBatch chunks)
      table.seed(...Array.from({ length: 12 }, (_, i) => message('order-1', i + 1)));
      if (blocker === 'lease') {
        table.db.before('Update', isLeaseOf('order-1', 1), () =>
          table.patch('order-1', 1, {
            attempts: 1,
            lastAttemptAt: now.toISOString(),
            leaseUntil: nowSeconds() + 60,
          }),
        );
      } else {
        rejected.set('msg-order-1-1', 'try again');
      }

      // WHEN
      await newSweeper().sweep();

      // THEN no second batch went out, and every message after the blocked one is still in the outbox
      expect(sqs.commandCalls(SendMessageBatchCommand).length).toBeLessThanOrEqual(1);
      expect(sentIds()).not.toContain('msg-order-1-11');
      expect(table.all().map((item) => item.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(table.item('order-1', 12)).toEqual(message('order-1', 12));
    });

    it('gives back a lease it will not use with the attempt time it had before', async () => {
      // GIVEN order-1/2 was attempted before; another sweep takes order-1/1 after the scan
      const before = message('order-1', 2, { attempts: 1, lastAttemptAt: secondsAgo(600), lastError: 'x' });
      table.seed(message('order-1', 1), before);
      table.db.before('Update', isLeaseOf('order-1', 1), () =>
        table.patch('order-1', 1, {
          attempts: 1,
          lastAttemptAt: now.toISOString(),
          leaseUntil: nowSeconds() + 60,
        }),
      );

      // WHEN
      await newSweeper().sweep();

      // THEN
      expect(table.item('order-1', 2)).toEqual(before);
    });

    it.each(LOST_ANSWERS)(
      'gives back a lease it will not use as it was, when the answer to giving it back was lost (%s)',
      async (outcome) => {
        // GIVEN another sweep takes order-1/1 after the scan; order-1/2, leased alongside, is given back
        table.seed(message('order-1', 1), message('order-1', 2));
        table.db.before('Update', isLeaseOf('order-1', 1), () =>
          table.patch('order-1', 1, {
            attempts: 1,
            lastAttemptAt: now.toISOString(),
            leaseUntil: nowSeconds() + 60,
          }),
        );
        table.db.loseAnswer('Update', isReleaseOf('order-1', 2), outcome);

        // WHEN
        const report = await newSweeper().sweep();

        // THEN
        expect(table.db.lostAnswerCount).toBe(1);
        expect(report).toMatchObject({ resent: 0, leasedElsewhere: 1 });
        expect(table.item('order-1', 2)).toEqual(message('order-1', 2));
      },
    );

    it('never gives back a lease another sweep took meanwhile, even with the same attempt count and lease end', async () => {
      // GIVEN order-1/1 is taken by another sweep after the scan; before order-1/2 (leased alongside) is given back,
      // a third sweep takes it over with the same attempt count and lease end, but its own token
      table.seed(message('order-1', 1), message('order-1', 2));
      table.db.before('Update', isLeaseOf('order-1', 1), () =>
        table.patch('order-1', 1, {
          attempts: 1,
          lastAttemptAt: now.toISOString(),
          leaseUntil: nowSeconds() + 60,
        }),
      );
      table.db.before('Update', isReleaseOf('order-1', 2), () =>
        table.patch('order-1', 2, { writeToken: 'another-sweep' }),
      );

      // WHEN
      await newSweeper().sweep();

      // THEN
      expect(table.item('order-1', 2)).toMatchObject({
        attempts: 1,
        leaseUntil: nowSeconds() + POLICY.leaseSeconds,
        writeToken: 'another-sweep',
      });
    });

    it('goes on with the run when SNS does not take an alert, and reports the alert that failed', async () => {
      // GIVEN two keys whose first message used up its attempts, and an alert topic that refuses every publish
      table.seed(
        message('order-1', 1, { attempts: 4, lastAttemptAt: secondsAgo(900) }),
        message('order-1', 2),
        message('order-2', 1, { attempts: 4, lastAttemptAt: secondsAgo(900) }),
      );
      const refused = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
      sns.on(PublishCommand).rejects(refused);

      // WHEN
      const report = await newSweeper().sweep();

      // THEN
      expect(report).toMatchObject({
        markedFailed: 2,
        failed: 2,
        alertFailures: 2,
        resent: 1,
        complete: true,
      });
      expect(sentIds()).toEqual(['msg-order-1-2']);
      expect(failedLog.map((failed) => failed.messageId).sort()).toEqual(['msg-order-1-1', 'msg-order-2-1']);
      expect(alertFailedLog.map((failure) => failure.messageId).sort()).toEqual([
        'msg-order-1-1',
        'msg-order-2-1',
      ]);
      expect(alertFailedLog.every((failure) => failure.error === refused)).toBe(true);
    });
  });

  describe('its policy', () => {
    it('uses the defaults for what the policy leaves out (a 120 s grace period, a 60 s lease)', async () => {
      // GIVEN
      table.seed(
        message('order-1', 1, { createdAt: secondsAgo(119) }),
        message('order-2', 1, { createdAt: secondsAgo(120) }),
      );
      let lease: unknown;
      beforeSend.push(async () => {
        lease = table.item('order-2', 1)?.leaseUntil;
      });

      // WHEN
      const report = await newSweeper(undefined).sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-2-1']);
      expect(lease).toBe(nowSeconds() + 60);
      expect(report.resent).toBe(1);
    });

    it('overrides only the values it is given', async () => {
      // GIVEN
      table.seed(message('order-1', 1, { createdAt: secondsAgo(1) }));
      let lease: unknown;
      beforeSend.push(async () => {
        lease = table.item('order-1', 1)?.leaseUntil;
      });

      // WHEN
      await newSweeper({ gracePeriodSeconds: 0 }).sweep();

      // THEN
      expect(sentIds()).toEqual(['msg-order-1-1']);
      expect(lease).toBe(nowSeconds() + 60);
    });

    it.each<[string, Partial<SweepPolicy>, RegExp]>([
      [
        'a negative grace period',
        { gracePeriodSeconds: -1 },
        /gracePeriodSeconds must be a number ≥ 0; got -1/,
      ],
      ['maxAttempts 0', { maxAttempts: 0 }, /maxAttempts must be ≥ 1; got 0/],
      ['a NaN maxAge', { maxAgeSeconds: Number.NaN }, /maxAgeSeconds must be a number ≥ 0; got NaN/],
      ['an infinite backoff', { backoffMaxSeconds: Number.POSITIVE_INFINITY }, /backoffMaxSeconds/],
      ['a negative lease', { leaseSeconds: -60 }, /leaseSeconds must be a number ≥ 0; got -60/],
      ['concurrency 0', { concurrency: 0 }, /concurrency must be an integer ≥ 1; got 0/],
      ['a fractional concurrency', { concurrency: 1.5 }, /concurrency must be an integer ≥ 1; got 1.5/],
      ['pageSize 0', { pageSize: 0 }, /pageSize must be an integer ≥ 1; got 0/],
      ['a fractional pageSize', { pageSize: 2.5 }, /pageSize must be an integer ≥ 1; got 2.5/],
    ])('is refused with a RangeError for %s', (_case, policy, problem) => {
      expect(() => newSweeper(policy)).toThrow(RangeError);
      expect(() => newSweeper(policy)).toThrow(problem);
    });

    it('accepts the smallest policy: one attempt, one shard at a time, one item per page', async () => {
      // GIVEN
      table.seed(message('order-1', 1), message('order-1', 2));

      // WHEN
      const report = await newSweeper({ ...POLICY, maxAttempts: 1, concurrency: 1, pageSize: 1 }).sweep();

      // THEN
      expect(report).toMatchObject({ resent: 2, complete: true });
      expect(sentIds()).toEqual(['msg-order-1-1', 'msg-order-1-2']);
    });

    it('retries DynamoDB calls as its retry option says: with one attempt, a throttled lease fails the run', async () => {
      // GIVEN
      table.seed(message('order-1', 1));
      table.db.before('Update', isLeaseOf('order-1', 1), () => {
        throw Object.assign(new Error('Throughput exceeds the current capacity'), {
          name: 'ProvisionedThroughputExceededException',
        });
      });
      const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
      const sweeper = new OutboxSweeper({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        relay: new OutboxPublisher({
          sqs: new SQSClient({ region: 'us-east-1' }),
          dynamodb,
          queueUrl: QUEUE_URL,
          outboxTableName: OUTBOX_TABLE,
        }),
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: ALERT_TOPIC,
        policy: POLICY,
        clock: () => now,
        retry: { maxAttempts: 1 },
      });

      // WHEN / THEN
      await expect(sweeper.sweep()).rejects.toMatchObject({
        name: 'SweepFailedError',
        cause: { name: 'TransientFailureError', attempts: 1 },
      });
      expect(sentIds()).toEqual([]);
    });

    it('gives up and goes on without onFailed or onAlertFailed, and reads the time itself', async () => {
      // GIVEN a message that used up its attempts, committed long ago, and an alert topic refusing every publish
      now = new Date();
      table.seed(message('order-1', 1, { attempts: 4, lastAttemptAt: secondsAgo(900) }));
      sns.on(PublishCommand).rejects(new Error('refused'));
      const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
      const sweeper = new OutboxSweeper({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        relay: new OutboxPublisher({
          sqs: new SQSClient({ region: 'us-east-1' }),
          dynamodb,
          queueUrl: QUEUE_URL,
          outboxTableName: OUTBOX_TABLE,
        }),
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: ALERT_TOPIC,
        policy: POLICY,
      });

      // WHEN
      const report = await sweeper.sweep();

      // THEN
      expect(report).toMatchObject({ markedFailed: 1, alertFailures: 1, complete: true });
      expect(report.oldestPendingAgeSeconds).toBeGreaterThanOrEqual(600);
      expect(table.item('order-1', 1)).toMatchObject({ status: 'FAILED' });
    });
  });
});

/** `count` distinct keys whose messages share one shard of the unsent index, in the shard's order. */
function keysInOneShard(count: number): string[] {
  const shard = unsentMessageAttributes('order-0', 1).sweepShard;
  const keys: string[] = [];
  for (let n = 0; keys.length < count; n++) {
    if (unsentMessageAttributes(`order-${n}`, 1).sweepShard === shard) keys.push(`order-${n}`);
  }
  return keys.sort((a, b) =>
    unsentMessageAttributes(a, 1).sweepOrder < unsentMessageAttributes(b, 1).sweepOrder ? -1 : 1,
  );
}

/** A small deterministic pseudo-random generator (mulberry32). */
function seededRandom(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
