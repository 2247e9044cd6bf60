import { DynamoDBClient, ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDBDocumentClient, GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { FaultConfig } from '../../../functions/runtime/faults/fault-config';
import { type FaultSource, InjectedFaultError } from '../../../functions/runtime/faults/fault-injector';
import { halfMessageKey, LocalStepCompletedError } from '../../../functions/runtime/half/half-message';
import { OpenTransactionChecker } from '../../../functions/runtime/half/open-transaction-checker';
import { TransactionalProducer } from '../../../functions/runtime/half/transactional-producer';
import { OrderConflictError, OrderNotFoundError } from '../../../reference/functions/orders/order-errors';
import {
  PaymentNotRecordedError,
  PaymentOutcomeUnknownError,
} from '../../../reference/functions/payments/payment-errors';
import { paymentFaultHooks } from '../../../reference/functions/payments/payment-fault-hooks';
import {
  type PaymentHooks,
  type PaymentRecord,
  PaymentService,
} from '../../../reference/functions/payments/payment-service';
import { InMemoryDynamoDb, type Item } from '../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES } from '../../../tools/dynamodb/outbox-table';

const ORDERS_TABLE = 'orders-table';
const PAYMENTS_TABLE = 'payments-table';
const OUTBOX_TABLE = 'outbox-table';
const START = new Date('2026-03-01T12:00:00.000Z');
const ORDER = 'order-1';
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const ddb = mockClient(DynamoDBDocumentClient);
const sns = mockClient(SNSClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

let db: InMemoryDynamoDb;
let now: Date;
let producer: TransactionalProducer;

const advance = (by: number) => {
  now = new Date(now.getTime() + by * 1000);
};

function newPayments(hooks: PaymentHooks = {}): PaymentService {
  return new PaymentService(dynamodb, ORDERS_TABLE, PAYMENTS_TABLE, producer, hooks, () => now);
}

function order(changes: Item = {}): Item {
  return {
    orderId: ORDER,
    customerId: 'customer-1',
    items: [{ sku: 'sku-a', quantity: 2 }],
    status: 'PLACED',
    version: 2,
    notes: ['leave at the door'],
    createdAt: START.toISOString(),
    updatedAt: START.toISOString(),
    ...changes,
  };
}

const orderNow = () => db.item(ORDERS_TABLE, { orderId: ORDER });
const halves = () => db.all(OUTBOX_TABLE).filter((item) => String(item.groupKey).startsWith('TX#'));
const messages = () => db.all(OUTBOX_TABLE).filter((item) => !String(item.groupKey).startsWith('TX#'));
const payments = () => db.all(PAYMENTS_TABLE);
/** The one transaction the test started, whatever its id. */
const theHalf = () => {
  const all = halves();
  expect(all).toHaveLength(1);
  return all[0]!;
};
const isPaymentWrite = (input: { TransactItems?: readonly { Put?: { TableName?: string } }[] }) =>
  input.TransactItems?.[0]?.Put?.TableName === PAYMENTS_TABLE;
const writes = () => ddb.calls().filter((call) => !(call.args[0] instanceof GetCommand)).length;

function crash(what: string): () => Promise<void> {
  return async () => {
    throw new InjectedFaultError(what);
  };
}

function faults(config: FaultConfig): FaultSource & { config: FaultConfig } {
  const source = { config, current: async () => source.config };
  return source;
}

beforeEach(() => {
  ddb.reset();
  sns.reset();
  sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
  db = new InMemoryDynamoDb(
    {
      [ORDERS_TABLE]: ['orderId'],
      [PAYMENTS_TABLE]: ['transactionId'],
      [OUTBOX_TABLE]: ['groupKey', 'sequence'],
    },
    { [OUTBOX_TABLE]: OUTBOX_INDEXES },
  );
  db.install(ddb);
  db.seed(ORDERS_TABLE, order());
  now = START;
  producer = new TransactionalProducer({ dynamodb, outboxTableName: OUTBOX_TABLE, clock: () => now });
});

describe('PaymentService.capture', () => {
  describe('an order that can be paid', () => {
    it('records the payment and commits PaymentCaptured as the order’s next version, marking it paid', async () => {
      // WHEN
      const accepted = await newPayments().capture(ORDER, 30);

      // THEN
      expect(accepted).toEqual({
        orderId: ORDER,
        transactionId: expect.stringMatching(UUID_V7),
        messageId: expect.stringMatching(UUID_V7),
      });
      const { transactionId, messageId } = accepted;
      expect(payments()).toEqual<PaymentRecord[]>([
        { transactionId, orderId: ORDER, amount: 30, capturedAt: START.toISOString() },
      ]);
      expect(messages()).toEqual([
        {
          groupKey: ORDER,
          sequence: 3,
          messageId,
          type: 'PaymentCaptured',
          payload: JSON.stringify({ orderId: ORDER, transactionId, amount: 30 }),
          status: 'PENDING',
          attempts: 0,
          createdAt: START.toISOString(),
          // the correlation id the half message kept since prepare (a fresh one outside an X-Ray trace)
          traceparent: expect.stringMatching(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/),
        },
      ]);
      expect(orderNow()).toEqual(order({ version: 3, paid: true }));
      expect(theHalf()).toMatchObject({
        groupKey: `TX#${transactionId}`,
        targetGroupKey: ORDER,
        status: 'COMMITTED',
        committedSequence: 3,
        resolvedBy: 'producer',
        aggregate: { tableName: ORDERS_TABLE, key: { orderId: ORDER }, set: { paid: true } },
      });
    });

    it('prepares, then runs the local step, then commits — in that order', async () => {
      // GIVEN
      const seen: Array<{ step: string; half: Item | undefined; payments: number }> = [];
      const look = (step: string) => async () => {
        const [half] = halves();
        seen.push({
          step,
          half: half === undefined ? undefined : { status: half.status },
          payments: payments().length,
        });
      };

      // WHEN
      await newPayments({
        beforeLocalStep: look('beforeLocalStep'),
        beforeCommit: look('beforeCommit'),
      }).capture(ORDER, 30);

      // THEN
      expect(seen).toEqual([
        { step: 'beforeLocalStep', half: { status: 'PREPARED' }, payments: 0 },
        { step: 'beforeCommit', half: { status: 'PREPARED' }, payments: 1 },
      ]);
      const kinds = ddb
        .calls()
        .map((call) => call.args[0])
        .filter((command) => !(command instanceof GetCommand))
        .map((command) =>
          command instanceof PutCommand
            ? `Put ${command.input.TableName}`
            : command instanceof TransactWriteCommand
              ? 'TransactWrite'
              : command.constructor.name,
        );
      expect(kinds).toEqual([`Put ${OUTBOX_TABLE}`, 'TransactWrite', 'TransactWrite']);
    });

    it('records the payment only if none exists under its transactionId, reading the order consistently', async () => {
      // WHEN
      await newPayments().capture(ORDER, 30);

      // THEN
      const paymentPut = ddb
        .commandCalls(TransactWriteCommand)
        .flatMap((call) => call.args[0].input.TransactItems ?? [])
        .map((item) => item.Put)
        .find((put) => put?.TableName === PAYMENTS_TABLE);
      expect(paymentPut?.ConditionExpression).toBe('attribute_not_exists(transactionId)');
      expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
        TableName: ORDERS_TABLE,
        Key: { orderId: ORDER },
        ConsistentRead: true,
      });
    });

    it('uses a new transaction for each payment', async () => {
      // WHEN
      const first = await newPayments().capture(ORDER, 30);
      const second = await newPayments().capture(ORDER, 12);

      // THEN
      expect(second.transactionId).not.toBe(first.transactionId);
      expect(second.messageId).not.toBe(first.messageId);
      expect(messages().map((message) => [message.sequence, message.messageId])).toEqual([
        [3, first.messageId],
        [4, second.messageId],
      ]);
      expect(payments()).toHaveLength(2);
    });
  });

  describe('an order that cannot be paid', () => {
    it('throws OrderNotFoundError (404) for an unknown order and writes nothing', async () => {
      // WHEN
      const attempt = newPayments().capture('order-unknown', 30);

      // THEN
      await expect(attempt).rejects.toBeInstanceOf(OrderNotFoundError);
      expect(writes()).toBe(0);
      expect(db.all(OUTBOX_TABLE)).toEqual([]);
    });

    it('throws OrderConflictError (409) for a cancelled order and writes nothing', async () => {
      // GIVEN
      db.seed(ORDERS_TABLE, order({ status: 'CANCELLED' }));

      // WHEN
      const attempt = newPayments().capture(ORDER, 30);

      // THEN
      await expect(attempt).rejects.toBeInstanceOf(OrderConflictError);
      expect(writes()).toBe(0);
      expect(payments()).toEqual([]);
    });
  });

  describe('a producer that crashes', () => {
    it('before the local step: the transaction stays PREPARED, no payment, nothing committed', async () => {
      // GIVEN
      const failure = new InjectedFaultError('crash before the local step');

      // WHEN
      const attempt = newPayments({
        beforeLocalStep: async () => {
          throw failure;
        },
      }).capture(ORDER, 30);

      // THEN
      await expect(attempt).rejects.toBe(failure);
      expect(theHalf()).toMatchObject({ status: 'PREPARED', checkCount: 0 });
      expect(payments()).toEqual([]);
      expect(messages()).toEqual([]);
      expect(orderNow()).toEqual(order());
    });

    it('before the commit: the payment is recorded, the transaction stays PREPARED, nothing committed', async () => {
      // WHEN
      const attempt = newPayments({ beforeCommit: crash('crash before commit') }).capture(ORDER, 30);

      // THEN
      await expect(attempt).rejects.toBeInstanceOf(InjectedFaultError);
      expect(theHalf()).toMatchObject({ status: 'PREPARED' });
      expect(payments()).toHaveLength(1);
      expect(messages()).toEqual([]);
      expect(orderNow()).toEqual(order());
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1); // the payment's, not a commit
    });
  });

  describe('a local step that fails', () => {
    it('rolls the transaction back and throws the local step’s error', async () => {
      // GIVEN
      const failure = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      db.before('TransactWrite', isPaymentWrite, () => {
        throw failure;
      });

      // WHEN
      const attempt = newPayments().capture(ORDER, 30);

      // THEN
      await expect(attempt).rejects.toBe(failure);
      expect(theHalf()).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'producer' });
      expect(payments()).toEqual([]);
      expect(messages()).toEqual([]);
      expect(orderNow()).toEqual(order());
    });

    it('still throws the local step’s error when the rollback fails too (the check-back rolls back later)', async () => {
      // GIVEN
      const failure = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
      db.before('TransactWrite', isPaymentWrite, () => {
        throw failure;
      });
      db.before(
        'TransactWrite',
        () => true,
        () => {
          throw new Error('network down');
        },
      );

      // WHEN
      const attempt = newPayments().capture(ORDER, 30);

      // THEN
      await expect(attempt).rejects.toBe(failure);
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
      expect(theHalf()).toMatchObject({ status: 'PREPARED' });
      expect(messages()).toEqual([]);
    });
  });
});

describe('PaymentService.checkPayment', () => {
  it('answers COMMIT for a recorded payment, reading it consistently', async () => {
    // GIVEN
    db.seed(PAYMENTS_TABLE, {
      transactionId: 'tx-1',
      orderId: ORDER,
      amount: 30,
      capturedAt: START.toISOString(),
    });

    // WHEN
    const answer = await newPayments().checkPayment({
      transactionId: 'tx-1',
      preparedAt: START.toISOString(),
    });

    // THEN
    expect(answer).toBe('COMMIT');
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: PAYMENTS_TABLE,
      Key: { transactionId: 'tx-1' },
      ConsistentRead: true,
    });
  });

  it('answers ROLLBACK when there is no payment and the producer cannot be running any more', async () => {
    // GIVEN a payment of another transaction, and a transaction prepared 15 s ago (the producer's lifetime)
    db.seed(PAYMENTS_TABLE, {
      transactionId: 'tx-2',
      orderId: ORDER,
      amount: 30,
      capturedAt: START.toISOString(),
    });
    advance(15);

    // WHEN / THEN
    expect(await newPayments().checkPayment({ transactionId: 'tx-1', preparedAt: START.toISOString() })).toBe(
      'ROLLBACK',
    );
  });

  it('answers UNKNOWN, not ROLLBACK, when there is no payment yet but its producer may still be running', async () => {
    // GIVEN a transaction prepared 14 s ago: its producer (15 s lifetime) may be about to record the payment
    advance(14);

    // WHEN / THEN
    expect(await newPayments().checkPayment({ transactionId: 'tx-1', preparedAt: START.toISOString() })).toBe(
      'UNKNOWN',
    );
  });

  it('answers UNKNOWN when the preparation time cannot be read', async () => {
    // GIVEN
    advance(60);

    // WHEN / THEN
    expect(await newPayments().checkPayment({ transactionId: 'tx-1', preparedAt: 'yesterday' })).toBe(
      'UNKNOWN',
    );
  });
});

describe('PaymentService with the check-back', () => {
  function newCheckBack(payments: PaymentService): OpenTransactionChecker {
    return new OpenTransactionChecker({
      dynamodb,
      sns: new SNSClient({ region: 'us-east-1' }),
      producer,
      outboxTableName: OUTBOX_TABLE,
      alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      checker: (request) => payments.checkPayment(request),
      clock: () => now,
    });
  }

  it('commits a payment whose producer died before the commit, as the order’s next version', async () => {
    // GIVEN
    const crashing = newPayments({ beforeCommit: crash('crash before commit') });
    await expect(crashing.capture(ORDER, 30)).rejects.toBeInstanceOf(InjectedFaultError);
    const { transactionId, messageId } = theHalf();
    advance(6);

    // WHEN
    const report = await newCheckBack(newPayments()).checkOnce();

    // THEN
    expect(report).toMatchObject({ checked: 1, committed: 1 });
    expect(messages()).toEqual([
      expect.objectContaining({ sequence: 3, messageId, type: 'PaymentCaptured', status: 'PENDING' }),
    ]);
    expect(db.item(OUTBOX_TABLE, halfMessageKey(String(transactionId)))).toMatchObject({
      status: 'COMMITTED',
      resolvedBy: 'check-back',
    });
    expect(orderNow()).toMatchObject({ version: 3, paid: true });
  });

  it('rolls back a payment whose producer died before the local step', async () => {
    // GIVEN
    const crashing = newPayments({ beforeLocalStep: crash('crash before the local step') });
    await expect(crashing.capture(ORDER, 30)).rejects.toBeInstanceOf(InjectedFaultError);
    advance(15);

    // WHEN
    const report = await newCheckBack(newPayments()).checkOnce();

    // THEN
    expect(report).toMatchObject({ checked: 1, rolledBack: 1 });
    expect(theHalf()).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'check-back' });
    expect(messages()).toEqual([]);
    expect(orderNow()).toEqual(order());
  });
});

describe('PaymentService: a local step fenced against its transaction', () => {
  function checkBack(): OpenTransactionChecker {
    return new OpenTransactionChecker({
      dynamodb,
      sns: new SNSClient({ region: 'us-east-1' }),
      producer,
      outboxTableName: OUTBOX_TABLE,
      alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
      checker: (request) => newPayments().checkPayment(request),
      clock: () => now,
    });
  }
  const timeout = () =>
    Object.assign(new Error('socket timed out (the write may have landed)'), { name: 'TimeoutError' });

  it('refuses a payment slower than the prepare timeout once the check-back rolled its transaction back', async () => {
    // GIVEN a local step so slow that the check-back (after the producer's lifetime) rolls the transaction back first
    const slow = newPayments({
      beforeLocalStep: async () => {
        advance(20);
        expect(await checkBack().checkOnce()).toMatchObject({ rolledBack: 1 });
      },
    });

    // WHEN the payment's write finally comes
    const attempt = slow.capture(ORDER, 30);

    // THEN it is refused: not paid, no payment, no message — never a payment without its message
    await expect(attempt).rejects.toBeInstanceOf(PaymentNotRecordedError);
    expect(payments()).toEqual([]);
    expect(theHalf()).toMatchObject({ status: 'ROLLED_BACK', resolvedBy: 'check-back' });
    expect(messages()).toEqual([]);
    expect(orderNow()).toEqual(order());
  });

  it('refuses a rollback once the payment is recorded; the check-back then commits it', async () => {
    // GIVEN a producer that died after recording the payment
    await expect(
      newPayments({ beforeCommit: crash('crash before commit') }).capture(ORDER, 30),
    ).rejects.toThrow();
    const { transactionId } = theHalf();

    // WHEN anyone (a late checker answer, an operator) tries to roll it back
    const rollback = producer.rollback(String(transactionId), 'ops');

    // THEN the rollback is refused, and the transaction stays open for the commit
    await expect(rollback).rejects.toBeInstanceOf(LocalStepCompletedError);
    expect(theHalf()).toMatchObject({ status: 'PREPARED' });
    advance(20);
    expect(await checkBack().checkOnce()).toMatchObject({ committed: 1 });
    expect(orderNow()).toMatchObject({ version: 3, paid: true });
    expect(messages()).toEqual([expect.objectContaining({ type: 'PaymentCaptured', sequence: 3 })]);
  });

  it('never rolls back on a local step whose outcome is unknown: the check-back decides', async () => {
    // GIVEN the payment's write times out without landing
    db.before('TransactWrite', isPaymentWrite, () => {
      throw timeout();
    });

    // WHEN
    const attempt = newPayments().capture(ORDER, 30);

    // THEN outcome unknown, the transaction still PREPARED (not rolled back by the producer)
    await expect(attempt).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(theHalf()).toMatchObject({ status: 'PREPARED' });
    // AND the check-back, finding no payment after the producer's lifetime, rolls it back
    advance(20);
    expect(await checkBack().checkOnce()).toMatchObject({ rolledBack: 1 });
    expect(payments()).toEqual([]);
    expect(orderNow()).toEqual(order());
  });

  it('commits a payment whose write landed although it answered a timeout, at once: it reads as recorded', async () => {
    // GIVEN the payment's write lands, then the answer is lost
    db.before('TransactWrite', isPaymentWrite, () => {
      const { transactionId } = theHalf();
      db.seed(PAYMENTS_TABLE, { transactionId, orderId: ORDER, amount: 30, capturedAt: START.toISOString() });
      throw timeout();
    });

    // WHEN
    const accepted = await newPayments().capture(ORDER, 30);

    // THEN paid, with its message, and nothing left for the check-back
    expect(accepted).toMatchObject({ orderId: ORDER, transactionId: theHalf().transactionId });
    expect(theHalf()).toMatchObject({ status: 'COMMITTED', resolvedBy: 'producer' });
    expect(orderNow()).toMatchObject({ version: 3, paid: true });
    expect(payments()).toHaveLength(1);
    advance(20);
    expect(await checkBack().checkOnce()).toMatchObject({ committed: 0 });
  });

  it('leaves a payment whose write timed out and does not read as recorded to the check-back: never a rollback', async () => {
    // GIVEN the payment's write times out, and it has not landed (it may still)
    db.before('TransactWrite', isPaymentWrite, () => {
      throw timeout();
    });

    // WHEN / THEN
    await expect(newPayments().capture(ORDER, 30)).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(theHalf()).toMatchObject({ status: 'PREPARED' });
    expect(payments()).toHaveLength(0);
  });

  it('answers outcome unknown when the commit keeps failing after the payment was recorded', async () => {
    // GIVEN every commit attempt times out
    for (let i = 0; i < 10; i++) {
      db.before(
        'TransactWrite',
        (input) => !isPaymentWrite(input),
        () => {
          throw timeout();
        },
      );
    }

    // WHEN / THEN
    await expect(newPayments().capture(ORDER, 30)).rejects.toBeInstanceOf(PaymentOutcomeUnknownError);
    expect(theHalf()).toMatchObject({ status: 'PREPARED' });
    expect(payments()).toHaveLength(1);
  });
});

describe('paymentFaultHooks', () => {
  it('does nothing when no crash is configured, without drawing a random number', async () => {
    // GIVEN
    let draws = 0;
    const hooks = paymentFaultHooks(faults({}), () => {
      draws++;
      return 0;
    });

    // WHEN / THEN
    await expect(hooks.beforeLocalStep?.()).resolves.toBeUndefined();
    await expect(hooks.beforeCommit?.()).resolves.toBeUndefined();
    expect(draws).toBe(0);
  });

  it('crashes before the local step when the draw falls under producerCrashBeforeLocalStep, and only then', async () => {
    // GIVEN
    const source = faults({ producerCrashBeforeLocalStep: 0.3 });

    // WHEN / THEN
    await expect(paymentFaultHooks(source, () => 0.29).beforeLocalStep?.()).rejects.toThrow(
      new InjectedFaultError('producer crashed after prepare, before the local step'),
    );
    await expect(paymentFaultHooks(source, () => 0.3).beforeLocalStep?.()).resolves.toBeUndefined();
    await expect(paymentFaultHooks(source, () => 0).beforeCommit?.()).resolves.toBeUndefined();
  });

  it('crashes before the commit when the draw falls under producerCrashBeforeCommit, and only then', async () => {
    // GIVEN
    const source = faults({ producerCrashBeforeCommit: 0.3 });

    // WHEN / THEN
    await expect(paymentFaultHooks(source, () => 0.29).beforeCommit?.()).rejects.toThrow(
      new InjectedFaultError('producer crashed after the local step, before commit'),
    );
    await expect(paymentFaultHooks(source, () => 0.3).beforeCommit?.()).resolves.toBeUndefined();
    await expect(paymentFaultHooks(source, () => 0).beforeLocalStep?.()).resolves.toBeUndefined();
  });

  it('reads the fault configuration at each call, so a change applies at once', async () => {
    // GIVEN
    const source = faults({});
    const hooks = paymentFaultHooks(source, () => 0.5);
    await expect(hooks.beforeCommit?.()).resolves.toBeUndefined();

    // WHEN
    source.config = { producerCrashBeforeCommit: 1 };

    // THEN
    await expect(hooks.beforeCommit?.()).rejects.toBeInstanceOf(InjectedFaultError);
  });

  it('makes PaymentService crash after the local step, leaving the payment for the check-back', async () => {
    // GIVEN
    const payments = newPayments(paymentFaultHooks(faults({ producerCrashBeforeCommit: 1 }), () => 0));

    // WHEN
    const attempt = payments.capture(ORDER, 30);

    // THEN
    await expect(attempt).rejects.toBeInstanceOf(InjectedFaultError);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
    expect(theHalf()).toMatchObject({ status: 'PREPARED' });
    expect(messages()).toEqual([]);
  });

  it('makes PaymentService crash before the local step, leaving no payment', async () => {
    // GIVEN
    const payments = newPayments(paymentFaultHooks(faults({ producerCrashBeforeLocalStep: 1 }), () => 0));

    // WHEN
    const attempt = payments.capture(ORDER, 30);

    // THEN
    await expect(attempt).rejects.toBeInstanceOf(InjectedFaultError);
    expect(db.all(PAYMENTS_TABLE)).toEqual([]);
    expect(theHalf()).toMatchObject({ status: 'PREPARED' });
  });
});
