import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { halfMessageKey } from '../../../functions/runtime/half/half-message';
import { requestFingerprint } from '../../../functions/runtime/idempotency/idempotency-key';
import type { OrdersApi } from '../../../reference/functions/http/orders-api';
import type { InMemoryDynamoDb, Item } from '../../../tools/dynamodb/in-memory-dynamodb';
import { beforeEvery, failEvery } from '../support/dynamo-faults';
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

const START = new Date('2026-03-01T12:00:00.000Z');
const ORDER = 'order-1';

const ddb = mockClient(DynamoDBDocumentClient);
let db: InMemoryDynamoDb;
let now: Date;
let api: OrdersApi;
let unexpected: unknown[];

const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};

const post = (path: string, body: unknown, key?: string) =>
  apiEvent('POST', path, {
    headers: jsonHeaders(key),
    body: body === undefined ? undefined : JSON.stringify(body),
  });

const bodyOf = (response: APIGatewayProxyStructuredResultV2) => JSON.parse(String(response.body)) as Item;
const order = () => db.item(ORDERS_TABLE, { orderId: ORDER });
const messages = () => db.all(OUTBOX_TABLE).filter((item) => !String(item.groupKey).startsWith('TX#'));
const keys = () => db.all(IDEMPOTENCY_TABLE);
const timeout = () =>
  Object.assign(new Error('socket timed out after the request was sent'), { name: 'TimeoutError' });
/** The next TransactWriteItems commits, and then its answer is lost (the producer sees a timeout). */
function commitThenTimeOut(): void {
  beforeEvery(db, 'TransactWrite', async () => {
    const input = ddb.commandCalls(TransactWriteCommand).at(-1)!.args[0].input;
    await db.transactWrite({ TransactItems: input.TransactItems });
    throw timeout();
  });
}

async function placeOrder(): Promise<void> {
  const response = await api.handle(
    post('/orders', { customerId: 'c-1', items: [{ sku: 'sku-a', quantity: 2 }], orderId: ORDER }),
  );
  expect(response.statusCode).toBe(201);
}

beforeEach(async () => {
  ddb.reset();
  db = producerTables();
  db.install(ddb);
  now = START;
  unexpected = [];
  api = ordersApiAt(
    () => now,
    (error) => unexpected.push(error),
  );
  await placeOrder();
});

describe('Idempotency-Key: the same request again gets the first response and writes nothing more', () => {
  it('replays the first response of a note (same status, same body), and adds the note once', async () => {
    // GIVEN
    const first = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'ring twice' }, 'key-1'));

    // WHEN
    const again = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'ring twice' }, 'key-1'));

    // THEN
    expect(first.statusCode).toBe(201);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers).toMatchObject({ 'idempotent-replayed': 'true' });
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
    expect(messages()).toHaveLength(2);
  });

  it('answers "outcome unknown" for a commit whose answer was lost, and the retry under the key gets the committed answer without a second note', async () => {
    // GIVEN the note's transaction commits, then the producer times out
    commitThenTimeOut();
    const first = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'ring twice' }, 'key-1'));

    // WHEN the client retries with the same key (and no expectedVersion)
    const retry = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'ring twice' }, 'key-1'));

    // THEN the first answer said the truth: outcome unknown, retry with the same key
    expect(first.statusCode).toBe(503);
    expect(bodyOf(first)).toMatchObject({ error: 'outcome unknown' });
    expect(String(first.body)).not.toContain('nothing was written');
    expect(first.headers).toMatchObject({ 'retry-after': '1' });
    // AND the retry gets the committed change's answer; the note exists once
    expect(retry.statusCode).toBe(201);
    const committed = messages().find((message) => message.sequence === 2);
    expect(bodyOf(retry)).toEqual({ orderId: ORDER, version: 2, messageId: committed?.messageId });
    expect(order()).toMatchObject({ version: 2, notes: ['ring twice'] });
    expect(messages()).toHaveLength(2);
  });

  it('writes the key’s record in the same TransactWriteItems as the change and its message, with a ClientRequestToken', async () => {
    // WHEN
    await api.handle(post(`/orders/${ORDER}/notes`, { text: 'hello' }, 'key-1'));

    // THEN
    const input = ddb.commandCalls(TransactWriteCommand).at(-1)!.args[0].input;
    expect(input.TransactItems?.map((item) => (item.Put ?? item.Update)?.TableName)).toEqual([
      ORDERS_TABLE,
      OUTBOX_TABLE,
      IDEMPOTENCY_TABLE,
    ]);
    expect(input.ClientRequestToken).toMatch(/^[0-9a-f]{36}$/);
    expect(keys()).toEqual([
      expect.objectContaining({
        idempotencyKey: 'key-1',
        status: 'COMPLETED',
        responseStatus: 201,
        expiresAt: Math.floor(START.getTime() / 1000) + 24 * 3600,
      }),
    ]);
  });

  it('replays a placed order and a cancellation too (201 and 200)', async () => {
    // GIVEN
    const body = { customerId: 'c-2', items: [{ sku: 'sku-b', quantity: 1 }] };
    const placed = await api.handle(post('/orders', body, 'place-1'));
    const orderId = String(bodyOf(placed).orderId);
    const cancelled = await api.handle(post(`/orders/${orderId}/cancel`, undefined, 'cancel-1'));

    // WHEN
    const placedAgain = await api.handle(post('/orders', body, 'place-1'));
    const cancelledAgain = await api.handle(post(`/orders/${orderId}/cancel`, undefined, 'cancel-1'));

    // THEN
    expect([placed.statusCode, placedAgain.statusCode]).toEqual([201, 201]);
    expect(placedAgain.body).toBe(placed.body);
    expect([cancelled.statusCode, cancelledAgain.statusCode]).toEqual([200, 200]);
    expect(cancelledAgain.body).toBe(cancelled.body);
    expect(db.all(ORDERS_TABLE)).toHaveLength(2);
    expect(db.item(ORDERS_TABLE, { orderId })).toMatchObject({ status: 'CANCELLED', version: 2 });
  });

  it('without the header, each POST is its own request (as before)', async () => {
    // WHEN
    await api.handle(post(`/orders/${ORDER}/notes`, { text: 'again' }));
    await api.handle(post(`/orders/${ORDER}/notes`, { text: 'again' }));

    // THEN
    expect(order()).toMatchObject({ version: 3, notes: ['again', 'again'] });
    expect(keys()).toEqual([]);
  });
});

describe('Idempotency-Key: misuse', () => {
  it.each([
    ['another body', `/orders/${ORDER}/notes`, { text: 'something else' }],
    ['another endpoint', `/orders/${ORDER}/payments`, { amount: 5 }],
  ])('answers 422 {error, details} for the key with %s, and writes nothing', async (_, path, body) => {
    // GIVEN
    await api.handle(post(`/orders/${ORDER}/notes`, { text: 'first' }, 'key-1'));
    const before = { orders: db.all(ORDERS_TABLE), outbox: db.all(OUTBOX_TABLE), keys: keys() };

    // WHEN
    const response = await api.handle(post(path, body, 'key-1'));

    // THEN
    expect(response.statusCode).toBe(422);
    expect(bodyOf(response)).toEqual({
      error: expect.any(String),
      details: [{ path: 'Idempotency-Key', message: expect.stringContaining('another request') }],
    });
    expect({ orders: db.all(ORDERS_TABLE), outbox: db.all(OUTBOX_TABLE), keys: keys() }).toEqual(before);
    expect(db.all(PAYMENTS_TABLE)).toEqual([]);
  });

  it.each([
    ['empty', ''],
    ['over 255 characters', 'k'.repeat(256)],
    ['not ASCII', 'clé-1'],
    ['a control character', 'key\t1'],
  ])('answers 400 for a key that is %s, and writes nothing', async (_, key) => {
    // GIVEN
    const writesBefore = ddb.calls().length;

    // WHEN
    const response = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'x' }, key));

    // THEN
    expect(response.statusCode).toBe(400);
    expect(bodyOf(response)).toMatchObject({ details: [{ path: 'Idempotency-Key' }] });
    expect(ddb.calls().length).toBe(writesBefore);
    expect(order()).toMatchObject({ version: 1 });
  });

  it('accepts a key of exactly 255 printable characters', async () => {
    // WHEN
    const response = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'x' }, `~ ${'k'.repeat(253)}`));

    // THEN
    expect(response.statusCode).toBe(201);
  });

  it('answers 409 {error} with Retry-After while the key’s first request is still running', async () => {
    // GIVEN the first request is inside its transaction when the retry arrives
    let retry: APIGatewayProxyStructuredResultV2 | undefined;
    beforeEvery(db, 'TransactWrite', async () => {
      retry = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'slow' }, 'key-1'));
    });

    // WHEN
    const first = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'slow' }, 'key-1'));

    // THEN
    expect(retry?.statusCode).toBe(409);
    expect(bodyOf(retry!)).toEqual({ error: expect.stringContaining('in progress') });
    expect(retry?.headers).toMatchObject({ 'retry-after': '1' });
    expect(first.statusCode).toBe(201);
    expect(order()).toMatchObject({ notes: ['slow'] });
  });
});

describe('Idempotency-Key: lifetime', () => {
  it('gives the key up when its request committed nothing (404), so a retry runs', async () => {
    // GIVEN
    const missing = await api.handle(post('/orders/order-2/notes', { text: 'x' }, 'key-1'));

    // WHEN the order exists and the client retries with the same key
    await api.handle(
      post('/orders', { customerId: 'c', items: [{ sku: 's', quantity: 1 }], orderId: 'order-2' }),
    );
    const retry = await api.handle(post('/orders/order-2/notes', { text: 'x' }, 'key-1'));

    // THEN
    expect(missing.statusCode).toBe(404);
    expect(retry.statusCode).toBe(201);
  });

  it('treats a record past its 24-hour TTL, not yet deleted by DynamoDB, as absent', async () => {
    // GIVEN
    await api.handle(post(`/orders/${ORDER}/notes`, { text: 'daily' }, 'key-1'));
    advance(24 * 3600);

    // WHEN
    const response = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'daily' }, 'key-1'));

    // THEN a new request: the note is added again
    expect(response.statusCode).toBe(201);
    expect(bodyOf(response)).toMatchObject({ version: 3 });
    expect(order()).toMatchObject({ notes: ['daily', 'daily'] });
  });

  it('still replays within the 24 hours', async () => {
    // GIVEN
    const first = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'daily' }, 'key-1'));
    advance(24 * 3600 - 1);

    // WHEN
    const again = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'daily' }, 'key-1'));

    // THEN
    expect(again.body).toBe(first.body);
    expect(order()).toMatchObject({ notes: ['daily'] });
  });

  it('lets a retry take over a claim whose request died, and then the dead request’s transaction cannot commit', async () => {
    // GIVEN a request that claimed the key and died before its transaction (its claim is left IN_PROGRESS)
    let late: Parameters<typeof db.transactWrite>[0] | undefined;
    let claimed: Item | undefined;
    beforeEvery(db, 'TransactWrite', () => {
      late = ddb.commandCalls(TransactWriteCommand).at(-1)!.args[0].input;
      claimed = keys()[0];
      throw new Error('the process died');
    });
    await api.handle(post(`/orders/${ORDER}/notes`, { text: 'once' }, 'key-1'));
    db.seed(IDEMPOTENCY_TABLE, claimed!); // as if it had died before giving the key up
    expect(keys()).toEqual([expect.objectContaining({ status: 'IN_PROGRESS' })]);

    // WHEN the lease (30 s) runs out and the client retries
    advance(30);
    const retry = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'once' }, 'key-1'));

    // THEN the retry commits; the dead request's transaction, arriving late, is refused
    expect(retry.statusCode).toBe(201);
    await expect(db.transactWrite({ TransactItems: late?.TransactItems })).rejects.toMatchObject({
      name: 'TransactionCanceledException',
    });
    expect(order()).toMatchObject({ version: 2, notes: ['once'] });
  });

  it('answers 409 to the same request before the lease of its running claim runs out, and takes it over after', async () => {
    // GIVEN the same request's claim, taken 29 s ago and (as far as anyone knows) still running
    const path = `/orders/${ORDER}/notes`;
    db.seed(IDEMPOTENCY_TABLE, {
      idempotencyKey: 'key-1',
      fingerprint: requestFingerprint('POST', path, JSON.stringify({ text: 'x' })),
      status: 'IN_PROGRESS',
      owner: 'someone',
      createdAt: START.toISOString(),
      expiresAt: Math.floor(START.getTime() / 1000) + 24 * 3600,
      leaseExpiresAt: Math.floor(START.getTime() / 1000) + 30,
    });
    advance(29);

    // WHEN / THEN
    expect((await api.handle(post(path, { text: 'x' }, 'key-1'))).statusCode).toBe(409);
    advance(1);
    expect((await api.handle(post(path, { text: 'x' }, 'key-1'))).statusCode).toBe(201);
    expect(order()).toMatchObject({ version: 2, notes: ['x'] });
  });

  it('answers 422 to another request under a key whose first request is still running', async () => {
    // GIVEN a claim taken 29 s ago and still running
    db.seed(IDEMPOTENCY_TABLE, {
      idempotencyKey: 'key-1',
      fingerprint: 'f',
      status: 'IN_PROGRESS',
      owner: 'someone',
      createdAt: START.toISOString(),
      expiresAt: Math.floor(START.getTime() / 1000) + 24 * 3600,
      leaseExpiresAt: Math.floor(START.getTime() / 1000) + 30,
    });
    advance(29);

    // WHEN the same key comes with another body
    const response = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'x' }, 'key-1'));

    // THEN it is another request's key: 422 (the fingerprint differs), nothing written
    expect(response.statusCode).toBe(422);
    expect(order()).toMatchObject({ version: 1 });
  });
});

describe('Idempotency-Key on payments (a half message)', () => {
  it('replays the 202 of a captured payment; one payment, one message', async () => {
    // GIVEN
    const first = await api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, 'pay-1'));

    // WHEN
    const again = await api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, 'pay-1'));

    // THEN
    expect([first.statusCode, again.statusCode]).toEqual([202, 202]);
    expect(again.body).toBe(first.body);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
    expect(messages().filter((message) => message.type === 'PaymentCaptured')).toHaveLength(1);
  });

  it('answers 409 while the payment’s transaction is open, and its committed answer once it is resolved', async () => {
    // GIVEN the payment is recorded and its commit's answer is lost; the transaction stays open
    for (let i = 0; i < 5; i++) {
      db.before(
        'TransactWrite',
        (input) => input.TransactItems?.[0]?.Update?.TableName === ORDERS_TABLE,
        () => {
          throw timeout();
        },
      );
    }
    const first = await api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, 'pay-1'));
    expect(first.statusCode).toBe(503);
    expect(bodyOf(first)).toMatchObject({ error: 'outcome unknown' });

    // WHEN the client retries long after the lease, before the check-back resolved it
    advance(300);
    const meanwhile = await api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, 'pay-1'));

    // THEN 409: the key is bound to the open transaction (no second payment)
    expect(meanwhile.statusCode).toBe(409);
    expect(db.all(PAYMENTS_TABLE)).toHaveLength(1);
  });

  it('gives the key up with a rolled-back payment, so a retry pays afresh', async () => {
    // GIVEN the payment's transaction was rolled back (the local step failed for sure)
    db.before(
      'TransactWrite',
      (input) => input.TransactItems?.[0]?.Put?.TableName === PAYMENTS_TABLE,
      () => {
        throw Object.assign(new Error('bad'), {
          name: 'ValidationException',
          $metadata: { httpStatusCode: 400 },
        });
      },
    );
    const first = await api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, 'pay-1'));
    const rolledBack = db.all(OUTBOX_TABLE).find((item) => String(item.groupKey).startsWith('TX#'));
    expect(rolledBack).toMatchObject({ status: 'ROLLED_BACK' });
    expect(keys()).toEqual([]);

    // WHEN
    const retry = await api.handle(post(`/orders/${ORDER}/payments`, { amount: 30 }, 'pay-1'));

    // THEN
    expect(first.statusCode).toBe(500);
    expect(retry.statusCode).toBe(202);
    expect(db.item(OUTBOX_TABLE, halfMessageKey(String(bodyOf(retry).transactionId)))).toMatchObject({
      status: 'COMMITTED',
    });
  });
});

describe('transient failures (item 1, producer side)', () => {
  const throttled = () =>
    Object.assign(new Error('Rate exceeded'), {
      name: 'ThrottlingException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });

  it('retries a throttled transaction in-process, and commits', async () => {
    // GIVEN the first attempt is throttled (after the SDK's own retries)
    failEvery(db, 'TransactWrite', throttled);

    // WHEN
    const response = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'through' }, 'key-1'));

    // THEN
    expect(response.statusCode).toBe(201);
    expect(order()).toMatchObject({ version: 2, notes: ['through'] });
  });

  it('answers 503 "nothing was written" with Retry-After when throttling outlasts the retries, and gives the key up', async () => {
    // GIVEN every attempt is throttled
    for (let i = 0; i < 5; i++) {
      failEvery(db, 'TransactWrite', throttled);
    }

    // WHEN
    const response = await api.handle(post(`/orders/${ORDER}/notes`, { text: 'later' }, 'key-1'));

    // THEN
    expect(response.statusCode).toBe(503);
    expect(bodyOf(response)).toEqual({ error: expect.stringContaining('nothing was written') });
    expect(response.headers).toMatchObject({ 'retry-after': '1' });
    expect(order()).toMatchObject({ version: 1 });
    expect(keys()).toEqual([]);
  });
});
