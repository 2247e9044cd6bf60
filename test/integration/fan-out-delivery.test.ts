import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, stack, uniquePrefix } from './support/aws';

/** What the shipping group takes (design.md); every other type only moves its cursor. */
const SHIPPING_TYPES = new Set(['OrderPlaced', 'PaymentCaptured', 'OrderCancelled']);

interface Plan {
  readonly orderId: string;
  readonly notes: number;
  readonly pay: boolean;
  readonly cancel: boolean;
}

function shippingStatus(types: readonly string[]): string {
  if (types.includes('OrderCancelled')) return 'cancelled';
  return types.includes('PaymentCaptured') ? 'ready' : 'awaiting-payment';
}

describe('fan-out: one committed message reaches every consumer group, each in order and once', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });

  it('the projection, audit and shipping groups each apply every order their way', async () => {
    // GIVEN orders with notes, payments and cancellations in every combination
    const prefix = uniquePrefix('fanout');
    const plans: Plan[] = Array.from({ length: 24 }, (_, i) => ({
      orderId: `${prefix}-${i}`,
      notes: i % 4,
      pay: i % 2 === 0,
      cancel: i % 3 === 0,
    }));
    const committed = new Map<string, string[]>();

    // WHEN each order's changes go through the API, one after another
    await Promise.all(
      plans.map(async (plan) => {
        const types: string[] = [];
        const placed = await s.api.placeOrder({
          customerId: 'fan-out',
          items: [{ sku: `${prefix}-sku`, quantity: 1 }],
          orderId: plan.orderId,
        });
        expect(placed.status).toBe(201);
        types.push('OrderPlaced');
        for (let n = 0; n < plan.notes; n++) {
          expect((await s.api.addNote(plan.orderId, `note ${n + 1}`)).status).toBe(201);
          types.push('OrderNoteAdded');
        }
        if (plan.pay) {
          const paid = await s.api.request('POST', `orders/${plan.orderId}/payments`, { amount: 10 });
          expect(paid.status).toBe(202);
          types.push('PaymentCaptured');
        }
        if (plan.cancel) {
          expect((await s.api.cancel(plan.orderId)).status).toBe(200);
          types.push('OrderCancelled');
        }
        committed.set(plan.orderId, types);
      }),
    );

    // THEN the audit group holds every committed message of every order, in sequence order, once
    for (const plan of plans) {
      const types = committed.get(plan.orderId)!;
      const audit = await eventually(
        `audit of ${plan.orderId} complete`,
        async () => {
          const answer = await s.api.getAudit(plan.orderId);
          return answer.status === 200 && answer.body.entries.length >= types.length ? answer : undefined;
        },
        120_000,
      );
      expect(audit.body).toEqual({
        orderId: plan.orderId,
        entries: types.map((type, i) => ({ sequence: i + 1, type, position: i + 1 })),
      });
    }

    // AND the shipping group counts only the types it takes, with the status they lead to
    for (const plan of plans) {
      const types = committed.get(plan.orderId)!;
      const taken = types.filter((type) => SHIPPING_TYPES.has(type));
      const shipment = await eventually(
        `shipment of ${plan.orderId} complete`,
        async () => {
          const answer = await s.api.getShipment(plan.orderId);
          return answer.status === 200 && answer.body.events >= taken.length ? answer : undefined;
        },
        120_000,
      );
      expect(shipment.body).toEqual({
        orderId: plan.orderId,
        status: shippingStatus(types),
        events: taken.length,
      });
    }

    // AND the projection group reaches every order's last version, as before the fan-out
    for (const plan of plans) {
      const types = committed.get(plan.orderId)!;
      const view = await eventually(
        `view of ${plan.orderId} at version ${types.length}`,
        async () => {
          const answer = await s.api.getView(plan.orderId);
          return answer.status === 200 && answer.body.version === types.length ? answer : undefined;
        },
        120_000,
      );
      expect(view.body.paid).toBe(plan.pay);
    }
  });

  it("a message sent straight to a group's queue (the topic's envelope) is consumed like any other", async () => {
    // GIVEN an order whose first message the audit group applied
    const orderId = `${uniquePrefix('direct')}-1`;
    expect(
      (await s.api.placeOrder({ customerId: 'direct', items: [{ sku: 'direct-sku', quantity: 1 }], orderId }))
        .status,
    ).toBe(201);
    await eventually(
      'first audit entry',
      async () => ((await s.api.getAudit(orderId)).body.entries?.length === 1 ? true : undefined),
      60_000,
    );

    // WHEN an operator sends its next sequence straight to the audit queue, in the envelope the topic delivers
    const envelope = {
      messageId: `${orderId}-direct-2`,
      groupKey: orderId,
      sequence: 2,
      type: 'OrderNoteAdded',
      payload: { orderId, text: 'sent to the queue directly' },
      createdAt: new Date().toISOString(),
    };
    await s.sqs.send(
      new SendMessageCommand({
        QueueUrl: s.outputs.AuditQueueUrl,
        MessageBody: JSON.stringify(envelope),
        MessageGroupId: orderId,
        MessageDeduplicationId: envelope.messageId,
      }),
    );

    // THEN the audit group applies it as the key's second entry
    const audit = await eventually(
      'second audit entry',
      async () => {
        const answer = await s.api.getAudit(orderId);
        return answer.body.entries?.length === 2 ? answer : undefined;
      },
      60_000,
    );
    expect(audit.body.entries[1]).toEqual({ sequence: 2, type: 'OrderNoteAdded', position: 2 });

    // AND the entry keeps the message's id: it came through the group's own consumer, not around it
    const items = await s.dynamodb.send(
      new QueryCommand({
        TableName: s.outputs.AuditTableName,
        KeyConditionExpression: 'orderId = :o',
        ExpressionAttributeValues: { ':o': orderId },
      }),
    );
    expect(items.Items?.map((item) => item.messageId)).toContain(envelope.messageId);
  });
});
