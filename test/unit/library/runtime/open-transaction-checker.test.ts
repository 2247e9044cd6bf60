import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, type PublishCommandInput, SNSClient } from '@aws-sdk/client-sns';
import {
  DynamoDBDocumentClient,
  QueryCommand,
  ScanCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CheckResult,
  halfMessageKey,
  type TransactionCheckRequest,
} from '../../../../functions/runtime/half/half-message';
import {
  type CheckBackPolicy,
  type CheckBackReport,
  DEFAULT_CHECK_BACK_POLICY,
  type FailedTransaction,
  OpenTransactionChecker,
  type ResolvedTransaction,
} from '../../../../functions/runtime/half/open-transaction-checker';
import { TransactionalProducer } from '../../../../functions/runtime/half/transactional-producer';
import { transactionShards, UNSENT_INDEX } from '../../../../functions/runtime/outbox/unsent-index';
import { InMemoryDynamoDb, type Item, type LostAnswer } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES } from '../../../../tools/dynamodb/outbox-table';

const OUTBOX_TABLE = 'outbox-table';
const ORDERS_TABLE = 'orders-table';
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:half-message-alerts';
const START = new Date('2026-03-01T12:00:00.000Z');
const POLICY: CheckBackPolicy = { checkIntervalSeconds: 30, maxChecks: 3 };
const PREPARE_TIMEOUT = 6;

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

let db: InMemoryDynamoDb;
let now: Date;
let producer: TransactionalProducer;
/** What the checker answers, in turn (the last answer repeats); a function answers by calling it. */
let answers: Array<CheckResult | ((request: TransactionCheckRequest) => Promise<CheckResult>)>;
let requests: TransactionCheckRequest[];
let failedLog: FailedTransaction[];
let resolvedLog: ResolvedTransaction[];
/** Alerts SNS did not take, as the check-back reported them. */
let alertFailedLog: Array<{ transactionId: string; error: unknown }>;

const seconds = (date: Date = now) => Math.floor(date.getTime() / 1000);
const advance = (by: number) => {
  now = new Date(now.getTime() + by * 1000);
};

async function checker(request: TransactionCheckRequest): Promise<CheckResult> {
  requests.push(request);
  const answer = answers.length > 1 ? answers.shift() : answers[0];
  if (answer === undefined) throw new Error('the test gave the checker no answer');
  return typeof answer === 'function' ? answer(request) : answer;
}

/** `policy: null` leaves the policy out (the defaults apply). */
function newCheckBack(
  policy: Partial<CheckBackPolicy> | null = POLICY,
  changes: { checker?: (request: TransactionCheckRequest) => Promise<CheckResult> } = {},
): OpenTransactionChecker {
  return new OpenTransactionChecker({
    dynamodb,
    sns: new SNSClient({ region: 'us-east-1' }),
    producer,
    outboxTableName: OUTBOX_TABLE,
    alertTopicArn: ALERT_TOPIC,
    checker: changes.checker ?? checker,
    policy: policy ?? undefined,
    clock: () => now,
    onResolved: (resolved) => resolvedLog.push(resolved),
    onFailed: (failed) => failedLog.push(failed),
    onAlertFailed: (failed, error) => alertFailedLog.push({ transactionId: failed.transactionId, error }),
  });
}

function order(orderId: string, version = 1): Item {
  return { orderId, customerId: 'customer-1', status: 'PLACED', version };
}

/** Prepares a PaymentCaptured half message for `orderId` now (the order exists at version 1). */
async function prepare(transactionId: string, orderId = `order-${transactionId}`): Promise<string> {
  if (db.item(ORDERS_TABLE, { orderId }) === undefined) db.seed(ORDERS_TABLE, order(orderId));
  const prepared = await producer.prepare({
    transactionId,
    groupKey: orderId,
    type: 'PaymentCaptured',
    payload: { orderId, transactionId, amount: 42 },
    aggregate: { tableName: ORDERS_TABLE, key: { orderId }, set: { paid: true } },
  });
  return prepared.messageId;
}

const halfOf = (transactionId: string) => db.item(OUTBOX_TABLE, halfMessageKey(transactionId));
const messagesOf = (orderId: string) => db.all(OUTBOX_TABLE).filter((item) => item.groupKey === orderId);
const alerts = (): PublishCommandInput[] =>
  sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
const isLeaseOf =
  (transactionId: string) =>
  (input: UpdateCommandInput): boolean =>
    input.Key?.groupKey === `TX#${transactionId}` && (input.UpdateExpression ?? '').includes('checkCount =');
const isCommitOf =
  (transactionId: string) =>
  (input: TransactWriteCommandInput): boolean =>
    (input.TransactItems ?? []).some((item) => item.Update?.Key?.groupKey === `TX#${transactionId}`);
const isRollbackOf =
  (transactionId: string) =>
  (input: UpdateCommandInput): boolean =>
    input.Key?.groupKey === `TX#${transactionId}` && (input.UpdateExpression ?? '').includes(':rolledBack');
const LOST_ANSWERS: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];
const isMarkFailedOf =
  (transactionId: string) =>
  (input: UpdateCommandInput): boolean =>
    input.Key?.groupKey === `TX#${transactionId}` && (input.UpdateExpression ?? '').includes('failedAt');

function report(changes: Partial<CheckBackReport>): CheckBackReport {
  return {
    open: 0,
    oldestOpenAgeSeconds: 0,
    checked: 0,
    committed: 0,
    rolledBack: 0,
    unknown: 0,
    errors: 0,
    failed: 0,
    failedOpen: 0,
    alertFailures: 0,
    complete: true,
    ...changes,
  };
}

/** Runs `count` passes, checkIntervalSeconds apart (the first one now). */
async function passes(count: number, checkBack = newCheckBack()): Promise<CheckBackReport[]> {
  const reports: CheckBackReport[] = [];
  for (let pass = 0; pass < count; pass++) {
    if (pass > 0) advance(POLICY.checkIntervalSeconds);
    reports.push(await checkBack.checkOnce());
  }
  return reports;
}

beforeEach(() => {
  ddb.reset();
  sns.reset();
  db = new InMemoryDynamoDb(
    { [OUTBOX_TABLE]: ['groupKey', 'sequence'], [ORDERS_TABLE]: ['orderId'] },
    { [OUTBOX_TABLE]: OUTBOX_INDEXES },
  );
  db.install(ddb);
  sns.onAnyCommand().rejects(new Error('unexpected SNS command'));
  sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
  now = START;
  producer = new TransactionalProducer({
    dynamodb,
    outboxTableName: OUTBOX_TABLE,
    prepareTimeoutSeconds: PREPARE_TIMEOUT,
    clock: () => now,
  });
  answers = ['UNKNOWN'];
  requests = [];
  failedLog = [];
  alertFailedLog = [];
  resolvedLog = [];
});

describe('OpenTransactionChecker.checkOnce', () => {
  describe('which transactions it checks', () => {
    it('reports nothing open and asks nothing when no transaction is PREPARED', async () => {
      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toEqual(report({}));
      expect(requests).toEqual([]);
      expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    });

    it('leaves a transaction alone until its prepare timeout, and counts it open meanwhile', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT - 1);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toEqual(report({ open: 1, oldestOpenAgeSeconds: PREPARE_TIMEOUT - 1 }));
      expect(requests).toEqual([]);
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', checkCount: 0 });
    });

    it('checks a transaction once its prepare timeout is reached', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toEqual(
        report({ open: 1, oldestOpenAgeSeconds: PREPARE_TIMEOUT, checked: 1, unknown: 1 }),
      );
      expect(requests.map((request) => request.transactionId)).toEqual(['tx-1']);
    });

    it('does not check before the prepare timeout even when the next check is due', async () => {
      // GIVEN a record whose nextCheckAt is due but whose prepare timeout is not
      await prepare('tx-1');
      db.patch(OUTBOX_TABLE, halfMessageKey('tx-1'), { nextCheckAt: seconds() - 100 });

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result.checked).toBe(0);
      expect(requests).toEqual([]);
    });

    it('waits checkIntervalSeconds between two checks of one transaction', async () => {
      // GIVEN one check answered UNKNOWN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      await newCheckBack().checkOnce();

      // WHEN
      advance(POLICY.checkIntervalSeconds - 1);
      const early = await newCheckBack().checkOnce();
      advance(1);
      const due = await newCheckBack().checkOnce();

      // THEN
      expect(early.checked).toBe(0);
      expect(due.checked).toBe(1);
      expect(requests.map((request) => request.checkCount)).toEqual([1, 2]);
    });

    it('counts and checks only PREPARED items: never messages, committed, rolled back or FAILED transactions', async () => {
      // GIVEN one of each
      await prepare('tx-open');
      await prepare('tx-committed');
      await producer.commit('tx-committed');
      await prepare('tx-rolled-back');
      await producer.rollback('tx-rolled-back');
      await prepare('tx-failed');
      db.patch(OUTBOX_TABLE, halfMessageKey('tx-failed'), { status: 'FAILED' });
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ open: 1, checked: 1 });
      expect(requests.map((request) => request.transactionId)).toEqual(['tx-open']);
      expect(halfOf('tx-failed')).toMatchObject({ status: 'FAILED', checkCount: 0 });
    });

    it('reads only the open transactions, from every shard of the unsent index, page after page', async () => {
      // GIVEN three open transactions served one item per page, one resolved transaction and an unsent message
      db.queryPageSize = 1;
      for (const id of ['tx-1', 'tx-2', 'tx-3', 'tx-done']) await prepare(id);
      await producer.rollback('tx-done');
      db.seed(OUTBOX_TABLE, {
        groupKey: 'order-9',
        sequence: 1,
        status: 'PENDING',
        createdAt: now.toISOString(),
      });
      advance(PREPARE_TIMEOUT);
      const read: Item[] = [];
      ddb.on(QueryCommand).callsFake(async (input) => {
        const page = await db.query(input);
        read.push(...(page.Items ?? []));
        return page;
      });

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ open: 3, checked: 3, complete: true });
      expect(requests.map((request) => request.transactionId).sort()).toEqual(['tx-1', 'tx-2', 'tx-3']);
      expect(read.map((item) => item.transactionId).sort()).toEqual(['tx-1', 'tx-2', 'tx-3']);
      expect(ddb.commandCalls(ScanCommand)).toEqual([]);
      const queries = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input);
      expect(new Set(queries.map((query) => query.ExpressionAttributeValues?.[':shard']))).toEqual(
        new Set(transactionShards()),
      );
      expect(queries.every((query) => query.IndexName === UNSENT_INDEX)).toBe(true);
    });

    it('reads nothing when less than its reserve (10 s by default) is left, and reports the pass incomplete', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack().checkOnce({ remainingTimeMs: () => 9_999 });

      // THEN
      expect(result).toEqual(report({ complete: false }));
      expect(ddb.commandCalls(QueryCommand)).toEqual([]);
    });

    it('still reads and checks with exactly its reserve left', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack().checkOnce({ remainingTimeMs: () => 10_000 });

      // THEN
      expect(result).toMatchObject({ checked: 1, complete: true });
    });

    it('reads every page of a shard: transactions of one shard served one per page are all checked', async () => {
      // GIVEN three open transactions of one shard, one per page
      db.queryPageSize = 1;
      for (const id of ['tx-1', 'tx-9', 'tx-12']) await prepare(id);
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ open: 3, checked: 3, complete: true });
    });

    it('stops between two due transactions of one page when its time is nearly up', async () => {
      // GIVEN two due transactions of one shard, and 12 s left: the first check takes 5 s
      for (const id of ['tx-1', 'tx-9']) await prepare(id);
      advance(PREPARE_TIMEOUT);
      let remaining = 12_000;
      answers = [
        async () => {
          remaining -= 5_000;
          return 'UNKNOWN';
        },
      ];

      // WHEN
      const result = await newCheckBack().checkOnce({ remainingTimeMs: () => remaining });

      // THEN
      expect(result).toMatchObject({ open: 2, checked: 1, complete: false });
      expect(requests).toHaveLength(1);
    });

    it('stops starting checks when its time is nearly up, and reports the pass incomplete', async () => {
      // GIVEN two due transactions, and 12 s left: the first check takes 5 s
      for (const id of ['tx-1', 'tx-2']) await prepare(id);
      advance(PREPARE_TIMEOUT);
      let remaining = 12_000;
      answers = [
        async () => {
          remaining -= 5_000;
          return 'UNKNOWN';
        },
      ];

      // WHEN
      const result = await newCheckBack().checkOnce({ remainingTimeMs: () => remaining, reserveMs: 10_000 });

      // THEN
      expect(result).toMatchObject({ checked: 1, complete: false });
    });
  });

  describe('each check', () => {
    it('counts the check and schedules the next one before asking, with a conditional lease', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      let recordWhileAsked: Item | undefined;
      answers = [
        async () => {
          recordWhileAsked = halfOf('tx-1');
          return 'UNKNOWN';
        },
      ];

      // WHEN
      await newCheckBack().checkOnce();

      // THEN
      expect(recordWhileAsked).toMatchObject({
        checkCount: 1,
        nextCheckAt: seconds() + POLICY.checkIntervalSeconds,
      });
      const lease = ddb
        .commandCalls(UpdateCommand)
        .map((call) => call.args[0].input)
        .find(isLeaseOf('tx-1'));
      expect(lease?.ConditionExpression).toBe('#status = :prepared AND checkCount = :seen');
    });

    it('asks the checker with the transaction’s target key, type, parsed payload, messageId, check count and prepare time', async () => {
      // GIVEN
      const messageId = await prepare('tx-1', 'order-7');
      advance(PREPARE_TIMEOUT);

      // WHEN
      await newCheckBack().checkOnce();

      // THEN
      expect(requests).toEqual<TransactionCheckRequest[]>([
        {
          transactionId: 'tx-1',
          groupKey: 'order-7',
          type: 'PaymentCaptured',
          payload: { orderId: 'order-7', transactionId: 'tx-1', amount: 42 },
          messageId,
          checkCount: 1,
          preparedAt: START.toISOString(),
        },
      ]);
    });

    it('records the checker’s last answer on the transaction', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      await newCheckBack().checkOnce();

      // THEN
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', lastCheckResult: 'UNKNOWN' });
    });

    it('goes on when recording the answer fails', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      answers = ['ROLLBACK'];
      db.before(
        'Update',
        (input) => (input.UpdateExpression ?? '').includes('lastCheckResult'),
        () => {
          throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
        },
      );

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ checked: 1, rolledBack: 1 });
      expect(halfOf('tx-1')).toMatchObject({ status: 'ROLLED_BACK' });
    });
  });

  describe('the checker’s answer', () => {
    it('COMMIT commits, exactly as the producer would: the message takes the next version, resolved by the check-back', async () => {
      // GIVEN
      const messageId = await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = ['COMMIT'];

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toEqual(
        report({ open: 1, oldestOpenAgeSeconds: PREPARE_TIMEOUT, checked: 1, committed: 1 }),
      );
      expect(halfOf('tx-1')).toMatchObject({
        status: 'COMMITTED',
        committedSequence: 2,
        resolvedBy: 'check-back',
        lastCheckResult: 'COMMIT',
      });
      expect(messagesOf('order-1')).toEqual([
        expect.objectContaining({ sequence: 2, messageId, type: 'PaymentCaptured', status: 'PENDING' }),
      ]);
      expect(db.item(ORDERS_TABLE, { orderId: 'order-1' })).toMatchObject({ version: 2, paid: true });
    });

    it('tells of each transaction it resolved, with its message and traceparent (the check-back logs that line)', async () => {
      // GIVEN a due transaction to commit and one to roll back, the first prepared under a traceparent
      const trace = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
      db.seed(ORDERS_TABLE, order('order-1'));
      const committed = await producer.prepare({
        transactionId: 'tx-1',
        groupKey: 'order-1',
        type: 'PaymentCaptured',
        payload: { orderId: 'order-1' },
        aggregate: { tableName: ORDERS_TABLE, key: { orderId: 'order-1' }, set: { paid: true } },
        traceparent: trace,
      });
      const rolledBack = await prepare('tx-2', 'order-2');
      advance(PREPARE_TIMEOUT);
      answers = ['COMMIT', 'ROLLBACK'];
      const checkBack = newCheckBack(POLICY, {
        checker: async (request) => (request.transactionId === 'tx-1' ? 'COMMIT' : 'ROLLBACK'),
      });

      // WHEN it passes
      await checkBack.checkOnce();

      // THEN it told of both, each with its message's id, key and traceparent
      expect([...resolvedLog].sort((a, b) => a.transactionId.localeCompare(b.transactionId))).toEqual([
        {
          transactionId: 'tx-1',
          resolution: 'COMMITTED',
          messageId: committed.messageId,
          groupKey: 'order-1',
          traceparent: trace,
        },
        {
          transactionId: 'tx-2',
          resolution: 'ROLLED_BACK',
          messageId: rolledBack,
          groupKey: 'order-2',
          traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/),
        },
      ]);
    });

    it('tells of nothing it did not resolve (an UNKNOWN answer)', async () => {
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = ['UNKNOWN'];
      await newCheckBack().checkOnce();
      expect(resolvedLog).toEqual([]);
    });

    it('goes on with the other transactions when one cannot be committed, and makes that one FAILED after the last check', async () => {
      // GIVEN two due transactions, the first of which lost its aggregate
      await prepare('tx-1', 'order-1');
      await prepare('tx-2', 'order-2');
      db.remove(ORDERS_TABLE, { orderId: 'order-1' });
      advance(PREPARE_TIMEOUT);
      answers = ['COMMIT'];

      // WHEN the check-back passes as often as it may check
      const first = await newCheckBack().checkOnce();
      for (let check = 2; check <= POLICY.maxChecks; check++) {
        advance(POLICY.checkIntervalSeconds);
        await newCheckBack().checkOnce();
      }

      // THEN the second transaction was committed in the first pass despite the first one's error
      expect(first).toMatchObject({ checked: 2, committed: 1, errors: 1 });
      expect(halfOf('tx-2')).toMatchObject({ status: 'COMMITTED' });
      // AND the first one is FAILED after its last check, with an alert, never silently left open
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED', checkCount: POLICY.maxChecks });
      expect(failedLog.map((failed) => failed.transactionId)).toEqual(['tx-1']);
    });

    it('ROLLBACK rolls back, resolved by the check-back, and writes no message', async () => {
      // GIVEN
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = ['ROLLBACK'];

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toEqual(
        report({ open: 1, oldestOpenAgeSeconds: PREPARE_TIMEOUT, checked: 1, rolledBack: 1 }),
      );
      expect(halfOf('tx-1')).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'check-back' });
      expect(messagesOf('order-1')).toEqual([]);
      expect(db.item(ORDERS_TABLE, { orderId: 'order-1' })).toEqual(order('order-1'));
    });

    it('UNKNOWN leaves the transaction PREPARED for the next check', async () => {
      // GIVEN
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toEqual(
        report({ open: 1, oldestOpenAgeSeconds: PREPARE_TIMEOUT, checked: 1, unknown: 1 }),
      );
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', checkCount: 1 });
      expect(messagesOf('order-1')).toEqual([]);
      expect(alerts()).toEqual([]);
    });

    it.each<[string, () => Promise<CheckResult>]>([
      ['fails', () => Promise.reject(new Error('checker timed out'))],
      ['answers something else', () => Promise.resolve('MAYBE' as unknown as CheckResult)],
      ['answers nothing', () => Promise.resolve(undefined as unknown as CheckResult)],
    ])('counts a checker that %s as UNKNOWN', async (_, answer) => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const result = await newCheckBack(POLICY, { checker: answer }).checkOnce();

      // THEN
      expect(result).toMatchObject({ checked: 1, unknown: 1, committed: 0, rolledBack: 0 });
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', checkCount: 1, lastCheckResult: 'UNKNOWN' });
    });

    it('handles each due transaction by its own answer', async () => {
      // GIVEN
      await prepare('tx-a');
      await prepare('tx-b');
      await prepare('tx-c');
      advance(PREPARE_TIMEOUT);
      const byTransaction: Record<string, CheckResult> = {
        'tx-a': 'COMMIT',
        'tx-b': 'ROLLBACK',
        'tx-c': 'UNKNOWN',
      };

      // WHEN
      const result = await newCheckBack(POLICY, {
        checker: async (request) => byTransaction[request.transactionId]!,
      }).checkOnce();

      // THEN
      expect(result).toEqual(
        report({
          open: 3,
          oldestOpenAgeSeconds: PREPARE_TIMEOUT,
          checked: 3,
          committed: 1,
          rolledBack: 1,
          unknown: 1,
        }),
      );
      expect(halfOf('tx-a')).toMatchObject({ status: 'COMMITTED' });
      expect(halfOf('tx-b')).toMatchObject({ status: 'ROLLED_BACK' });
      expect(halfOf('tx-c')).toMatchObject({ status: 'PREPARED' });
    });
  });

  describe('giving up', () => {
    it('turns the transaction FAILED after maxChecks UNKNOWN answers, with an error log and one SNS alert', async () => {
      // GIVEN
      const messageId = await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const reports = await passes(POLICY.maxChecks);

      // THEN
      expect(reports.map((r) => [r.checked, r.unknown, r.failed])).toEqual([
        [1, 1, 0],
        [1, 1, 0],
        [1, 1, 1],
      ]);
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED', checkCount: 3, failedAt: now.toISOString() });
      const failed: FailedTransaction = {
        transactionId: 'tx-1',
        groupKey: 'order-1',
        type: 'PaymentCaptured',
        messageId,
        checkCount: 3,
        lastCheckResult: 'UNKNOWN',
        preparedAt: START.toISOString(),
      };
      expect(failedLog).toEqual([failed]);
      expect(alerts()).toEqual([
        {
          TopicArn: ALERT_TOPIC,
          Subject: 'Transaction FAILED after 3 checks',
          Message: expect.any(String),
          MessageAttributes: { alert: { DataType: 'String', StringValue: 'TransactionCheckFailed' } },
        },
      ]);
      expect(JSON.parse(alerts()[0]?.Message ?? '')).toEqual({ alert: 'TransactionCheckFailed', ...failed });
      expect(messagesOf('order-1')).toEqual([]);
    });

    it('raises no alert before the last check', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      await passes(POLICY.maxChecks - 1);

      // THEN
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', checkCount: POLICY.maxChecks - 1 });
      expect(alerts()).toEqual([]);
      expect(failedLog).toEqual([]);
    });

    it('stops checking a FAILED transaction: later passes neither ask nor alert again, but count it FAILED', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      await passes(POLICY.maxChecks);

      // WHEN
      advance(POLICY.checkIntervalSeconds);
      const later = await newCheckBack().checkOnce();

      // THEN
      expect(later).toEqual(report({ failedOpen: 1 }));
      expect(requests).toHaveLength(POLICY.maxChecks);
      expect(alerts()).toHaveLength(1);
    });

    it('commits, not fails, when the last check answers COMMIT', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      answers = ['UNKNOWN', 'UNKNOWN', 'COMMIT'];

      // WHEN
      const reports = await passes(POLICY.maxChecks);

      // THEN
      expect(reports.at(-1)).toMatchObject({ committed: 1, failed: 0 });
      expect(halfOf('tx-1')).toMatchObject({ status: 'COMMITTED' });
      expect(alerts()).toEqual([]);
    });

    it('keeps a FAILED transaction open for an operator to commit or roll back by hand', async () => {
      // GIVEN two FAILED transactions
      await prepare('tx-1', 'order-1');
      await prepare('tx-2', 'order-2');
      advance(PREPARE_TIMEOUT);
      await passes(POLICY.maxChecks);

      // WHEN
      const committed = await producer.commit('tx-1', 'operator');
      const rolledBack = await producer.rollback('tx-2', 'operator');

      // THEN
      expect(committed).toMatchObject({ sequence: 2, alreadyCommitted: false });
      expect(rolledBack).toEqual({ transactionId: 'tx-2', alreadyRolledBack: false });
      expect(messagesOf('order-1')).toHaveLength(1);
      expect(halfOf('tx-2')).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'operator' });
    });

    it('uses RocketMQ’s defaults when given no policy: a check every 30 s, FAILED at the 15th', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      const checkBack = newCheckBack(null);

      // WHEN
      const results: CheckBackReport[] = [];
      for (let check = 1; check <= 15; check++) {
        results.push(await checkBack.checkOnce());
        if (check === 1) expect(halfOf('tx-1')).toMatchObject({ nextCheckAt: seconds() + 30 });
        advance(30);
      }

      // THEN
      expect(DEFAULT_CHECK_BACK_POLICY).toEqual({ checkIntervalSeconds: 30, maxChecks: 15 });
      expect(results.map((r) => r.checked)).toEqual(Array(15).fill(1));
      expect(results.map((r) => r.failed)).toEqual([...Array(14).fill(0), 1]);
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED', checkCount: 15 });
    });

    it('fills in the policy values it is not given from the defaults', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      await newCheckBack({ maxChecks: 1 }).checkOnce();

      // THEN
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED', nextCheckAt: seconds() + 30 });
    });
  });

  describe('racing the producer and other passes', () => {
    it('skips a transaction the producer committed after the scan, without asking the checker', async () => {
      // GIVEN the producer commits between the scan and the lease
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      db.before('Update', isLeaseOf('tx-1'), async () => {
        await producer.commit('tx-1');
      });

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ open: 1, checked: 0 });
      expect(requests).toEqual([]);
      expect(halfOf('tx-1')).toMatchObject({ status: 'COMMITTED', resolvedBy: 'producer', checkCount: 0 });
    });

    it('is not an error when the producer resolves the transaction the other way while the checker is asked', async () => {
      // GIVEN the producer commits while the checker looks, and the checker (too late) answers ROLLBACK
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = [
        async () => {
          await producer.commit('tx-1');
          return 'ROLLBACK';
        },
      ];

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({
        checked: 1,
        committed: 0,
        rolledBack: 0,
        unknown: 0,
        failed: 0,
        errors: 0,
      });
      expect(halfOf('tx-1')).toMatchObject({ status: 'COMMITTED', resolvedBy: 'producer' });
      expect(messagesOf('order-1')).toHaveLength(1);
    });

    it('is not an error when the producer rolls back while the checker answers COMMIT', async () => {
      // GIVEN
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = [
        async () => {
          await producer.rollback('tx-1');
          return 'COMMIT';
        },
      ];

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ checked: 1, committed: 0, rolledBack: 0 });
      expect(halfOf('tx-1')).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'producer' });
      expect(messagesOf('order-1')).toEqual([]);
    });

    it.each<[CheckResult, 'commit' | 'rollback', 'COMMITTED' | 'ROLLED_BACK']>([
      ['COMMIT', 'commit', 'COMMITTED'],
      ['ROLLBACK', 'rollback', 'ROLLED_BACK'],
    ])(
      'does not count as its own a %s the producer made first while the checker was asked',
      async (answer, producerAction, status) => {
        // GIVEN
        await prepare('tx-1', 'order-1');
        advance(PREPARE_TIMEOUT);
        answers = [
          async () => {
            await producer[producerAction]('tx-1');
            return answer;
          },
        ];

        // WHEN
        const result = await newCheckBack().checkOnce();

        // THEN
        expect(result).toMatchObject({ checked: 1, committed: 0, rolledBack: 0 });
        expect(halfOf('tx-1')).toMatchObject({ status, resolvedBy: 'producer' });
        expect(messagesOf('order-1')).toHaveLength(status === 'COMMITTED' ? 1 : 0);
      },
    );

    it('neither fails nor alerts a transaction the producer committed during its last check', async () => {
      // GIVEN two UNKNOWN checks, then the producer commits while the third is asked
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = [
        'UNKNOWN',
        'UNKNOWN',
        async () => {
          await producer.commit('tx-1');
          return 'UNKNOWN';
        },
      ];

      // WHEN
      const reports = await passes(POLICY.maxChecks);

      // THEN
      expect(reports.at(-1)).toMatchObject({ checked: 1, unknown: 1, failed: 0 });
      expect(halfOf('tx-1')).toMatchObject({ status: 'COMMITTED' });
      expect(alerts()).toEqual([]);
      expect(failedLog).toEqual([]);
    });

    it('neither fails nor alerts when another pass counted a check in between', async () => {
      // GIVEN the last check is due; another pass counts a check just before this one turns it FAILED
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      await passes(POLICY.maxChecks - 1);
      advance(POLICY.checkIntervalSeconds);
      db.before('Update', isMarkFailedOf('tx-1'), () =>
        db.patch(OUTBOX_TABLE, halfMessageKey('tx-1'), { checkCount: POLICY.maxChecks + 1 }),
      );

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ unknown: 1, failed: 0 });
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED' });
      expect(alerts()).toEqual([]);
    });

    it('asks the checker once when two passes run at the same time: the second loses the lease', async () => {
      // GIVEN a second pass runs to its end just before the first one leases
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      const first = newCheckBack();
      const second = newCheckBack();
      let secondReport: CheckBackReport | undefined;
      db.before('Update', isLeaseOf('tx-1'), async () => {
        secondReport = await second.checkOnce();
      });

      // WHEN
      const firstReport = await first.checkOnce();

      // THEN
      expect(secondReport).toMatchObject({ checked: 1, unknown: 1 });
      expect(firstReport).toMatchObject({ open: 1, checked: 0, unknown: 0 });
      expect(requests).toHaveLength(1);
      expect(halfOf('tx-1')).toMatchObject({ checkCount: 1 });
    });

    it('fails the pass, not as "leased elsewhere", when the lease fails for a reason other than its condition', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      const failure = Object.assign(new Error('One or more parameter values were invalid'), {
        name: 'ValidationException',
      });
      db.before('Update', isLeaseOf('tx-1'), () => {
        throw failure;
      });

      // WHEN
      const attempt = newCheckBack().checkOnce();

      // THEN
      await expect(attempt).rejects.toBe(failure);
      expect(requests).toEqual([]);
    });

    it('retries DynamoDB calls as its retry option says: with one attempt, a throttled lease fails the pass', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      db.before('Update', isLeaseOf('tx-1'), () => {
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      });
      const checkBack = new OpenTransactionChecker({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        producer,
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: ALERT_TOPIC,
        checker,
        policy: POLICY,
        clock: () => now,
        retry: { maxAttempts: 1 },
      });

      // WHEN
      const attempt = checkBack.checkOnce();

      // THEN
      await expect(attempt).rejects.toMatchObject({ name: 'TransientFailureError', attempts: 1 });
      expect(requests).toEqual([]);
    });

    it('retries a throttled lease in-process and checks the transaction in the same pass', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      db.before('Update', isLeaseOf('tx-1'), () => {
        throw new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      });

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ checked: 1 });
      expect(requests.map((request) => request.transactionId)).toEqual(['tx-1']);
    });
  });

  describe('when an answer is lost after the write landed', () => {
    it.each(LOST_ANSWERS)(
      'asks the checker in the same pass when the answer to its lease was lost (%s), counting the check once',
      async (outcome) => {
        // GIVEN the lease lands, and its caller sees `outcome`
        await prepare('tx-1');
        advance(PREPARE_TIMEOUT);
        db.loseAnswer('Update', isLeaseOf('tx-1'), outcome);

        // WHEN
        const result = await newCheckBack().checkOnce();

        // THEN
        expect(db.lostAnswerCount).toBe(1);
        expect(result).toMatchObject({ checked: 1, unknown: 1 });
        expect(requests.map((request) => request.checkCount)).toEqual([1]);
        expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', checkCount: 1 });
      },
    );

    it('never gives up before the checker was asked maxChecks times, when every lease answer is lost', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN every pass's lease answer is lost
      const reports: CheckBackReport[] = [];
      for (let pass = 0; pass < POLICY.maxChecks; pass++) {
        if (pass > 0) advance(POLICY.checkIntervalSeconds);
        db.loseAnswer('Update', isLeaseOf('tx-1'), LOST_ANSWERS[pass % LOST_ANSWERS.length]);
        reports.push(await newCheckBack().checkOnce());
      }

      // THEN
      expect(requests.map((request) => request.checkCount)).toEqual([1, 2, 3]);
      expect(reports.map((r) => r.failed)).toEqual([0, 0, 1]);
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED', checkCount: POLICY.maxChecks });
      expect(alerts()).toHaveLength(1);
    });

    it.each(LOST_ANSWERS)(
      'counts, logs and alerts a transaction it turned FAILED whose answer was lost (%s)',
      async (outcome) => {
        // GIVEN the last check is due, and the answer to turning it FAILED is lost
        const messageId = await prepare('tx-1', 'order-1');
        advance(PREPARE_TIMEOUT);
        await passes(POLICY.maxChecks - 1);
        advance(POLICY.checkIntervalSeconds);
        db.loseAnswer('Update', isMarkFailedOf('tx-1'), outcome);

        // WHEN
        const result = await newCheckBack().checkOnce();

        // THEN
        expect(db.lostAnswerCount).toBe(1);
        expect(result).toMatchObject({ unknown: 1, failed: 1, failedOpen: 1, alertFailures: 0 });
        expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED', checkCount: POLICY.maxChecks });
        expect(failedLog).toEqual([expect.objectContaining({ transactionId: 'tx-1', messageId })]);
        expect(alerts()).toHaveLength(1);
      },
    );

    it('never counts as its own a FAILED mark another pass made just before', async () => {
      // GIVEN the last check is due; another pass turns it FAILED (with its own token) just before this one
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);
      await passes(POLICY.maxChecks - 1);
      advance(POLICY.checkIntervalSeconds);
      db.before('Update', isMarkFailedOf('tx-1'), () =>
        db.patch(OUTBOX_TABLE, halfMessageKey('tx-1'), { status: 'FAILED', writeToken: 'another-pass' }),
      );

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result).toMatchObject({ unknown: 1, failed: 0, failedOpen: 0 });
      expect(alerts()).toEqual([]);
      expect(failedLog).toEqual([]);
    });

    it.each(LOST_ANSWERS)(
      'commits once and counts the commit as its own when the answer to it was lost (%s)',
      async (outcome) => {
        // GIVEN
        await prepare('tx-1', 'order-1');
        advance(PREPARE_TIMEOUT);
        answers = ['COMMIT'];
        db.loseAnswer('TransactWrite', isCommitOf('tx-1'), outcome);

        // WHEN
        const result = await newCheckBack().checkOnce();

        // THEN
        expect(db.lostAnswerCount).toBe(1);
        expect(result).toMatchObject({ checked: 1, committed: 1, errors: 0, failed: 0 });
        expect(halfOf('tx-1')).toMatchObject({ status: 'COMMITTED', resolvedBy: 'check-back' });
        expect(messagesOf('order-1')).toHaveLength(1);
      },
    );

    it.each(LOST_ANSWERS)(
      'rolls back once and counts the rollback as its own when the answer to it was lost (%s)',
      async (outcome) => {
        // GIVEN
        await prepare('tx-1', 'order-1');
        advance(PREPARE_TIMEOUT);
        answers = ['ROLLBACK'];
        db.loseAnswer('Update', isRollbackOf('tx-1'), outcome);

        // WHEN
        const result = await newCheckBack().checkOnce();

        // THEN
        expect(db.lostAnswerCount).toBe(1);
        expect(result).toMatchObject({ checked: 1, rolledBack: 1, errors: 0 });
        expect(halfOf('tx-1')).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'check-back' });
      },
    );

    it('reports an error, and checks again later, when a rollback of unknown outcome did not land', async () => {
      // GIVEN the rollback fails with a 500 before anything was written
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = ['ROLLBACK'];
      const failure = Object.assign(new Error('internal'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      db.before('Update', isRollbackOf('tx-1'), () => {
        throw failure;
      });
      const errors: unknown[] = [];
      const checkBack = new OpenTransactionChecker({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        producer,
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: ALERT_TOPIC,
        checker,
        policy: POLICY,
        clock: () => now,
        onError: (_transactionId, error) => errors.push(error),
      });

      // WHEN
      const result = await checkBack.checkOnce();

      // THEN
      expect(result).toMatchObject({ checked: 1, rolledBack: 0, errors: 1 });
      expect(errors).toEqual([failure]);
      expect(halfOf('tx-1')).toMatchObject({ status: 'PREPARED', checkCount: 1 });
    });
  });

  describe('a resolution of unknown outcome that did not land', () => {
    const serverError = () =>
      Object.assign(new Error('internal'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
    function checkBackLogging(errors: unknown[]): OpenTransactionChecker {
      return new OpenTransactionChecker({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        producer,
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: ALERT_TOPIC,
        checker,
        policy: POLICY,
        clock: () => now,
        onError: (_transactionId, error) => errors.push(error),
      });
    }

    it('is not counted as its own rollback when another check-back resolved the transaction the other way', async () => {
      // GIVEN the rollback fails with a 500 before writing; meanwhile the transaction was committed by a check-back
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = ['ROLLBACK'];
      const failure = serverError();
      db.before('Update', isRollbackOf('tx-1'), () => {
        db.patch(OUTBOX_TABLE, halfMessageKey('tx-1'), { status: 'COMMITTED', resolvedBy: 'check-back' });
        throw failure;
      });
      const errors: unknown[] = [];

      // WHEN
      const result = await checkBackLogging(errors).checkOnce();

      // THEN
      expect(result).toMatchObject({ rolledBack: 0, errors: 1 });
      expect(errors).toEqual([failure]);
    });

    it('is an error, reported as such, when the transaction is gone by the time it is read again', async () => {
      // GIVEN the rollback fails with a 500 before writing, and the transaction's record is gone
      await prepare('tx-1', 'order-1');
      advance(PREPARE_TIMEOUT);
      answers = ['ROLLBACK'];
      const failure = serverError();
      db.before('Update', isRollbackOf('tx-1'), () => {
        db.remove(OUTBOX_TABLE, halfMessageKey('tx-1'));
        throw failure;
      });
      const errors: unknown[] = [];

      // WHEN
      const result = await checkBackLogging(errors).checkOnce();

      // THEN
      expect(result).toMatchObject({ rolledBack: 0, errors: 1 });
      expect(errors).toEqual([failure]);
    });
  });

  describe('without the optional hooks and clock', () => {
    it('gives up, counts and goes on with no onFailed or onAlertFailed, and reads the time itself', async () => {
      // GIVEN a transaction prepared long ago, due for its only check, and an alert topic refusing every publish
      const realNow = new Date();
      now = new Date(realNow.getTime() - 3600_000);
      await prepare('tx-1');
      sns.on(PublishCommand).rejects(new Error('refused'));
      const checkBack = new OpenTransactionChecker({
        dynamodb,
        sns: new SNSClient({ region: 'us-east-1' }),
        producer,
        outboxTableName: OUTBOX_TABLE,
        alertTopicArn: ALERT_TOPIC,
        checker,
        policy: { checkIntervalSeconds: 30, maxChecks: 1 },
      });

      // WHEN
      const result = await checkBack.checkOnce();

      // THEN
      expect(result).toMatchObject({
        checked: 1,
        failed: 1,
        failedOpen: 1,
        alertFailures: 1,
        complete: true,
      });
      expect(result.oldestOpenAgeSeconds).toBeGreaterThanOrEqual(3600);
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED' });
    });
  });

  describe('FAILED transactions and their alerts', () => {
    it('counts every FAILED transaction on every pass, however it became FAILED, apart from the open ones', async () => {
      // GIVEN one transaction turned FAILED without this library's alert, one FAILED earlier, one PREPARED
      await prepare('tx-silent');
      await prepare('tx-earlier');
      await prepare('tx-open');
      db.patch(OUTBOX_TABLE, halfMessageKey('tx-silent'), { status: 'FAILED' });
      db.patch(OUTBOX_TABLE, halfMessageKey('tx-earlier'), { status: 'FAILED' });

      // WHEN two passes run
      const reports = await passes(2);

      // THEN
      expect(reports.map((r) => [r.open, r.failedOpen, r.failed])).toEqual([
        [1, 2, 0],
        [1, 2, 0],
      ]);
    });

    it('counts the transactions a pass turns FAILED in that pass, and in every later one', async () => {
      // GIVEN
      await prepare('tx-1');
      advance(PREPARE_TIMEOUT);

      // WHEN
      const reports = await passes(POLICY.maxChecks + 1);

      // THEN
      expect(reports.map((r) => [r.open, r.failed, r.failedOpen])).toEqual([
        [1, 0, 0],
        [1, 0, 0],
        [1, 1, 1],
        [0, 0, 1],
      ]);
    });

    it('goes on with the pass when SNS does not take an alert, and reports the alert that failed', async () => {
      // GIVEN two transactions at their last check, and an alert topic that refuses every publish
      await prepare('tx-1', 'order-1');
      await prepare('tx-2', 'order-2');
      advance(PREPARE_TIMEOUT);
      await passes(POLICY.maxChecks - 1);
      advance(POLICY.checkIntervalSeconds);
      const refused = Object.assign(new Error('Rate exceeded'), { name: 'ThrottledException' });
      sns.on(PublishCommand).rejects(refused);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN both are FAILED, logged and counted, and each refused alert is reported
      expect(result).toMatchObject({
        checked: 2,
        failed: 2,
        failedOpen: 2,
        alertFailures: 2,
        complete: true,
      });
      expect(halfOf('tx-1')).toMatchObject({ status: 'FAILED' });
      expect(halfOf('tx-2')).toMatchObject({ status: 'FAILED' });
      expect(failedLog.map((failed) => failed.transactionId).sort()).toEqual(['tx-1', 'tx-2']);
      expect(alertFailedLog.map((failure) => failure.transactionId).sort()).toEqual(['tx-1', 'tx-2']);
      expect(alertFailedLog.map((failure) => (failure.error as Error).name)).toEqual([
        'ThrottledException',
        'ThrottledException',
      ]);
    });

    it('says in the alert what the checker answered last: a COMMIT that could not be committed', async () => {
      // GIVEN a transaction whose aggregate is gone, so each COMMIT fails
      await prepare('tx-1', 'order-1');
      db.remove(ORDERS_TABLE, { orderId: 'order-1' });
      advance(PREPARE_TIMEOUT);
      answers = ['COMMIT'];

      // WHEN
      await passes(POLICY.maxChecks);

      // THEN
      expect(failedLog).toEqual([
        expect.objectContaining({ transactionId: 'tx-1', lastCheckResult: 'COMMIT' }),
      ]);
      expect(JSON.parse(alerts()[0]?.Message ?? '')).toMatchObject({ lastCheckResult: 'COMMIT' });
    });
  });

  describe('its report', () => {
    it('reports the age of the oldest PREPARED transaction, in seconds', async () => {
      // GIVEN
      await prepare('tx-old');
      advance(100);
      await prepare('tx-new');
      advance(2.4);

      // WHEN
      const result = await newCheckBack().checkOnce();

      // THEN
      expect(result.open).toBe(2);
      expect(result.oldestOpenAgeSeconds).toBe(102);
    });
  });
});

describe('OpenTransactionChecker policy', () => {
  it.each<[string, Partial<CheckBackPolicy>, string]>([
    ['maxChecks 0', { maxChecks: 0 }, 'maxChecks must be an integer ≥ 1; got 0'],
    ['a negative maxChecks', { maxChecks: -1 }, 'maxChecks must be an integer ≥ 1; got -1'],
    ['a fractional maxChecks', { maxChecks: 1.5 }, 'maxChecks must be an integer ≥ 1; got 1.5'],
    ['maxChecks NaN', { maxChecks: Number.NaN }, 'maxChecks must be an integer ≥ 1; got NaN'],
    [
      'a negative checkIntervalSeconds',
      { checkIntervalSeconds: -1 },
      'checkIntervalSeconds must be ≥ 0; got -1',
    ],
    [
      'checkIntervalSeconds NaN',
      { checkIntervalSeconds: Number.NaN },
      'checkIntervalSeconds must be ≥ 0; got NaN',
    ],
  ])('refuses %s', (_, policy, message) => {
    expect(() => newCheckBack(policy)).toThrow(new RangeError(message));
  });

  it('accepts a single check and no interval, and checks again at once', async () => {
    // GIVEN
    await prepare('tx-1');
    advance(PREPARE_TIMEOUT);
    const checkBack = newCheckBack({ checkIntervalSeconds: 0, maxChecks: 2 });

    // WHEN
    const first = await checkBack.checkOnce();
    const second = await checkBack.checkOnce();

    // THEN
    expect([first.checked, second.checked]).toEqual([1, 1]);
    expect(second.failed).toBe(1);
    expect(() => newCheckBack({ checkIntervalSeconds: 0, maxChecks: 1 })).not.toThrow();
  });
});
