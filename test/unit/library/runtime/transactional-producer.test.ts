import { DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReliableMessagingError } from '../../../../functions/runtime/errors';
import {
  AggregateNotFoundError,
  type AggregateRef,
  CommitOutcomeUnknownError,
  halfMessageKey,
  TransactionNotOpenError,
} from '../../../../functions/runtime/half/half-message';
import {
  type CommitOutcome,
  type PrepareInput,
  TransactionalProducer,
  type TransactionalProducerOptions,
} from '../../../../functions/runtime/half/transactional-producer';
import { InvalidOutboxMessageError } from '../../../../functions/runtime/outbox/deliverable-message';
import { OutboxWriter } from '../../../../functions/runtime/outbox/outbox-writer';
import { openTransactionAttributes } from '../../../../functions/runtime/outbox/unsent-index';
import { InMemoryDynamoDb, type Item } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { beforeEvery, failEvery, throttled } from '../../support/dynamo-faults';

const OUTBOX_TABLE = 'outbox-table';
const ORDERS_TABLE = 'orders-table';
const START = new Date('2026-03-01T12:00:00.000Z');
const ORDER = 'order-1';
const TX = 'tx-1';
const SEVEN_DAYS = 7 * 24 * 3600;
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

let db: InMemoryDynamoDb;
let now: Date;
let producer: TransactionalProducer;

const seconds = (date: Date) => Math.floor(date.getTime() / 1000);
const advance = (by: number) => {
  now = new Date(now.getTime() + by * 1000);
};

function newProducer(options: Partial<TransactionalProducerOptions> = {}): TransactionalProducer {
  return new TransactionalProducer({ dynamodb, outboxTableName: OUTBOX_TABLE, clock: () => now, ...options });
}

const AGGREGATE: AggregateRef = { tableName: ORDERS_TABLE, key: { orderId: ORDER }, set: { paid: true } };

function prepareInput(changes: Partial<PrepareInput> = {}): PrepareInput {
  return {
    transactionId: TX,
    groupKey: ORDER,
    type: 'PaymentCaptured',
    payload: { orderId: ORDER, amount: 42 },
    aggregate: AGGREGATE,
    ...changes,
  };
}

function order(version: number, changes: Item = {}): Item {
  return { orderId: ORDER, customerId: 'customer-1', status: 'PLACED', version, ...changes };
}

const halfOf = (transactionId = TX) => db.item(OUTBOX_TABLE, halfMessageKey(transactionId));
const orderNow = () => db.item(ORDERS_TABLE, { orderId: ORDER });
/** The ordinary (non-half) messages in the outbox. */
const messages = () => db.all(OUTBOX_TABLE).filter((item) => !String(item.groupKey).startsWith('TX#'));
const transactWrites = () => ddb.commandCalls(TransactWriteCommand);
const isRollbackOf =
  (transactionId: string) =>
  (input: UpdateCommandInput): boolean =>
    input.Key?.groupKey === `TX#${transactionId}` && (input.UpdateExpression ?? '').includes(':rolledBack');

/** An ordinary change of the order, as OrderService makes one: version + 1 and its message, in one transaction. */
async function bumpOrderVersion(): Promise<void> {
  const version = Number(orderNow()?.version);
  await new OutboxWriter(dynamodb, OUTBOX_TABLE, () => now).commit(
    [
      {
        Update: {
          TableName: ORDERS_TABLE,
          Key: { orderId: ORDER },
          UpdateExpression: 'SET version = :next',
          ConditionExpression: 'version = :current',
          ExpressionAttributeValues: { ':next': version + 1, ':current': version },
        },
      },
    ],
    { groupKey: ORDER, sequence: version + 1, type: 'OrderNoteAdded', payload: { orderId: ORDER } },
  );
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

beforeEach(() => {
  ddb.reset();
  db = new InMemoryDynamoDb({ [OUTBOX_TABLE]: ['groupKey', 'sequence'], [ORDERS_TABLE]: ['orderId'] });
  db.install(ddb);
  db.seed(ORDERS_TABLE, order(3));
  now = START;
  producer = newProducer();
});

describe('halfMessageKey', () => {
  it('keys a half message TX#<transactionId> with sequence 0, apart from every ordinary message', () => {
    expect(halfMessageKey('abc')).toEqual({ groupKey: 'TX#abc', sequence: 0 });
  });
});

describe('the half-message errors', () => {
  it('TransactionNotOpenError names the transaction and the status it found', () => {
    // WHEN
    const error = new TransactionNotOpenError('tx-9', 'COMMITTED');

    // THEN
    expect(error).toBeInstanceOf(ReliableMessagingError);
    expect(error.name).toBe('TransactionNotOpenError');
    expect(error.transactionId).toBe('tx-9');
    expect(error.status).toBe('COMMITTED');
    expect(error.message).toBe('transaction tx-9 is COMMITTED, not open');
  });

  it('TransactionNotOpenError says when the transaction was never prepared', () => {
    const error = new TransactionNotOpenError('tx-9', 'UNKNOWN_TRANSACTION');
    expect(error.message).toBe('transaction tx-9 was never prepared (or its record has expired)');
  });

  it('AggregateNotFoundError names the transaction and keeps its cause', () => {
    // GIVEN
    const cause = new Error('gone');

    // WHEN
    const error = new AggregateNotFoundError('tx-9', { cause });

    // THEN
    expect(error).toBeInstanceOf(ReliableMessagingError);
    expect(error.name).toBe('AggregateNotFoundError');
    expect(error.message).toBe('the aggregate of transaction tx-9 does not exist');
    expect(error.cause).toBe(cause);
  });
});

describe('TransactionalProducer.prepare', () => {
  it('writes the half message PREPARED under TX#<id>/0, checkable 6 s later, with a new messageId', async () => {
    // WHEN
    const prepared = await producer.prepare(prepareInput());

    // THEN
    expect(prepared).toEqual({
      transactionId: TX,
      groupKey: ORDER,
      messageId: expect.stringMatching(UUID_V7),
    });
    expect(halfOf()).toEqual({
      groupKey: `TX#${TX}`,
      sequence: 0,
      transactionId: TX,
      targetGroupKey: ORDER,
      messageId: prepared.messageId,
      type: 'PaymentCaptured',
      payload: JSON.stringify({ orderId: ORDER, amount: 42 }),
      // none given, none in the environment (no X-Ray trace): a fresh one, which the commit's message carries
      traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
      aggregate: AGGREGATE,
      status: 'PREPARED',
      createdAt: START.toISOString(),
      prepareTimeoutAt: seconds(START) + 6,
      checkCount: 0,
      nextCheckAt: seconds(START) + 6,
      ...openTransactionAttributes(TX),
    });
  });

  it('neither writes a message into the key nor touches the aggregate', async () => {
    // WHEN
    await producer.prepare(prepareInput());

    // THEN
    expect(messages()).toEqual([]);
    expect(orderNow()).toEqual(order(3));
    expect(db.all(OUTBOX_TABLE)).toHaveLength(1);
  });

  it('writes with a condition that the item does not exist yet', async () => {
    // WHEN
    await producer.prepare(prepareInput());

    // THEN
    const [put] = ddb.commandCalls(PutCommand);
    expect(put?.args[0].input).toMatchObject({
      TableName: OUTBOX_TABLE,
      ConditionExpression: 'attribute_not_exists(groupKey)',
    });
  });

  it('counts the prepare timeout in whole seconds from the clock, as configured', async () => {
    // GIVEN
    now = new Date(START.getTime() + 999);
    producer = newProducer({ prepareTimeoutSeconds: 30 });

    // WHEN
    await producer.prepare(prepareInput());

    // THEN
    expect(halfOf()).toMatchObject({
      prepareTimeoutAt: seconds(START) + 30,
      nextCheckAt: seconds(START) + 30,
    });
  });

  it('makes up a UUIDv7 transactionId when given none, and a new one for each transaction', async () => {
    // WHEN
    const first = await producer.prepare(prepareInput({ transactionId: undefined }));
    const second = await producer.prepare(prepareInput({ transactionId: undefined }));

    // THEN
    expect(first.transactionId).toMatch(UUID_V7);
    expect(second.transactionId).toMatch(UUID_V7);
    expect(second.transactionId).not.toBe(first.transactionId);
    expect(second.messageId).not.toBe(first.messageId);
    expect(halfOf(first.transactionId)).toMatchObject({ status: 'PREPARED' });
    expect(halfOf(second.transactionId)).toMatchObject({ status: 'PREPARED' });
  });

  it('stores a missing payload as JSON null', async () => {
    // WHEN
    await producer.prepare(prepareInput({ payload: undefined }));

    // THEN
    expect(halfOf()).toMatchObject({ payload: 'null' });
  });

  it('is idempotent: preparing the same transaction again answers the same messageId and changes nothing', async () => {
    // GIVEN
    const first = await producer.prepare(prepareInput());
    const before = halfOf();
    advance(3);

    // WHEN
    const again = await producer.prepare(prepareInput());

    // THEN
    expect(again).toEqual(first);
    expect(halfOf()).toEqual(before);
  });

  it.each([
    ['another key', { groupKey: 'order-2' }],
    ['another type', { type: 'RefundIssued' }],
  ])('refuses to reuse an open transactionId for %s, leaving the first one as it was', async (_, changes) => {
    // GIVEN
    await producer.prepare(prepareInput());
    const before = halfOf();

    // WHEN
    const attempt = producer.prepare(prepareInput(changes));

    // THEN
    await expect(attempt).rejects.toBeInstanceOf(TransactionNotOpenError);
    expect(halfOf()).toEqual(before);
  });

  it('throws TransactionNotOpenError(COMMITTED) for a transaction committed already', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    await producer.commit(TX);

    // WHEN
    const attempt = producer.prepare(prepareInput());

    // THEN
    await expect(attempt).rejects.toSatisfy(
      (error) => error instanceof TransactionNotOpenError && error.status === 'COMMITTED',
    );
    expect(halfOf()).toMatchObject({ status: 'COMMITTED' });
  });

  it('throws TransactionNotOpenError(ROLLED_BACK) for a transaction rolled back already', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    await producer.rollback(TX);

    // WHEN
    const attempt = producer.prepare(prepareInput());

    // THEN
    await expect(attempt).rejects.toSatisfy(
      (error) => error instanceof TransactionNotOpenError && error.status === 'ROLLED_BACK',
    );
    expect(halfOf()).toMatchObject({ status: 'ROLLED_BACK' });
  });

  it('passes on a failure other than the condition, without reading the item', async () => {
    // GIVEN
    const failure = throttled();
    failEvery(db, 'Put', failure);

    // WHEN
    const attempt = producer.prepare(prepareInput());

    // THEN
    await expect(attempt).rejects.toBe(failure);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(halfOf()).toBeUndefined();
  });
});

describe('TransactionalProducer.commit', () => {
  describe('an open transaction', () => {
    it('bumps the aggregate, writes the PENDING message with the new version as its sequence, and marks the half COMMITTED', async () => {
      // GIVEN
      const prepared = await producer.prepare(prepareInput());
      advance(2);

      // WHEN
      const outcome = await producer.commit(TX);

      // THEN
      expect(outcome).toEqual<CommitOutcome>({
        transactionId: TX,
        messageId: prepared.messageId,
        groupKey: ORDER,
        sequence: 4,
        alreadyCommitted: false,
      });
      expect(orderNow()).toEqual(order(4, { paid: true }));
      expect(messages()).toEqual([
        {
          groupKey: ORDER,
          sequence: 4,
          messageId: prepared.messageId,
          type: 'PaymentCaptured',
          payload: JSON.stringify({ orderId: ORDER, amount: 42 }),
          status: 'PENDING',
          attempts: 0,
          createdAt: now.toISOString(),
          traceparent: halfOf()?.traceparent,
        },
      ]);
      expect(halfOf()?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
      // the resolved half message leaves the check-back's index: a tombstone no reader reads
      expect(halfOf()).not.toHaveProperty('sweepShard');
      expect(halfOf()).not.toHaveProperty('sweepOrder');
      expect(halfOf()).toMatchObject({
        status: 'COMMITTED',
        committedSequence: 4,
        resolvedAt: now.toISOString(),
        resolvedBy: 'producer',
        expiresAt: seconds(now) + SEVEN_DAYS,
      });
    });

    it('does it all in one TransactWriteItems of three items, each conditional', async () => {
      // GIVEN
      await producer.prepare(prepareInput());

      // WHEN
      await producer.commit(TX);

      // THEN
      expect(transactWrites()).toHaveLength(1);
      const items = transactWrites()[0]!.args[0].input.TransactItems ?? [];
      expect(items).toHaveLength(3);
      expect(items[0]?.Update).toMatchObject({
        TableName: ORDERS_TABLE,
        Key: { orderId: ORDER },
        ConditionExpression: '#version = :current',
        ExpressionAttributeValues: { ':current': 3, ':next': 4 },
      });
      expect(items[1]?.Put).toMatchObject({
        TableName: OUTBOX_TABLE,
        Item: { groupKey: ORDER, sequence: 4 },
        ConditionExpression: 'attribute_not_exists(groupKey)',
      });
      expect(items[2]?.Update).toMatchObject({
        TableName: OUTBOX_TABLE,
        Key: { groupKey: `TX#${TX}`, sequence: 0 },
      });
      expect(items[2]?.Update?.ConditionExpression).toBeDefined();
    });

    it('reads the half message and the aggregate with strongly consistent reads', async () => {
      // GIVEN
      await producer.prepare(prepareInput());

      // WHEN
      await producer.commit(TX);

      // THEN
      const reads = ddb.commandCalls(GetCommand).map((call) => call.args[0].input);
      expect(reads).toEqual([
        { TableName: OUTBOX_TABLE, Key: { groupKey: `TX#${TX}`, sequence: 0 }, ConsistentRead: true },
        { TableName: ORDERS_TABLE, Key: { orderId: ORDER }, ConsistentRead: true },
      ]);
    });

    it('uses the aggregate’s own version attribute and sets every attribute the commit implies', async () => {
      // GIVEN
      db.seed(ORDERS_TABLE, { orderId: 'order-r', revision: 7, status: 'PLACED' });
      await producer.prepare(
        prepareInput({
          groupKey: 'order-r',
          aggregate: {
            tableName: ORDERS_TABLE,
            key: { orderId: 'order-r' },
            versionAttribute: 'revision',
            set: { paid: true, paidAmount: 42, status: 'PAID' },
          },
        }),
      );

      // WHEN
      const outcome = await producer.commit(TX);

      // THEN
      expect(outcome.sequence).toBe(8);
      expect(db.item(ORDERS_TABLE, { orderId: 'order-r' })).toEqual({
        orderId: 'order-r',
        revision: 8,
        status: 'PAID',
        paid: true,
        paidAmount: 42,
      });
      expect(messages()).toEqual([expect.objectContaining({ groupKey: 'order-r', sequence: 8 })]);
    });

    it('bumps only the version when the commit sets nothing else', async () => {
      // GIVEN
      await producer.prepare(
        prepareInput({ aggregate: { tableName: ORDERS_TABLE, key: { orderId: ORDER } } }),
      );

      // WHEN
      await producer.commit(TX);

      // THEN
      expect(orderNow()).toEqual(order(4));
    });

    it('records who resolved it, and keeps the tombstone for the configured retention', async () => {
      // GIVEN
      producer = newProducer({ resolvedRetentionSeconds: 3600 });
      await producer.prepare(prepareInput());

      // WHEN
      await producer.commit(TX, 'operator');

      // THEN
      expect(halfOf()).toMatchObject({ resolvedBy: 'operator', expiresAt: seconds(START) + 3600 });
    });

    it('commits a FAILED transaction (an operator resolving it by hand)', async () => {
      // GIVEN
      await producer.prepare(prepareInput());
      db.patch(OUTBOX_TABLE, halfMessageKey(TX), { status: 'FAILED' });

      // WHEN
      const outcome = await producer.commit(TX, 'operator');

      // THEN
      expect(outcome).toMatchObject({ sequence: 4, alreadyCommitted: false });
      expect(halfOf()).toMatchObject({ status: 'COMMITTED', resolvedBy: 'operator' });
      expect(messages()).toHaveLength(1);
    });
  });

  describe('a transaction that is not open', () => {
    it('answers alreadyCommitted with the same sequence and messageId, and writes nothing, when committed already', async () => {
      // GIVEN
      const first = await producer.commit((await producer.prepare(prepareInput())).transactionId);
      const halfBefore = halfOf();
      advance(60);
      ddb.resetHistory();

      // WHEN
      const again = await producer.commit(TX);

      // THEN
      expect(again).toEqual({ ...first, alreadyCommitted: true });
      expect(transactWrites()).toHaveLength(0);
      expect(orderNow()).toEqual(order(4, { paid: true }));
      expect(messages()).toHaveLength(1);
      expect(halfOf()).toEqual(halfBefore);
    });

    it('throws TransactionNotOpenError(ROLLED_BACK) and writes nothing when rolled back', async () => {
      // GIVEN
      await producer.prepare(prepareInput());
      await producer.rollback(TX);

      // WHEN
      const attempt = producer.commit(TX);

      // THEN
      await expect(attempt).rejects.toSatisfy(
        (error) =>
          error instanceof TransactionNotOpenError &&
          error.status === 'ROLLED_BACK' &&
          error.transactionId === TX,
      );
      expect(transactWrites()).toHaveLength(0);
      expect(orderNow()).toEqual(order(3));
      expect(messages()).toEqual([]);
    });

    it('throws TransactionNotOpenError(UNKNOWN_TRANSACTION) for a transaction never prepared', async () => {
      // WHEN
      const attempt = producer.commit('tx-never');

      // THEN
      await expect(attempt).rejects.toSatisfy(
        (error) => error instanceof TransactionNotOpenError && error.status === 'UNKNOWN_TRANSACTION',
      );
      expect(transactWrites()).toHaveLength(0);
      expect(db.all(OUTBOX_TABLE)).toEqual([]);
    });

    it('throws AggregateNotFoundError and leaves the transaction PREPARED when the aggregate does not exist', async () => {
      // GIVEN
      await producer.prepare(prepareInput());
      db.remove(ORDERS_TABLE, { orderId: ORDER });

      // WHEN
      const attempt = producer.commit(TX);

      // THEN
      await expect(attempt).rejects.toBeInstanceOf(AggregateNotFoundError);
      expect(transactWrites()).toHaveLength(0);
      expect(halfOf()).toMatchObject({ status: 'PREPARED' });
      expect(messages()).toEqual([]);
    });
  });

  describe('racing other writers', () => {
    it('retries when the aggregate moved between its read and the transaction, and takes the next version', async () => {
      // GIVEN an ordinary change of the order commits (version 4) just before the commit's transaction
      const prepared = await producer.prepare(prepareInput());
      db.before('TransactWrite', (input) => isCommitOf(input, TX), bumpOrderVersion);

      // WHEN
      const outcome = await producer.commit(TX);

      // THEN
      expect(outcome).toMatchObject({ sequence: 5, alreadyCommitted: false });
      expect(orderNow()).toMatchObject({ version: 5, paid: true });
      expect(messages().map((message) => [message.sequence, message.type, message.messageId])).toEqual([
        [4, 'OrderNoteAdded', expect.any(String)],
        [5, 'PaymentCaptured', prepared.messageId],
      ]);
      expect(halfOf()).toMatchObject({ status: 'COMMITTED', committedSequence: 5 });
      // the first attempt (for version 4) was cancelled as a whole and wrote nothing of its own
      expect(transactWrites().filter((call) => isCommitOf(call.args[0].input, TX))).toHaveLength(2);
      expect(messages().filter((message) => message.messageId === prepared.messageId)).toHaveLength(1);
    });

    it('wins on its fifth attempt when the aggregate moved four times', async () => {
      // GIVEN
      await producer.prepare(prepareInput());
      for (let i = 0; i < 4; i++)
        db.before('TransactWrite', (input) => isCommitOf(input, TX), bumpOrderVersion);

      // WHEN
      const outcome = await producer.commit(TX);

      // THEN
      expect(outcome.sequence).toBe(8);
      expect(halfOf()).toMatchObject({ status: 'COMMITTED', committedSequence: 8 });
    });

    it('gives up after five attempts, passing on the cancellation and leaving the transaction PREPARED', async () => {
      // GIVEN
      await producer.prepare(prepareInput());
      for (let i = 0; i < 5; i++)
        db.before('TransactWrite', (input) => isCommitOf(input, TX), bumpOrderVersion);

      // WHEN
      const attempt = producer.commit(TX);

      // THEN
      await expect(attempt).rejects.toBeInstanceOf(TransactionCanceledException);
      expect(transactWrites().filter((call) => isCommitOf(call.args[0].input, TX))).toHaveLength(5);
      expect(halfOf()).toMatchObject({ status: 'PREPARED' });
      expect(messages().every((message) => message.type === 'OrderNoteAdded')).toBe(true);
      expect(orderNow()).toEqual(order(8));
    });

    it('passes on a deterministic failure other than a cancellation without retrying', async () => {
      // GIVEN
      await producer.prepare(prepareInput());
      const failure = Object.assign(new Error('bad request'), {
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
      failEvery(db, 'TransactWrite', failure);

      // WHEN
      const attempt = producer.commit(TX);

      // THEN
      await expect(attempt).rejects.toBe(failure);
      expect(transactWrites()).toHaveLength(1);
      expect(halfOf()).toMatchObject({ status: 'PREPARED' });
    });

    it('answers alreadyCommitted when another commit (the check-back’s) won the race', async () => {
      // GIVEN the check-back commits just before the producer's transaction
      const prepared = await producer.prepare(prepareInput());
      const checkBackSide = newProducer();
      beforeEvery(db, 'TransactWrite', async () => {
        await checkBackSide.commit(TX, 'check-back');
      });

      // WHEN
      const outcome = await producer.commit(TX);

      // THEN
      expect(outcome).toEqual({
        transactionId: TX,
        messageId: prepared.messageId,
        groupKey: ORDER,
        sequence: 4,
        alreadyCommitted: true,
      });
      expect(halfOf()).toMatchObject({ resolvedBy: 'check-back', committedSequence: 4 });
      expect(orderNow()).toEqual(order(4, { paid: true }));
      expect(messages()).toHaveLength(1);
    });
  });

  describe('racing a rollback', () => {
    function expectRolledBack(): void {
      expect(halfOf()).toMatchObject({ status: 'ROLLED_BACK' });
      expect(halfOf()?.committedSequence).toBeUndefined();
      expect(messages()).toEqual([]);
      expect(orderNow()).toEqual(order(3));
    }

    function expectCommitted(messageId: string): void {
      expect(halfOf()).toMatchObject({ status: 'COMMITTED', committedSequence: 4 });
      expect(messages()).toEqual([expect.objectContaining({ sequence: 4, messageId })]);
      expect(orderNow()).toEqual(order(4, { paid: true }));
    }

    it('loses cleanly when the rollback lands between its reads and its transaction', async () => {
      // GIVEN the rollback waits until the commit has read the aggregate, the commit's transaction until the
      // rollback is done
      await producer.prepare(prepareInput());
      const aggregateRead = deferred();
      const rollbackDone = deferred();
      db.before('Get', (input) => input.TableName === ORDERS_TABLE, aggregateRead.resolve);
      db.before('Update', isRollbackOf(TX), () => aggregateRead.promise);
      beforeEvery(db, 'TransactWrite', () => rollbackDone.promise);
      const checkBackSide = newProducer();

      // WHEN
      const [commit, rollback] = await Promise.allSettled([
        producer.commit(TX),
        checkBackSide.rollback(TX, 'check-back').finally(rollbackDone.resolve),
      ]);

      // THEN exactly one outcome: rolled back
      expect(rollback).toEqual({
        status: 'fulfilled',
        value: { transactionId: TX, alreadyRolledBack: false },
      });
      expect(commit.status).toBe('rejected');
      const reason = commit.status === 'rejected' ? commit.reason : undefined;
      expect(reason).toBeInstanceOf(TransactionNotOpenError);
      expect(reason).toMatchObject({ status: 'ROLLED_BACK' });
      expect(transactWrites()).toHaveLength(1);
      expectRolledBack();
    });

    it('wins cleanly when its transaction lands before the rollback', async () => {
      // GIVEN the rollback waits until the commit is done
      const prepared = await producer.prepare(prepareInput());
      const commitDone = deferred();
      db.before('Update', isRollbackOf(TX), () => commitDone.promise);
      const checkBackSide = newProducer();

      // WHEN
      const [commit, rollback] = await Promise.allSettled([
        producer.commit(TX).finally(commitDone.resolve),
        checkBackSide.rollback(TX, 'check-back'),
      ]);

      // THEN exactly one outcome: committed
      expect(commit).toEqual({
        status: 'fulfilled',
        value: {
          transactionId: TX,
          messageId: prepared.messageId,
          groupKey: ORDER,
          sequence: 4,
          alreadyCommitted: false,
        },
      });
      expect(rollback.status).toBe('rejected');
      const reason = rollback.status === 'rejected' ? rollback.reason : undefined;
      expect(reason).toBeInstanceOf(TransactionNotOpenError);
      expect(reason).toMatchObject({ status: 'COMMITTED' });
      expectCommitted(prepared.messageId);
    });

    it('ends in exactly one outcome however the two interleave', async () => {
      // GIVEN every call yields to the event loop before it is served
      db.latency = () => new Promise((resolve) => setImmediate(resolve));
      const winners = new Set<string>();

      for (let delay = 0; delay <= 8; delay++) {
        // GIVEN a fresh transaction on a fresh order
        db.seed(ORDERS_TABLE, order(3));
        db.remove(OUTBOX_TABLE, halfMessageKey(TX));
        for (const message of messages()) db.remove(OUTBOX_TABLE, message);
        const prepared = await producer.prepare(prepareInput());
        const checkBackSide = newProducer();

        // WHEN the rollback starts `delay` turns of the event loop after the commit
        const [commit, rollback] = await Promise.allSettled([
          producer.commit(TX),
          (async () => {
            for (let i = 0; i < delay; i++) await new Promise((resolve) => setImmediate(resolve));
            return checkBackSide.rollback(TX, 'check-back');
          })(),
        ]);

        // THEN
        const fulfilled = [commit, rollback].filter((result) => result.status === 'fulfilled');
        expect(fulfilled, `delay ${delay}`).toHaveLength(1);
        const loser = commit.status === 'rejected' ? commit : rollback;
        expect(loser.status === 'rejected' ? loser.reason : undefined).toBeInstanceOf(
          TransactionNotOpenError,
        );
        if (commit.status === 'fulfilled') {
          winners.add('commit');
          expectCommitted(prepared.messageId);
        } else {
          winners.add('rollback');
          expectRolledBack();
        }
      }
      // both orders did happen
      expect(winners).toEqual(new Set(['commit', 'rollback']));
    });
  });
});

function isCommitOf(input: TransactWriteCommandInput, transactionId: string): boolean {
  return (input.TransactItems ?? []).some((item) => item.Update?.Key?.groupKey === `TX#${transactionId}`);
}

describe('TransactionalProducer.rollback', () => {
  it('marks an open transaction ROLLED_BACK, with who and when, and writes no message', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    advance(2);

    // WHEN
    const outcome = await producer.rollback(TX);

    // THEN
    expect(outcome).toEqual({ transactionId: TX, alreadyRolledBack: false });
    expect(halfOf()).toMatchObject({
      status: 'ROLLED_BACK',
      resolvedAt: now.toISOString(),
      resolvedBy: 'producer',
      expiresAt: seconds(now) + SEVEN_DAYS,
    });
    // the tombstone leaves the check-back's index
    expect(halfOf()).not.toHaveProperty('sweepShard');
    expect(halfOf()).not.toHaveProperty('sweepOrder');
    expect(messages()).toEqual([]);
    expect(orderNow()).toEqual(order(3));
  });

  it('is conditional on the transaction being open', async () => {
    // GIVEN
    await producer.prepare(prepareInput());

    // WHEN
    await producer.rollback(TX);

    // THEN
    const [update] = ddb.commandCalls(UpdateCommand);
    expect(update?.args[0].input).toMatchObject({
      TableName: OUTBOX_TABLE,
      Key: { groupKey: `TX#${TX}`, sequence: 0 },
      ConditionExpression: '#status IN (:prepared, :failed)',
    });
  });

  it('is idempotent: a second rollback answers alreadyRolledBack and changes nothing', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    await producer.rollback(TX);
    const before = halfOf();
    advance(60);

    // WHEN
    const again = await producer.rollback(TX, 'check-back');

    // THEN
    expect(again).toEqual({ transactionId: TX, alreadyRolledBack: true });
    expect(halfOf()).toEqual(before);
  });

  it('throws TransactionNotOpenError(COMMITTED) after a commit, which stays as it was', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    await producer.commit(TX);
    const before = halfOf();

    // WHEN
    const attempt = producer.rollback(TX);

    // THEN
    await expect(attempt).rejects.toSatisfy(
      (error) => error instanceof TransactionNotOpenError && error.status === 'COMMITTED',
    );
    expect(halfOf()).toEqual(before);
    expect(messages()).toHaveLength(1);
  });

  it('throws TransactionNotOpenError(UNKNOWN_TRANSACTION) for a transaction never prepared, and creates no item', async () => {
    // WHEN
    const attempt = producer.rollback('tx-never');

    // THEN
    await expect(attempt).rejects.toSatisfy(
      (error) => error instanceof TransactionNotOpenError && error.status === 'UNKNOWN_TRANSACTION',
    );
    expect(db.all(OUTBOX_TABLE)).toEqual([]);
  });

  it('rolls back a FAILED transaction (an operator resolving it by hand)', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    db.patch(OUTBOX_TABLE, halfMessageKey(TX), { status: 'FAILED' });

    // WHEN
    const outcome = await producer.rollback(TX, 'operator');

    // THEN
    expect(outcome.alreadyRolledBack).toBe(false);
    expect(halfOf()).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'operator' });
  });

  it('passes on a failure other than the condition', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    const failure = throttled();
    failEvery(db, 'Update', failure);

    // WHEN
    const attempt = producer.rollback(TX);

    // THEN
    await expect(attempt).rejects.toBe(failure);
    expect(halfOf()).toMatchObject({ status: 'PREPARED' });
  });
});

describe('TransactionalProducer.read', () => {
  it('answers the half message’s record, or undefined for an unknown transaction', async () => {
    // GIVEN
    await producer.prepare(prepareInput());

    // WHEN / THEN
    expect(await producer.read(TX)).toEqual(halfOf());
    expect(await producer.read('tx-never')).toBeUndefined();
  });
});

describe('TransactionalProducer.commit with an answer lost', () => {
  const timeout = () => Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });

  it('settles a commit whose answer was lost by reading the transaction again: this call committed it, once', async () => {
    // GIVEN the commit lands, then its answer is lost
    await producer.prepare(prepareInput());
    beforeEvery(db, 'TransactWrite', async () => {
      await db.transactWrite({ TransactItems: transactWrites().at(-1)!.args[0].input.TransactItems });
      throw timeout();
    });

    // WHEN
    const outcome = await producer.commit(TX);

    // THEN it is this call's commit (its resolution id), not one found done
    expect(outcome).toMatchObject({ sequence: 4, alreadyCommitted: false });
    expect(halfOf()).toMatchObject({ status: 'COMMITTED', committedSequence: 4 });
    expect(messages()).toHaveLength(1);
  });

  it('retries a commit whose answer was lost and that did not land', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    failEvery(db, 'TransactWrite', timeout());

    // WHEN
    const outcome = await producer.commit(TX);

    // THEN
    expect(outcome).toMatchObject({ sequence: 4, alreadyCommitted: false });
    expect(messages()).toHaveLength(1);
  });

  it('throws CommitOutcomeUnknownError (never a plain failure that invites a rollback) when it still cannot tell', async () => {
    // GIVEN every attempt times out
    await producer.prepare(prepareInput());
    for (let i = 0; i < 10; i++) {
      failEvery(db, 'TransactWrite', timeout());
    }

    // WHEN / THEN
    await expect(producer.commit(TX)).rejects.toBeInstanceOf(CommitOutcomeUnknownError);
    expect(halfOf()).toMatchObject({ status: 'PREPARED' });
  });
});

describe('every write of the transactional producer under a lost answer', () => {
  const KEYS = 'idempotency-table';
  const PAYMENTS = 'payments-table';
  const claim = {
    tableName: KEYS,
    idempotencyKey: 'key-1',
    fingerprint: 'fp',
    owner: 'owner-1',
    expiresAt: seconds(START) + 3600,
    retentionSeconds: 3600,
  };
  const underKey = { idempotency: { claim, response: () => ({ statusCode: 202, body: '{}' }) } };
  const fenced = prepareInput({ localStep: { tableName: PAYMENTS, key: { transactionId: TX } } });
  const timeout = () => Object.assign(new Error('socket timed out'), { name: 'TimeoutError' });

  beforeEach(() => {
    db = new InMemoryDynamoDb({
      [OUTBOX_TABLE]: ['groupKey', 'sequence'],
      [ORDERS_TABLE]: ['orderId'],
      [KEYS]: ['idempotencyKey'],
      [PAYMENTS]: ['transactionId'],
    });
    db.install(ddb);
    db.seed(ORDERS_TABLE, order(3));
    const { tableName: _table, ...record } = claim;
    db.seed(KEYS, { ...record, status: 'IN_PROGRESS', createdAt: START.toISOString() });
  });

  const OUTCOMES = ['server-error', 'timeout', 'sdk-retry'] as const;

  it.each(OUTCOMES)('a prepare that landed is this call’s prepare, once (%s)', async (outcome) => {
    // GIVEN
    db.loseAnswer('Put', () => true, outcome);
    // WHEN
    const prepared = await producer.prepare(prepareInput());
    // THEN
    expect(halfOf()).toMatchObject({ status: 'PREPARED', messageId: prepared.messageId });
    expect(db.lostAnswerCount).toBe(1);
  });

  it.each(OUTCOMES)('a prepare under a key that landed binds the key, once (%s)', async (outcome) => {
    // GIVEN
    db.loseAnswer('TransactWrite', () => true, outcome);
    // WHEN
    const prepared = await producer.prepare(prepareInput(), underKey);
    // THEN
    expect(halfOf()).toMatchObject({ status: 'PREPARED', messageId: prepared.messageId });
    expect(db.item(KEYS, { idempotencyKey: 'key-1' })).toMatchObject({ owner: 'owner-1', transactionId: TX });
  });

  it('passes on a prepare whose put did not land, and claims nothing was prepared by no one', async () => {
    // GIVEN the put times out before it lands
    const failure = timeout();
    failEvery(db, 'Put', failure);
    // WHEN / THEN
    await expect(producer.prepare(prepareInput())).rejects.toBe(failure);
    expect(halfOf()).toBeUndefined();
  });

  it('never takes another prepare of the same transaction for its own after an unknown outcome', async () => {
    // GIVEN another prepare of the transaction lands while this one's put times out
    const failure = timeout();
    const other = newProducer();
    beforeEvery(db, 'Put', async () => {
      await other.prepare(prepareInput());
      throw failure;
    });
    // WHEN / THEN the outcome stays unknown: the record is not this call's
    await expect(producer.prepare(prepareInput())).rejects.toBe(failure);
  });

  it.each(OUTCOMES)(
    'a commit that landed is this call’s commit: one message, one version (%s)',
    async (outcome) => {
      // GIVEN a prepared transaction under a key, whose commit's answer is lost
      await producer.prepare(prepareInput(), underKey);
      db.loseAnswer('TransactWrite', () => true, outcome);
      // WHEN
      const committed = await producer.commit(TX);
      // THEN
      expect(committed).toMatchObject({ sequence: 4, alreadyCommitted: false });
      expect(messages()).toHaveLength(1);
      expect(orderNow()).toMatchObject({ version: 4, paid: true });
      expect(db.item(KEYS, { idempotencyKey: 'key-1' })).toMatchObject({ status: 'COMPLETED' });
    },
  );

  it('a commit found done by another call is alreadyCommitted, even after this call’s own attempt failed', async () => {
    // GIVEN this call's attempt fails before it lands, and the check-back commits meanwhile
    await producer.prepare(prepareInput());
    beforeEvery(db, 'TransactWrite', async () => {
      await newProducer().commit(TX, 'check-back');
      throw timeout();
    });
    // WHEN
    const committed = await producer.commit(TX);
    // THEN
    expect(committed).toMatchObject({ sequence: 4, alreadyCommitted: true });
    expect(halfOf()).toMatchObject({ resolvedBy: 'check-back' });
    expect(messages()).toHaveLength(1);
  });

  it.each(OUTCOMES)('a plain rollback that landed is this call’s rollback (%s)', async (outcome) => {
    // GIVEN
    await producer.prepare(prepareInput());
    db.loseAnswer('Update', () => true, outcome);
    // WHEN
    const rolledBack = await producer.rollback(TX);
    // THEN
    expect(rolledBack).toEqual({ transactionId: TX, alreadyRolledBack: false });
    expect(halfOf()).toMatchObject({ status: 'ROLLED_BACK' });
  });

  it.each(OUTCOMES)(
    'a fenced rollback under a key that landed is this call’s, and released the key (%s)',
    async (outcome) => {
      // GIVEN
      await producer.prepare(fenced, underKey);
      db.loseAnswer('TransactWrite', () => true, outcome);
      // WHEN
      const rolledBack = await producer.rollback(TX);
      // THEN
      expect(rolledBack).toEqual({ transactionId: TX, alreadyRolledBack: false });
      expect(halfOf()).toMatchObject({ status: 'ROLLED_BACK' });
      expect(db.item(KEYS, { idempotencyKey: 'key-1' })).toBeUndefined();
    },
  );

  it('passes on a rollback whose write did not land: the transaction stays open', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    const failure = timeout();
    failEvery(db, 'Update', failure);
    // WHEN / THEN
    await expect(producer.rollback(TX)).rejects.toBe(failure);
    expect(halfOf()).toMatchObject({ status: 'PREPARED' });
  });

  it('a rollback found done by another call after an unknown outcome is alreadyRolledBack', async () => {
    // GIVEN this call's update times out before it lands, and the check-back rolls back meanwhile
    await producer.prepare(prepareInput());
    beforeEvery(db, 'Update', async () => {
      await newProducer().rollback(TX, 'check-back');
      throw timeout();
    });
    // WHEN / THEN
    expect(await producer.rollback(TX)).toEqual({ transactionId: TX, alreadyRolledBack: true });
  });
});

describe('TransactionalProducer and the correlation id (traceparent)', () => {
  const GIVEN_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('keeps the traceparent given to prepare on the half message, and the commit puts it on the message', async () => {
    // GIVEN
    await producer.prepare(prepareInput({ traceparent: GIVEN_TRACEPARENT }));

    // WHEN
    await producer.commit(TX);

    // THEN
    expect(halfOf()?.traceparent).toBe(GIVEN_TRACEPARENT);
    expect(messages().map((message) => message.traceparent)).toEqual([GIVEN_TRACEPARENT]);
  });

  it('derives it from the X-Ray trace prepare runs in when none is given', async () => {
    // GIVEN
    vi.stubEnv(
      '_X_AMZN_TRACE_ID',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0',
    );

    // WHEN
    await producer.prepare(prepareInput());

    // THEN
    expect(halfOf()?.traceparent).toBe('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00');
  });

  it('gives the message of a half message prepared without one (an older producer) a traceparent at the commit', async () => {
    // GIVEN
    await producer.prepare(prepareInput());
    const { traceparent: _, ...older } = halfOf() as Record<string, unknown>;
    db.remove(OUTBOX_TABLE, halfMessageKey(TX));
    db.seed(OUTBOX_TABLE, older);

    // WHEN
    await producer.commit(TX);

    // THEN
    expect(messages()[0]?.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
  });

  it('refuses a traceparent that is not one, naming the field, and writes nothing', async () => {
    // WHEN
    const preparing = producer.prepare(prepareInput({ traceparent: 'not-a-traceparent' }));

    // THEN
    await expect(preparing).rejects.toBeInstanceOf(InvalidOutboxMessageError);
    await expect(preparing).rejects.toMatchObject({ field: 'traceparent' });
    expect(db.all(OUTBOX_TABLE)).toEqual([]);
  });
});

describe('TransactionalProducer.prepare refuses a message nothing could deliver', () => {
  it.each([
    ['an empty type', { type: '' }, 'type'],
    ['a type with a control character', { type: 'Paid\n' }, 'type'],
    ['an empty group key', { groupKey: '' }, 'groupKey'],
    ['a group key SQS refuses (a space)', { groupKey: 'order 1' }, 'groupKey'],
    ['a group key over 128 characters', { groupKey: 'k'.repeat(129) }, 'groupKey'],
    ['a payload JSON cannot hold', { payload: { amount: 10n } }, 'payload'],
    ['an envelope over 256 KiB', { payload: 'x'.repeat(256 * 1024) }, 'envelope'],
  ])('refuses %s, naming the field, and writes nothing', async (_, change, field) => {
    // WHEN
    const preparing = producer.prepare(prepareInput(change));

    // THEN
    await expect(preparing).rejects.toBeInstanceOf(InvalidOutboxMessageError);
    await expect(preparing).rejects.toMatchObject({ field });
    expect(ddb.calls()).toHaveLength(0);
    expect(halfOf()).toBeUndefined();
  });

  it('counts the envelope at the largest sequence the commit could give it', async () => {
    // GIVEN a payload that fits with a one-digit sequence but not with fifteen digits
    const fields = { messageId: 'm'.repeat(36), groupKey: ORDER, sequence: 1, type: 'PaymentCaptured' };
    const traceparent = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;
    // the envelope carries a traceparent, and the message its type as a `type` attribute (name, data type, value)
    const base =
      Buffer.byteLength(
        JSON.stringify({ ...fields, payload: '', createdAt: START.toISOString(), traceparent }),
      ) +
      'type'.length +
      'String'.length +
      fields.type.length;
    const payload = 'x'.repeat(256 * 1024 - base - 7);

    // WHEN / THEN
    await expect(producer.prepare(prepareInput({ payload }))).rejects.toMatchObject({ field: 'envelope' });
    await expect(producer.prepare(prepareInput({ payload: payload.slice(14) }))).resolves.toMatchObject({
      groupKey: ORDER,
    });
  });
});
