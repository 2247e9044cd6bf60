import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { setFaults } from '../../tools/stack/stack-control';
import { type Stack, stack, uniquePrefix } from './support/aws';

type Change = { orderId: string; version: number; messageId: string };

describe('Idempotency-Key over HTTP (design.md "Retries")', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });
  afterEach(async () => {
    await setFaults(s, {});
  });

  async function placeOrder(name: string): Promise<string> {
    const orderId = uniquePrefix(name);
    const placed = await s.api.placeOrder({
      customerId: 'c',
      items: [{ sku: `${orderId}-sku`, quantity: 1 }],
      orderId,
    });
    expect(placed.status).toBe(201);
    return orderId;
  }

  const note = (orderId: string, text: string, key: string) =>
    s.api.request<Change & { error?: string; details?: unknown[] }>(
      'POST',
      `orders/${orderId}/notes`,
      { text },
      undefined,
      { 'Idempotency-Key': key },
    );

  it('the same request again gets the first response (same status and body) and writes nothing more', async () => {
    // GIVEN
    const orderId = await placeOrder('idem-replay');
    const key = uniquePrefix('key');
    const first = await note(orderId, 'once', key);

    // WHEN
    const again = await note(orderId, 'once', key);

    // THEN
    expect(first.status).toBe(201);
    expect(again).toEqual(first);
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2, notes: ['once'] });
    const record = await s.dynamodb.send(
      new GetCommand({ TableName: s.outputs.IdempotencyTableName, Key: { idempotencyKey: key } }),
    );
    expect(record.Item).toMatchObject({ status: 'COMPLETED', responseStatus: 201 });
  });

  it('the key with another body or on another endpoint: 422 {error, details}, nothing written', async () => {
    // GIVEN
    const orderId = await placeOrder('idem-422');
    const key = uniquePrefix('key');
    await note(orderId, 'first', key);

    // WHEN
    const otherBody = await note(orderId, 'second', key);
    const otherEndpoint = await s.api.request(
      'POST',
      `orders/${orderId}/payments`,
      { amount: 3 },
      undefined,
      {
        'Idempotency-Key': key,
      },
    );

    // THEN
    for (const response of [otherBody, otherEndpoint]) {
      expect(response.status).toBe(422);
      expect(response.body).toMatchObject({ error: expect.any(String), details: [expect.anything()] });
    }
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2, notes: ['first'] });
  });

  it.each([
    ['longer than 255 characters', 'k'.repeat(256)],
    ['with a character outside printable ASCII', 'tab\there'],
  ])('a key %s: 400, nothing written', async (_, key) => {
    // GIVEN
    const orderId = await placeOrder('idem-400');

    // WHEN
    const response = await note(orderId, 'x', key);

    // THEN
    expect(response.status).toBe(400);
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1, notes: [] });
  });

  it('an ambiguous commit answers "outcome unknown"; the retry with the same key gets the committed answer, no second note', async () => {
    // GIVEN every transaction commits and then the producer times out
    const orderId = await placeOrder('idem-ambiguous');
    const key = uniquePrefix('key');
    await setFaults(s, { ambiguousCommitRate: 1 });

    // WHEN a note is added, and (the fault gone) retried with the same key and no expectedVersion
    const first = await note(orderId, 'exactly once', key);
    await setFaults(s, {});
    const retry = await note(orderId, 'exactly once', key);

    // THEN the first answer told the truth, and the retry got the committed change
    expect(first.status).toBe(503);
    expect(first.body).toMatchObject({ error: 'outcome unknown' });
    expect(retry.status).toBe(201);
    expect(retry.body).toMatchObject({ orderId, version: 2 });
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2, notes: ['exactly once'] });
  });

  it('a payment under a key is captured once, however often it is retried', async () => {
    // GIVEN
    const orderId = await placeOrder('idem-pay');
    const key = uniquePrefix('key');
    const pay = () =>
      s.api.request('POST', `orders/${orderId}/payments`, { amount: 12 }, undefined, {
        'Idempotency-Key': key,
      });

    // WHEN
    const first = await pay();
    const again = await pay();

    // THEN
    expect(first.status).toBe(202);
    expect(again).toEqual(first);
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 2, paid: true });
  });
});
