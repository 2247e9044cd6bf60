import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, outboxItems, type Stack, scanAll, stack, uniquePrefix } from './support/aws';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('reference application contract (design.md) on the emulator', () => {
  let s: Stack;
  let prefix: string;
  beforeAll(() => {
    s = stack();
    prefix = uniquePrefix('contract');
  });

  it('places an order: 201 with orderId, version 1 and a UUIDv7 messageId; GET returns it', async () => {
    // GIVEN
    const orderId = `${prefix}-place`;
    // WHEN
    const placed = await s.api.placeOrder({
      customerId: 'c-1',
      items: [{ sku: `${prefix}-sku`, quantity: 2 }],
      orderId,
    });
    // THEN
    expect(placed.status).toBe(201);
    expect(placed.body).toEqual({ orderId, version: 1, messageId: expect.stringMatching(UUID) });
    const order = await s.api.getOrder(orderId);
    expect(order.status).toBe(200);
    expect(order.body).toMatchObject({ orderId, customerId: 'c-1', status: 'PLACED', version: 1, notes: [] });
  });

  it('generates an orderId when none is given', async () => {
    const placed = await s.api.placeOrder({
      customerId: 'c-2',
      items: [{ sku: `${prefix}-sku`, quantity: 1 }],
    });
    expect(placed.status).toBe(201);
    expect(placed.body.orderId).toMatch(UUID);
  });

  it('answers 409 for an orderId that exists, and writes no second message', async () => {
    // GIVEN
    const orderId = `${prefix}-dup`;
    await s.api.placeOrder({ customerId: 'c-1', items: [{ sku: `${prefix}-sku`, quantity: 1 }], orderId });
    // WHEN
    const again = await s.api.placeOrder({
      customerId: 'c-9',
      items: [{ sku: `${prefix}-other`, quantity: 5 }],
      orderId,
    });
    // THEN
    expect(again.status).toBe(409);
    expect(again.body).toEqual({ error: expect.any(String) });
    expect((await s.api.getOrder(orderId)).body).toMatchObject({ customerId: 'c-1', version: 1 });
    const view = await eventually('the view of the first order', async () => {
      const response = await s.api.getView(orderId);
      return response.status === 200 ? response.body : undefined;
    });
    expect(view.version).toBe(1);
    expect((await s.api.getInventory(`${prefix}-other`)).body).toEqual({
      sku: `${prefix}-other`,
      reserved: 0,
    });
  });

  it('adds notes (201, version + 1) and cancels (200, version + 1); a second cancel is 409', async () => {
    // GIVEN
    const orderId = `${prefix}-life`;
    await s.api.placeOrder({
      customerId: 'c-1',
      items: [{ sku: `${prefix}-life-sku`, quantity: 4 }],
      orderId,
    });
    // WHEN
    const note = await s.api.addNote(orderId, 'ring twice');
    const cancel = await s.api.cancel(orderId);
    const cancelAgain = await s.api.cancel(orderId);
    // THEN
    expect(note.status).toBe(201);
    expect(note.body).toEqual({ orderId, version: 2, messageId: expect.stringMatching(UUID) });
    expect(cancel.status).toBe(200);
    expect(cancel.body).toEqual({ orderId, version: 3, messageId: expect.stringMatching(UUID) });
    expect(cancelAgain.status).toBe(409);
    const view = await eventually('the cancelled view', async () => {
      const response = await s.api.getView(orderId);
      return response.status === 200 && response.body.version === 3 ? response.body : undefined;
    });
    expect(view).toEqual({ orderId, status: 'CANCELLED', version: 3, notes: ['ring twice'], paid: false });
    expect((await s.api.getInventory(`${prefix}-life-sku`)).body).toEqual({
      sku: `${prefix}-life-sku`,
      reserved: 0,
    });
  });

  it('answers 404 for an unknown order on every order route', async () => {
    const unknown = `${prefix}-missing`;
    expect((await s.api.getOrder(unknown)).status).toBe(404);
    expect((await s.api.getView(unknown)).status).toBe(404);
    expect((await s.api.getAudit(unknown)).status).toBe(404);
    expect((await s.api.getShipment(unknown)).status).toBe(404);
    expect((await s.api.addNote(unknown, 'x')).status).toBe(404);
    expect((await s.api.cancel(unknown)).status).toBe(404);
    expect(await outboxItems(s, unknown)).toEqual([]);
  });

  it('answers 200 with reserved 0 for a SKU nobody reserved', async () => {
    expect((await s.api.getInventory(`${prefix}-never`)).body).toEqual({
      sku: `${prefix}-never`,
      reserved: 0,
    });
  });

  describe('bad input → 400 {error, details} and nothing written', () => {
    const validItems = [{ sku: 'sku-1', quantity: 1 }];
    const badOrderBodies: ReadonlyArray<[string, (orderId: string) => string]> = [
      ['malformed JSON', (id) => `{"customerId": "c", "orderId": "${id}", "items": [`],
      ['a JSON array instead of an object', () => '[]'],
      [
        'customerId of the wrong type',
        (id) => JSON.stringify({ customerId: 7, items: validItems, orderId: id }),
      ],
      ['items missing', (id) => JSON.stringify({ customerId: 'c', orderId: id })],
      ['customerId missing', (id) => JSON.stringify({ items: validItems, orderId: id })],
      ['no items', (id) => JSON.stringify({ customerId: 'c', items: [], orderId: id })],
      [
        'quantity 0',
        (id) => JSON.stringify({ customerId: 'c', items: [{ sku: 's', quantity: 0 }], orderId: id }),
      ],
      [
        'fractional quantity',
        (id) => JSON.stringify({ customerId: 'c', items: [{ sku: 's', quantity: 1.5 }], orderId: id }),
      ],
      [
        'quantity as a string',
        (id) => JSON.stringify({ customerId: 'c', items: [{ sku: 's', quantity: '2' }], orderId: id }),
      ],
      [
        'an unknown field',
        (id) => JSON.stringify({ customerId: 'c', items: validItems, orderId: id, coupon: 'FREE' }),
      ],
      [
        'an unknown item field',
        (id) =>
          JSON.stringify({ customerId: 'c', items: [{ sku: 's', quantity: 1, price: 3 }], orderId: id }),
      ],
      [
        'an orderId with forbidden characters',
        (id) => JSON.stringify({ customerId: 'c', items: validItems, orderId: `${id}/x` }),
      ],
      [
        'a body over 256 KB',
        (id) => JSON.stringify({ customerId: 'x'.repeat(300 * 1024), items: validItems, orderId: id }),
      ],
    ];

    it.each(badOrderBodies)('POST /orders with %s', async (_name, body) => {
      // GIVEN
      const orderId = uniquePrefix('bad');
      // WHEN
      const response = await s.api.request<{ error: string; details: unknown[] }>(
        'POST',
        'orders',
        undefined,
        body(orderId),
      );
      // THEN
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: expect.any(String), details: expect.any(Array) });
      expect(response.body.details.length).toBeGreaterThan(0);
      expect((await s.api.getOrder(orderId)).status).toBe(404);
      expect(await outboxItems(s, orderId)).toEqual([]);
    });

    it('POST /orders with no body at all', async () => {
      const before = (await scanAll(s, s.outputs.OrdersTableName)).length;
      const response = await s.api.request('POST', 'orders');
      expect(response.status).toBe(400);
      expect((await scanAll(s, s.outputs.OrdersTableName)).length).toBe(before);
    });

    const badNoteBodies: ReadonlyArray<[string, string]> = [
      ['malformed JSON', '{"text": '],
      ['text missing', '{}'],
      ['text of the wrong type', '{"text": 42}'],
      ['empty text', '{"text": ""}'],
      ['an unknown field', '{"text": "a", "author": "b"}'],
      ['an expectedVersion that is not an integer', '{"text": "a", "expectedVersion": "2"}'],
    ];

    it.each(badNoteBodies)(
      'POST /orders/{id}/notes with %s leaves the order as it was',
      async (_name, body) => {
        // GIVEN
        const orderId = uniquePrefix('badnote');
        await s.api.placeOrder({ customerId: 'c', items: validItems, orderId });
        // WHEN
        const response = await s.api.request<{ error: string; details: unknown[] }>(
          'POST',
          `orders/${orderId}/notes`,
          undefined,
          body,
        );
        // THEN
        expect(response.status).toBe(400);
        expect(response.body.details.length).toBeGreaterThan(0);
        expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1, notes: [] });
      },
    );

    it('POST /orders/{id}/cancel with an unknown field leaves the order placed', async () => {
      const orderId = uniquePrefix('badcancel');
      await s.api.placeOrder({ customerId: 'c', items: validItems, orderId });
      const response = await s.api.request('POST', `orders/${orderId}/cancel`, { because: 'x' });
      expect(response.status).toBe(400);
      expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1, status: 'PLACED' });
    });

    it('a note with a stale expectedVersion is 409 and changes nothing', async () => {
      const orderId = uniquePrefix('stale');
      await s.api.placeOrder({ customerId: 'c', items: validItems, orderId });
      const response = await s.api.request('POST', `orders/${orderId}/notes`, {
        text: 'late',
        expectedVersion: 7,
      });
      expect(response.status).toBe(409);
      expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1, notes: [] });
    });

    it('an invalid id in the path is 400', async () => {
      const response = await s.api.request('GET', `orders/${encodeURIComponent('bad id!')}`);
      expect(response.status).toBe(400);
      expect(response.body).toEqual({ error: expect.any(String), details: expect.any(Array) });
    });
  });
});
