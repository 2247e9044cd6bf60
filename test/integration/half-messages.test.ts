import { GetCommand, ScanCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type HalfMessageItem,
  LocalStepCompletedError,
  TransactionNotOpenError,
} from '../../functions/runtime/half/half-message';
import { transactionTableOf } from '../../lib/ops/connection';
import { AlertSubscriber } from '../../tools/stack/alert-subscriber';
import { checkBackNow, setFaults, transactionalProducer } from '../../tools/stack/stack-control';
import { inboxKeys } from '../../tools/storage-keys';
import { eventually, outboxItems, type Stack, stack, uniquePrefix } from './support/aws';
import { queueDrained } from './support/drain';

/**
 * The producer's prepare timeout: the check-back leaves younger transactions alone. Derived from the orders API's
 * timeout (the test stack's `producerTimeout`, 10 s), which is also the checker's "producer lifetime".
 */
const PREPARE_TIMEOUT_MS = 10_000;
/** The test stack's check interval (bin/app.ts, faults profile). */
const CHECK_INTERVAL_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function viewAt(s: Stack, orderId: string, version: number) {
  return eventually(`view of ${orderId} at version ${version}`, async () => {
    const response = await s.api.getView(orderId);
    return response.status === 200 && response.body.version === version ? response.body : undefined;
  });
}

/** The half message of the order's (only) open transaction. */
async function openTransaction(s: Stack, orderId: string): Promise<HalfMessageItem> {
  const items = await outboxItemsOfTransactions(s, orderId);
  expect(items).toHaveLength(1);
  return items[0]!;
}

/** The order's half messages, in whatever state (in the stack's transaction table). */
async function outboxItemsOfTransactions(s: Stack, orderId: string): Promise<HalfMessageItem[]> {
  const page = await s.dynamodb.send(
    new ScanCommand({
      TableName: transactionTableOf(s.outputs),
      ConsistentRead: true,
      FilterExpression: 'targetGroupKey = :key',
      ExpressionAttributeValues: { ':key': orderId },
    }),
  );
  return (page.Items ?? []) as HalfMessageItem[];
}

async function transaction(s: Stack, transactionId: string): Promise<HalfMessageItem | undefined> {
  return transactionalProducer(s).read(transactionId);
}

/**
 * The transaction once a check-back pass has decided it. A scheduled pass may hold it (leased) while the test's own
 * pass returns: wait until that pass has finished with it rather than read it at once.
 */
function decidedTransaction(s: Stack, transactionId: string): Promise<HalfMessageItem> {
  return eventually(`transaction ${transactionId} decided`, async () => {
    const current = await transaction(s, transactionId);
    return current !== undefined && current.status !== 'PREPARED' ? current : undefined;
  });
}

async function placeOrder(s: Stack, name: string) {
  const orderId = uniquePrefix(name);
  await s.api.placeOrder({ customerId: 'c', items: [{ sku: `${orderId}-sku`, quantity: 1 }], orderId });
  return orderId;
}

describe('transactional ("half") messages', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });
  afterEach(async () => {
    await setFaults(s, {});
  });

  it('POST /orders/{id}/payments: 202, then the payment is applied once, as the next version', async () => {
    // GIVEN an order at version 1
    const orderId = await placeOrder(s, 'pay');

    // WHEN it is paid
    const response = await s.api.request<{ orderId: string; transactionId: string; messageId: string }>(
      'POST',
      `orders/${orderId}/payments`,
      { amount: 12.5 },
    );

    // THEN 202 with the transaction and message ids; the producer's order is paid at version 2
    expect(response.status).toBe(202);
    expect(response.body).toEqual({
      orderId,
      transactionId: expect.any(String),
      messageId: expect.any(String),
    });
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2, paid: true });
    // AND the consumer applies the PaymentCaptured message once
    expect(await viewAt(s, orderId, 2)).toMatchObject({ paid: true, status: 'PLACED' });
    const inbox = await s.dynamodb.send(
      new GetCommand({
        TableName: s.outputs.InboxTableName,
        Key: inboxKeys.effect(response.body.messageId, 'notifications'),
      }),
    );
    expect(inbox.Item).toMatchObject({ status: 'COMPLETED', sequence: 2 });
    expect(await transaction(s, response.body.transactionId)).toMatchObject({
      status: 'COMMITTED',
      committedSequence: 2,
    });
  });

  it('rejects a bad payment with 400 and prepares nothing; an unknown order is 404', async () => {
    const orderId = await placeOrder(s, 'badpay');
    for (const body of [{ amount: 0 }, { amount: -5 }, { amount: '5' }, {}, { amount: 5, currency: 'EUR' }]) {
      expect((await s.api.request('POST', `orders/${orderId}/payments`, body)).status).toBe(400);
    }
    expect((await s.api.request('POST', `orders/${orderId}-missing/payments`, { amount: 5 })).status).toBe(
      404,
    );
    const page = await s.dynamodb.send(
      new ScanCommand({
        TableName: transactionTableOf(s.outputs),
        ConsistentRead: true,
        FilterExpression: 'targetGroupKey IN (:key, :missing)',
        ExpressionAttributeValues: { ':key': orderId, ':missing': `${orderId}-missing` },
      }),
    );
    expect(page.Items).toEqual([]);
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1 });
  });

  it('producer crash after the local step: invisible while prepared, then the check-back commits it, in order', async () => {
    // GIVEN an order with one note, and a producer that dies between the payment and the commit
    const orderId = await placeOrder(s, 'crash-commit');
    await s.api.addNote(orderId, 'first');
    await setFaults(s, { producerCrashBeforeCommit: 1 });

    // WHEN it is paid
    expect((await s.api.request('POST', `orders/${orderId}/payments`, { amount: 30 })).status).toBe(500);
    await setFaults(s, {});
    const half = await openTransaction(s, orderId);

    // THEN the message is PREPARED and invisible: no PENDING message of the key, the view not paid
    expect(half.status).toBe('PREPARED');
    await viewAt(s, orderId, 2);
    await queueDrained(s);
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 2, paid: false });
    expect((await outboxItems(s, orderId)).filter((item) => item.status === 'PENDING')).toEqual([]);

    // WHEN another note commits meanwhile, and the check-back runs after the prepare timeout
    await s.api.addNote(orderId, 'second');
    await sleep(PREPARE_TIMEOUT_MS);
    // (the scheduled check-back may get there first: either way it is the check-back that resolves it)
    await checkBackNow(s);

    // THEN the checker found the payment and the check-back committed it as the next version, delivered once
    expect(await decidedTransaction(s, half.transactionId)).toMatchObject({
      status: 'COMMITTED',
      resolvedBy: 'check-back',
      committedSequence: 4,
    });
    expect(await viewAt(s, orderId, 4)).toMatchObject({ paid: true, notes: ['first', 'second'] });
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 4, paid: true });
  });

  it('producer crash before the local step: the check-back rolls back; it is never delivered and later notes apply', async () => {
    // GIVEN a producer that dies right after prepare
    const orderId = await placeOrder(s, 'crash-rollback');
    await setFaults(s, { producerCrashBeforeLocalStep: 1 });

    // WHEN it is paid
    expect((await s.api.request('POST', `orders/${orderId}/payments`, { amount: 30 })).status).toBe(500);
    await setFaults(s, {});
    const half = await openTransaction(s, orderId);
    await sleep(PREPARE_TIMEOUT_MS);
    await checkBackNow(s);

    // THEN the checker found no payment and the check-back rolled it back
    expect(await decidedTransaction(s, half.transactionId)).toMatchObject({
      status: 'ROLLED_BACK',
      resolvedBy: 'check-back',
    });

    // WHEN the order gets a note
    const note = await s.api.addNote(orderId, 'after the rollback');

    // THEN it takes the next version (no gap was left) and is applied; the payment never is
    expect(note.body.version).toBe(2);
    expect(await viewAt(s, orderId, 2)).toMatchObject({ paid: false, notes: ['after the rollback'] });
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2 });
    expect((await s.api.getOrder(orderId)).body.paid).toBeUndefined();
  });

  it('a local step slower than the prepare timeout: rolled back by the check-back, the late payment refused — never paid without its message', async () => {
    // GIVEN a payment whose local step starts after the prepare timeout (and the producer's lifetime)
    const orderId = await placeOrder(s, 'slow-step');
    await setFaults(s, { slowLocalStepMs: PREPARE_TIMEOUT_MS + 4_000 });
    const paying = s.api.request('POST', `orders/${orderId}/payments`, { amount: 9 });
    const half = await eventually('the prepared transaction', async () =>
      (await outboxItemsOfTransactions(s, orderId)).find((item) => item.status === 'PREPARED'),
    );

    // WHEN the check-back asks after the prepare timeout, while the producer still waits to record the payment
    await sleep(PREPARE_TIMEOUT_MS + 500);
    await checkBackNow(s);
    const response = await paying;
    await setFaults(s, {});

    // THEN the checker found no payment (and no producer that may still record it): rolled back
    expect(await decidedTransaction(s, half.transactionId)).toMatchObject({
      status: 'ROLLED_BACK',
      resolvedBy: 'check-back',
    });
    // AND the late payment was refused by the fence (or its producer timed out first): no payment, not paid
    expect(response.status).toBeGreaterThanOrEqual(500);
    const payment = await s.dynamodb.send(
      new GetCommand({ TableName: s.outputs.PaymentsTableName, Key: { transactionId: half.transactionId } }),
    );
    expect(payment.Item).toBeUndefined();
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1 });
    expect((await s.api.getOrder(orderId)).body.paid).toBeUndefined();
    // AND a payment retried afterwards goes through: paid, with its message
    const retry = await s.api.request('POST', `orders/${orderId}/payments`, { amount: 9 });
    expect(retry.status).toBe(202);
    expect(await viewAt(s, orderId, 2)).toMatchObject({ paid: true });
  });

  it('a checker that always answers UNKNOWN: FAILED after the last check, alerted, then resolved by hand', async () => {
    // GIVEN an on-call subscriber, a producer that dies before commit and a checker that never knows
    const subscriber = await AlertSubscriber.create(s, uniquePrefix('tx-alerts'));
    const orderId = await placeOrder(s, 'unknown');
    await setFaults(s, { producerCrashBeforeCommit: 1, checkerAlwaysUnknown: true });
    await s.api.request('POST', `orders/${orderId}/payments`, { amount: 7 });
    const half = await openTransaction(s, orderId);
    await sleep(PREPARE_TIMEOUT_MS);

    // WHEN the check-back asks three times (the test stack's maximum), an interval apart
    for (let check = 1; check <= 3; check++) {
      if (check > 1) await sleep(CHECK_INTERVAL_MS);
      await checkBackNow(s);
    }

    // THEN the transaction is FAILED — kept, not discarded — and an alert names it. (A scheduled pass may have
    // taken the last check while ours ran: wait until that pass has finished with it.)
    const failed = await eventually('the transaction FAILED', async () => {
      const current = await transaction(s, half.transactionId);
      return current?.status === 'FAILED' ? current : undefined;
    });
    expect(failed).toMatchObject({
      status: 'FAILED',
      checkCount: 3,
      lastCheckResult: 'UNKNOWN',
    });
    const alert = await eventually('the alert', async () => {
      const received = (await subscriber.receive()) as Array<{ transactionId?: string; alert?: string }>;
      return received.find((a) => a.transactionId === half.transactionId);
    });
    expect(alert).toMatchObject({ alert: 'TransactionCheckFailed', groupKey: orderId, checkCount: 3 });
    await queueDrained(s);
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 1, paid: false });

    // WHEN an operator, having checked the payment exists, commits it by hand
    await setFaults(s, {});
    const outcome = await transactionalProducer(s).commit(half.transactionId, 'operator');

    // THEN it is delivered
    expect(outcome).toMatchObject({ sequence: 2, alreadyCommitted: false });
    expect(await viewAt(s, orderId, 2)).toMatchObject({ paid: true });
  });

  it('the fence on the emulator: a local step after the rollback is refused, a rollback after the local step is refused', async () => {
    // GIVEN two prepared transactions that name their local step's record (a payment keyed by the transaction)
    const producer = transactionalProducer(s);
    const orderId = await placeOrder(s, 'fence');
    const prepare = (name: string) => {
      const transactionId = uniquePrefix(name);
      return producer.prepare({
        transactionId,
        groupKey: orderId,
        type: 'PaymentCaptured',
        payload: { orderId, transactionId, amount: 1 },
        aggregate: { tableName: s.outputs.OrdersTableName, key: { orderId }, set: { paid: true } },
        localStep: { tableName: s.outputs.PaymentsTableName, key: { transactionId } },
      });
    };
    const recordPayment = (transactionId: string) =>
      s.dynamodb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: s.outputs.PaymentsTableName,
                Item: { transactionId, orderId, amount: 1, capturedAt: new Date().toISOString() },
                ConditionExpression: 'attribute_not_exists(transactionId)',
              },
            },
            producer.localStepFence(transactionId),
          ],
        }),
      );
    const rolledBackFirst = await prepare('fence-rb');
    const paidFirst = await prepare('fence-paid');

    // WHEN one is rolled back before its payment, the other's payment is recorded before a rollback
    await producer.rollback(rolledBackFirst.transactionId, 'check-back');
    const latePayment = await recordPayment(rolledBackFirst.transactionId).catch((error: unknown) => error);
    await recordPayment(paidFirst.transactionId);
    const lateRollback = await producer
      .rollback(paidFirst.transactionId, 'check-back')
      .catch((error: unknown) => error);

    // THEN the late payment is refused (no payment), and the late rollback too (the transaction stays open)
    expect(latePayment).toMatchObject({ name: 'TransactionCanceledException' });
    expect(lateRollback).toBeInstanceOf(LocalStepCompletedError);
    const payment = (transactionId: string) =>
      s.dynamodb.send(new GetCommand({ TableName: s.outputs.PaymentsTableName, Key: { transactionId } }));
    expect((await payment(rolledBackFirst.transactionId)).Item).toBeUndefined();
    expect((await payment(paidFirst.transactionId)).Item).toBeDefined();
    expect(await transaction(s, paidFirst.transactionId)).toMatchObject({ status: 'PREPARED' });
    // AND the paid one can only be committed
    await producer.commit(paidFirst.transactionId, 'check-back');
    expect(await viewAt(s, orderId, 2)).toMatchObject({ paid: true });
  });

  it('commit twice is a no-op; rollback after commit is a typed error; no second message', async () => {
    const orderId = await placeOrder(s, 'idempotent');
    const producer = transactionalProducer(s);
    const prepared = await producer.prepare({
      groupKey: orderId,
      type: 'PaymentCaptured',
      payload: { orderId, transactionId: 'manual', amount: 1 },
      aggregate: { tableName: s.outputs.OrdersTableName, key: { orderId }, set: { paid: true } },
    });

    const first = await producer.commit(prepared.transactionId);
    const second = await producer.commit(prepared.transactionId);
    const rollback = producer.rollback(prepared.transactionId);

    expect(first).toMatchObject({ sequence: 2, alreadyCommitted: false });
    expect(second).toMatchObject({ sequence: 2, alreadyCommitted: true, messageId: first.messageId });
    await expect(rollback).rejects.toBeInstanceOf(TransactionNotOpenError);
    await viewAt(s, orderId, 2);
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2 });
  });

  it("a producer's commit racing a check-back's rollback ends in exactly one outcome, every time", async () => {
    const producer = transactionalProducer(s);
    for (let round = 0; round < 8; round++) {
      // GIVEN a prepared transaction
      const orderId = await placeOrder(s, `race${round}`);
      const prepared = await producer.prepare({
        groupKey: orderId,
        type: 'PaymentCaptured',
        payload: { orderId, transactionId: `race-${round}`, amount: 1 },
        aggregate: { tableName: s.outputs.OrdersTableName, key: { orderId }, set: { paid: true } },
      });

      // WHEN the producer commits while the check-back rolls back
      const [commit, rollback] = await Promise.allSettled([
        producer.commit(prepared.transactionId),
        producer.rollback(prepared.transactionId, 'check-back'),
      ]);

      // THEN exactly one of them won, and the state says which
      expect([commit.status, rollback.status].filter((status) => status === 'fulfilled')).toHaveLength(1);
      const loser = commit.status === 'rejected' ? commit : rollback;
      expect((loser as PromiseRejectedResult).reason).toBeInstanceOf(TransactionNotOpenError);
      const final = await transaction(s, prepared.transactionId);
      const order = (await s.api.getOrder(orderId)).body;
      if (commit.status === 'fulfilled') {
        expect(final?.status).toBe('COMMITTED');
        expect(order).toMatchObject({ version: 2, paid: true });
        await viewAt(s, orderId, 2);
      } else {
        expect(final?.status).toBe('ROLLED_BACK');
        expect(order).toMatchObject({ version: 1 });
        // no PaymentCaptured message was written (the order's own OrderPlaced may still be on its way)
        expect((await outboxItems(s, orderId)).filter((item) => item.type === 'PaymentCaptured')).toEqual([]);
        await viewAt(s, orderId, 1);
        await queueDrained(s);
        expect((await s.api.getView(orderId)).body).toMatchObject({ version: 1, paid: false });
      }
    }
  });
});
