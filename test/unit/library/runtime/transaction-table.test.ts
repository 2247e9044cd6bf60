import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { halfMessageKey } from '../../../../functions/runtime/half/half-message';
import { OpenTransactionChecker } from '../../../../functions/runtime/half/open-transaction-checker';
import { TransactionalProducer } from '../../../../functions/runtime/half/transactional-producer';
import { openTransactionAttributes } from '../../../../functions/runtime/outbox/unsent-index';
import { OutboxAudit } from '../../../../functions/runtime/sweeper/outbox-audit';
import { InMemoryDynamoDb, type Item } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../../../tools/dynamodb/outbox-table';

// Design D (docs/lean-floor-design.md): half messages — PREPARED items, their `T#` index entries and their 7-day
// tombstones — in a transaction table of their own, so the outbox holds only ordinary messages and the sweeper's
// audit Scan of it never reads a resolved transaction. A commit stays one transaction, across the tables.

const OUTBOX = 'outbox-table';
const TRANSACTIONS = 'transaction-table';
const ORDERS = 'orders-table';
const PAYMENTS = 'payments-table';
const ALERT_TOPIC = 'arn:aws:sns:us-east-1:123456789012:alerts';
const START = new Date('2026-03-01T12:00:00.000Z');
const SEVEN_DAYS = 7 * 24 * 3600;

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

let db: InMemoryDynamoDb;
let now: Date;

const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};
const producerFor = (transactionTableName?: string) =>
  new TransactionalProducer({
    dynamodb,
    outboxTableName: OUTBOX,
    ...(transactionTableName === undefined ? {} : { transactionTableName }),
    prepareTimeoutSeconds: 6,
    clock: () => now,
  });
const checkBackFor = (producer: TransactionalProducer, transactionTableName?: string) =>
  new OpenTransactionChecker({
    dynamodb,
    sns: new SNSClient({ region: 'us-east-1' }),
    producer,
    outboxTableName: OUTBOX,
    ...(transactionTableName === undefined ? {} : { transactionTableName }),
    alertTopicArn: ALERT_TOPIC,
    checker: async () => 'COMMIT',
    policy: { checkIntervalSeconds: 30, maxChecks: 3 },
    clock: () => now,
  });
const audit = () =>
  new OutboxAudit({ dynamodb, outboxTableName: OUTBOX, clock: () => now, policy: { segments: 4 } });

async function prepare(
  producer: TransactionalProducer,
  transactionId: string,
  orderId = `order-${transactionId}`,
) {
  if (db.item(ORDERS, { orderId }) === undefined) db.seed(ORDERS, { orderId, version: 1 });
  return producer.prepare({
    transactionId,
    groupKey: orderId,
    type: 'PaymentCaptured',
    payload: { orderId, transactionId, amount: 42 },
    aggregate: { tableName: ORDERS, key: { orderId }, set: { paid: true } },
    localStep: { tableName: PAYMENTS, key: { transactionId } },
  });
}

/** The ordinary messages of the outbox (the relay's to send). */
const outboxItems = () => db.all(OUTBOX);

beforeEach(() => {
  ddb.reset();
  sns.reset();
  db = new InMemoryDynamoDb(
    {
      [OUTBOX]: OUTBOX_KEY,
      [TRANSACTIONS]: OUTBOX_KEY,
      [ORDERS]: ['orderId'],
      [PAYMENTS]: ['transactionId'],
    },
    { [OUTBOX]: OUTBOX_INDEXES, [TRANSACTIONS]: OUTBOX_INDEXES },
  );
  db.scanBilledBySize = true;
  db.install(ddb);
  sns.onAnyCommand().rejects(new Error('unexpected SNS command'));
  sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
  now = START;
});

describe('TransactionalProducer with a transaction table', () => {
  it('prepares the half message, with its T# index entry, in the transaction table and writes nothing to the outbox', async () => {
    // WHEN
    await prepare(producerFor(TRANSACTIONS), 'tx-1');

    // THEN
    expect(db.item(TRANSACTIONS, halfMessageKey('tx-1'))).toMatchObject({
      status: 'PREPARED',
      ...openTransactionAttributes('tx-1'),
    });
    expect(outboxItems()).toEqual([]);
  });

  it('commits in ONE transaction across the tables: aggregate, PENDING message in the outbox, tombstone in the transaction table', async () => {
    // GIVEN
    const producer = producerFor(TRANSACTIONS);
    const prepared = await prepare(producer, 'tx-1', 'order-1');

    // WHEN
    const outcome = await producer.commit('tx-1');

    // THEN one TransactWriteItems wrote the three tables
    const commits = ddb.commandCalls(TransactWriteCommand);
    expect(commits).toHaveLength(1);
    expect(
      commits[0]!.args[0].input.TransactItems?.map((item) => item.Update?.TableName ?? item.Put?.TableName),
    ).toEqual([ORDERS, OUTBOX, TRANSACTIONS]);
    expect(outcome).toMatchObject({ sequence: 2, alreadyCommitted: false });
    expect(db.item(ORDERS, { orderId: 'order-1' })).toMatchObject({ version: 2, paid: true });
    // the outbox holds the PENDING message and nothing else
    expect(outboxItems()).toEqual([
      expect.objectContaining({
        groupKey: 'order-1',
        sequence: 2,
        status: 'PENDING',
        messageId: prepared.messageId,
      }),
    ]);
    // the tombstone stays in the transaction table, out of its index, and expires
    const tombstone = db.item(TRANSACTIONS, halfMessageKey('tx-1'));
    expect(tombstone).toMatchObject({ status: 'COMMITTED', committedSequence: 2 });
    expect(tombstone).not.toHaveProperty('sweepShard');
    expect(tombstone?.expiresAt).toBe(Math.floor(now.getTime() / 1000) + SEVEN_DAYS);
  });

  it('writes as many units per half message as with the half messages in the outbox table', async () => {
    // GIVEN a transaction prepared and committed with half messages in the outbox table
    const inOutbox = producerFor();
    await prepare(inOutbox, 'tx-a');
    await inOutbox.commit('tx-a');
    const unitsInOutbox = db.consumedWriteUnits;

    // WHEN another is prepared and committed with a transaction table
    const separate = producerFor(TRANSACTIONS);
    await prepare(separate, 'tx-b');
    await separate.commit('tx-b');

    // THEN
    expect(db.consumedWriteUnits - unitsInOutbox).toBe(unitsInOutbox);
  });

  it('rolls back in the transaction table, fenced on the local step, and leaves the outbox empty', async () => {
    // GIVEN
    const producer = producerFor(TRANSACTIONS);
    await prepare(producer, 'tx-1');

    // WHEN
    const outcome = await producer.rollback('tx-1');

    // THEN
    expect(outcome).toEqual({ transactionId: 'tx-1', alreadyRolledBack: false });
    expect(db.item(TRANSACTIONS, halfMessageKey('tx-1'))).toMatchObject({ status: 'ROLLED_BACK' });
    expect(outboxItems()).toEqual([]);
  });

  it('fences the local step on the half message in the transaction table', async () => {
    // WHEN
    const fence = producerFor(TRANSACTIONS).localStepFence('tx-1');

    // THEN
    expect(fence.ConditionCheck).toMatchObject({ TableName: TRANSACTIONS, Key: halfMessageKey('tx-1') });
  });

  it('reads the half message from the transaction table', async () => {
    // GIVEN
    const producer = producerFor(TRANSACTIONS);
    await prepare(producer, 'tx-1');

    // WHEN / THEN
    expect(await producer.read('tx-1')).toMatchObject({ transactionId: 'tx-1', status: 'PREPARED' });
    expect(await producerFor().read('tx-1')).toBeUndefined();
  });

  it('keeps half messages in the outbox table when no transactionTableName is given (stacks built before it)', async () => {
    // GIVEN
    const producer = producerFor();

    // WHEN
    await prepare(producer, 'tx-1');

    // THEN
    expect(producer.transactionTableName).toBe(OUTBOX);
    expect(db.item(OUTBOX, halfMessageKey('tx-1'))).toMatchObject({ status: 'PREPARED' });
    expect(db.all(TRANSACTIONS)).toEqual([]);
  });
});

describe('the check-back with a transaction table', () => {
  it('reads the open transactions from the transaction table’s index and commits them there', async () => {
    // GIVEN a transaction left open past its prepare timeout
    const producer = producerFor(TRANSACTIONS);
    await prepare(producer, 'tx-1', 'order-1');
    advance(7);

    // WHEN
    const report = await checkBackFor(producer, TRANSACTIONS).checkOnce();

    // THEN
    expect(report).toMatchObject({ open: 1, checked: 1, committed: 1, complete: true });
    const queried = ddb.commandCalls(QueryCommand).map((call) => call.args[0].input.TableName);
    expect(new Set(queried)).toEqual(new Set([TRANSACTIONS]));
    expect(db.item(TRANSACTIONS, halfMessageKey('tx-1'))).toMatchObject({
      status: 'COMMITTED',
      resolvedBy: 'check-back',
    });
    expect(outboxItems()).toEqual([expect.objectContaining({ groupKey: 'order-1', status: 'PENDING' })]);
  });

  it('fails if its transaction table is not its producer’s, naming both', () => {
    // WHEN / THEN
    expect(() => checkBackFor(producerFor(), TRANSACTIONS)).toThrow(
      /reads transactions in table transaction-table, but its producer resolves them in outbox-table/,
    );
    expect(() => checkBackFor(producerFor(TRANSACTIONS))).toThrow(
      /reads transactions in table outbox-table, but its producer resolves them in transaction-table/,
    );
  });
});

describe('the outbox audit', () => {
  /** Resolved payments: as many committed as rolled back, the committed messages sent and deleted by the relay. */
  const HISTORY = 200;
  async function resolvedHistory(producer: TransactionalProducer): Promise<void> {
    for (let i = 0; i < HISTORY; i++) {
      await prepare(producer, `tx-${i}`);
      if (i % 2 === 0) await producer.commit(`tx-${i}`);
      else await producer.rollback(`tx-${i}`);
    }
    // The relay sent the committed messages and deleted them.
    for (const item of db.all(OUTBOX).filter((item: Item) => item.status === 'PENDING')) {
      db.remove(OUTBOX, { groupKey: item.groupKey, sequence: item.sequence });
    }
    advance(3600);
  }

  it('reads no tombstone when half messages live in the transaction table: an idle audit’s half unit per segment', async () => {
    // GIVEN
    await resolvedHistory(producerFor(TRANSACTIONS));

    // WHEN
    const report = await audit().audit();

    // THEN
    expect(db.all(TRANSACTIONS)).toHaveLength(HISTORY);
    expect(report).toMatchObject({ scanned: 0, marked: 0, readCapacityUnits: 2, complete: true });
  });

  it('reads every tombstone when half messages live in the outbox table (what the transaction table saves)', async () => {
    // GIVEN
    await resolvedHistory(producerFor());

    // WHEN
    const report = await audit().audit();

    // THEN
    expect(report).toMatchObject({ scanned: HISTORY, marked: 0, complete: true });
    expect(report.readCapacityUnits).toBeGreaterThan(2);
  });
});
