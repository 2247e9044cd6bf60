import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import {
  type InMemoryDynamoDb,
  type Item,
  type LostAnswer,
  timeoutAfterWrite,
} from '../../../tools/dynamodb/in-memory-dynamodb';
import {
  apiEvent,
  IDEMPOTENCY_TABLE,
  jsonHeaders,
  ORDERS_TABLE,
  OUTBOX_TABLE,
  ordersApiAt,
  PAYMENTS_TABLE,
  producerTables,
} from './support/orders-api-wiring';

/**
 * Every write of the producer side under each lost answer (the write landed; then a 500, a timeout, or the SDK's
 * retry meeting its own first attempt): nothing is duplicated, no claim is lost to its own retry, and the API says
 * "outcome unknown" only when it cannot tell.
 */

const NOW = new Date('2026-03-01T12:00:00.000Z');
const ORDER = 'order-1';
const OUTCOMES: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];

const ddb = mockClient(DynamoDBDocumentClient);
let db: InMemoryDynamoDb;
let api: OrdersApi;
let unexpected: unknown[];

const post = (path: string, body: unknown, key?: string) =>
  apiEvent('POST', path, { headers: jsonHeaders(key), body: JSON.stringify(body) });

const bodyOf = (response: APIGatewayProxyStructuredResultV2) => JSON.parse(String(response.body)) as Item;
const order = () => db.item(ORDERS_TABLE, { orderId: ORDER });
const messages = () => db.all(OUTBOX_TABLE).filter((item) => !String(item.groupKey).startsWith('TX#'));
const halfMessages = () => db.all(OUTBOX_TABLE).filter((item) => String(item.groupKey).startsWith('TX#'));
const keyRecord = (key: string) => db.item(IDEMPOTENCY_TABLE, { idempotencyKey: key });
const note = (key?: string) => api.handle(post(`/orders/${ORDER}/notes`, { text: 'ring twice' }, key));
const pay = (key?: string) => api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, key));
/** A TransactWriteItems that writes into `table`. */
const writesInto =
  (table: string) =>
  (input: { TransactItems?: readonly { Put?: { TableName?: string } }[] }): boolean =>
    (input.TransactItems ?? []).some((item) => item.Put?.TableName === table);
const isOutboxCommit = (input: {
  TransactItems?: readonly { Put?: { TableName?: string; Item?: Item } }[];
}) =>
  (input.TransactItems ?? []).some(
    (item) => item.Put?.TableName === OUTBOX_TABLE && !String(item.Put.Item?.groupKey).startsWith('TX#'),
  );

/** The answer the first request may get for a write whose answer was lost: the truth, and only the truth. */
function expectSettledOrUnknown(
  response: APIGatewayProxyStructuredResultV2,
  outcome: LostAnswer,
  settled: number,
): void {
  if (outcome === 'sdk-retry') {
    expect(response.statusCode).toBe(settled);
    return;
  }
  expect(response.statusCode).toBe(503);
  expect(bodyOf(response)).toMatchObject({ error: 'outcome unknown' });
  expect(response.headers).toMatchObject({ 'retry-after': '1' });
}

beforeEach(async () => {
  ddb.reset();
  db = producerTables();
  db.install(ddb);
  unexpected = [];
  api = ordersApiAt(NOW, (error) => unexpected.push(error));
  const placed = await api.handle(
    post('/orders', { customerId: 'c-1', items: [{ sku: 'sku-a', quantity: 1 }], orderId: ORDER }),
  );
  expect(placed.statusCode).toBe(201);
});

describe.each(OUTCOMES)('an answer lost after the write landed (%s)', (outcome) => {
  it('the outbox commit under a key: the truth first, the committed answer on retry, one note', async () => {
    // GIVEN
    db.loseAnswer('TransactWrite', isOutboxCommit, outcome);
    // WHEN
    const first = await note('key-1');
    const retry = await note('key-1');
    // THEN
    expectSettledOrUnknown(first, outcome, 201);
    expect(retry.statusCode).toBe(201);
    expect(bodyOf(retry)).toMatchObject({ orderId: ORDER, version: 2 });
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
    expect(messages()).toHaveLength(2);
    expect(keyRecord('key-1')).toMatchObject({ status: 'COMPLETED', responseStatus: 201 });
  });

  it('the outbox commit without a key: "outcome unknown" only when it is unknown, one note', async () => {
    // GIVEN
    db.loseAnswer('TransactWrite', isOutboxCommit, outcome);
    // WHEN
    const first = await note();
    // THEN
    expectSettledOrUnknown(first, outcome, 201);
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
    expect(messages()).toHaveLength(2);
  });

  it('the idempotency claim: the request runs as its own claim’s (never 409), once', async () => {
    // GIVEN
    db.loseAnswer('Put', (input) => input.TableName === IDEMPOTENCY_TABLE, outcome);
    // WHEN
    const first = await note('key-1');
    const retry = await note('key-1');
    // THEN
    expect(first.statusCode).toBe(201);
    expect(retry.statusCode).toBe(201);
    expect(retry.body).toBe(first.body);
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
  });

  it('the idempotency release: a retry of a refused request is served again, not held', async () => {
    // GIVEN a request that commits nothing (an expectedVersion that is not current), and its release's answer lost
    db.loseAnswer('Delete', (input) => input.TableName === IDEMPOTENCY_TABLE, outcome);
    const stale = () =>
      api.handle(post(`/orders/${ORDER}/notes`, { text: 'late', expectedVersion: 7 }, 'key-1'));
    // WHEN
    const first = await stale();
    const retry = await stale();
    // THEN
    expect([first.statusCode, retry.statusCode]).toEqual([409, 409]);
    expect(bodyOf(retry).error).toMatch(/not the expected version/);
    expect(keyRecord('key-1')).toBeUndefined();
  });

  it('the half message’s prepare under a key: one payment, committed, the key completed', async () => {
    // GIVEN
    db.loseAnswer('TransactWrite', writesInto(OUTBOX_TABLE), outcome);
    // WHEN
    const first = await pay('pay-1');
    const retry = await pay('pay-1');
    // THEN
    expect(first.statusCode).toBe(202);
    expect(retry.body).toBe(first.body);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
    expect(halfMessages()).toEqual([expect.objectContaining({ status: 'COMMITTED' })]);
    expect(messages().filter((message) => message.type === 'PaymentCaptured')).toHaveLength(1);
    expect(keyRecord('pay-1')).toMatchObject({ status: 'COMPLETED', responseStatus: 202 });
  });

  it('the half message’s prepare without a key: one payment, committed', async () => {
    // GIVEN
    db.loseAnswer('Put', (input) => input.TableName === OUTBOX_TABLE, outcome);
    // WHEN
    const first = await pay();
    // THEN
    expect(first.statusCode).toBe(202);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
    expect(halfMessages()).toEqual([expect.objectContaining({ status: 'COMMITTED' })]);
  });

  it('the payment’s local step: a payment that reads as recorded is committed, once', async () => {
    // GIVEN
    db.loseAnswer('TransactWrite', writesInto(PAYMENTS_TABLE), outcome);
    // WHEN
    const first = await pay('pay-1');
    // THEN
    expect(first.statusCode).toBe(202);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
    expect(halfMessages()).toEqual([expect.objectContaining({ status: 'COMMITTED' })]);
    expect(order()).toMatchObject({ paid: true, version: 2 });
  });

  it('the half message’s commit: 202, one message, one version', async () => {
    // GIVEN
    db.loseAnswer(
      'TransactWrite',
      (input) => input.TransactItems?.[0]?.Update?.TableName === ORDERS_TABLE,
      outcome,
    );
    // WHEN
    const first = await pay('pay-1');
    // THEN
    expect(first.statusCode).toBe(202);
    expect(order()).toMatchObject({ paid: true, version: 2 });
    expect(messages().filter((message) => message.type === 'PaymentCaptured')).toHaveLength(1);
    expect(keyRecord('pay-1')).toMatchObject({ status: 'COMPLETED' });
  });

  it('the half message’s rollback: rolled back once, the key given up, and a retry pays afresh', async () => {
    // GIVEN the local step is refused for sure (nothing written), and the rollback's answer is lost
    db.before('TransactWrite', writesInto(PAYMENTS_TABLE), () => {
      throw Object.assign(new Error('bad'), {
        name: 'ValidationException',
        $metadata: { httpStatusCode: 400 },
      });
    });
    db.loseAnswer('TransactWrite', (input) => JSON.stringify(input).includes(':rolledBack'), outcome);
    // WHEN
    const first = await pay('pay-1');
    const retry = await pay('pay-1');
    // THEN
    expect(first.statusCode).toBe(500);
    expect(
      halfMessages()
        .map((half) => half.status)
        .sort(),
    ).toEqual(['COMMITTED', 'ROLLED_BACK']);
    expect(retry.statusCode).toBe(202);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
  });
});

describe('a failure whose outcome stays unknown', () => {
  it('a payment whose local step may still land answers "outcome unknown", and never rolls back', async () => {
    // GIVEN the local step's write times out before it lands
    db.before('TransactWrite', writesInto(PAYMENTS_TABLE), () => {
      throw timeoutAfterWrite();
    });
    // WHEN
    const first = await pay('pay-1');
    // THEN
    expect(first.statusCode).toBe(503);
    expect(bodyOf(first)).toMatchObject({ error: 'outcome unknown' });
    expect(halfMessages()).toEqual([expect.objectContaining({ status: 'PREPARED' })]);
    expect(keyRecord('pay-1')).toMatchObject({ status: 'IN_PROGRESS', transactionId: expect.any(String) });
  });

  it('a claim that cannot be made answers 503 "not processed" (nothing changed), never "outcome unknown"', async () => {
    // GIVEN every claim's put times out before it lands
    for (let attempt = 0; attempt < 3; attempt++) {
      db.before(
        'Put',
        (input) => input.TableName === IDEMPOTENCY_TABLE,
        () => {
          throw timeoutAfterWrite();
        },
      );
    }
    // WHEN
    const response = await note('key-1');
    // THEN
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toEqual({
      error: 'temporarily unavailable; the request was not processed; retry',
    });
    expect(response.headers).toMatchObject({ 'retry-after': '1' });
    expect(order()).toMatchObject({ version: 1, notes: [] });
    expect(unexpected).toHaveLength(1);
  });
});

describe('a key released after an unknown outcome never lets a change commit twice', () => {
  const inProgress = () =>
    Object.assign(new Error('the same transaction is still running'), {
      name: 'TransactionInProgressException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
  /** The note's transaction is still running when the API gives up on it: it lands later, when `land` is called. */
  function stillRunning(): () => Promise<unknown> {
    let pending: Parameters<InMemoryDynamoDb['transactWrite']>[0] | undefined;
    db.before('TransactWrite', isOutboxCommit, () => {
      pending = structuredClone(ddb.calls().at(-1)!.args[0].input) as typeof pending;
      throw inProgress();
    });
    return () => db.transactWrite(pending!).catch((error: unknown) => error);
  }

  it('a late transaction is cancelled by the retry’s claim: one note, the retry’s', async () => {
    // GIVEN the first request's transaction is still running when it answers (and releases the key)
    const land = stillRunning();
    const first = await note('key-1');
    // WHEN the retry claims the key and commits, and then the first transaction lands
    const retry = await note('key-1');
    const late = await land();
    // THEN
    expect(first.statusCode).toBe(503);
    expect(bodyOf(first)).toMatchObject({ error: 'outcome unknown' });
    expect(retry.statusCode).toBe(201);
    expect(late).toMatchObject({ name: 'TransactionCanceledException' });
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
    expect(messages()).toHaveLength(2);
  });

  it('a transaction that lands before the retry completes the key: the retry gets its answer', async () => {
    // GIVEN
    const land = stillRunning();
    const first = await note('key-1');
    // WHEN the first transaction lands after the release, before the retry
    await land();
    const retry = await note('key-1');
    // THEN
    expect(first.statusCode).toBe(503);
    expect(retry.statusCode).toBe(201);
    expect(retry.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
  });
});
