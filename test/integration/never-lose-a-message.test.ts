import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { retryFailed } from '../../functions/runtime/sweeper/outbox-repair';
import { AlertSubscriber } from '../../tools/stack/alert-subscriber';
import { setFaults, sweepNow } from '../../tools/stack/stack-control';
import { inboxKeys } from '../../tools/storage-keys';
import { eventually, outboxItems, queueDepth, type Stack, stack, uniquePrefix } from './support/aws';
import { queueDrained } from './support/drain';

/** The test stack's sweeper leaves messages younger than this to the relay (bin/app.ts, faults profile). */
const GRACE_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function viewAt(s: Stack, orderId: string, version: number, timeoutMs = 60_000) {
  return eventually(
    `view of ${orderId} at version ${version}`,
    async () => {
      const response = await s.api.getView(orderId);
      return response.status === 200 && response.body.version === version ? response.body : undefined;
    },
    timeoutMs,
  );
}

/** Sweeps every 1.5 s until `done` holds. */
async function sweepUntil(
  s: Stack,
  what: string,
  done: () => Promise<boolean>,
  timeoutMs = 90_000,
): Promise<void> {
  await eventually(
    what,
    async () => {
      if (await done()) return true;
      await sweepNow(s);
      await sleep(1500);
      return (await done()) ? true : undefined;
    },
    timeoutMs,
  );
}

describe('no message is lost: relay faults, sweeper, FAILED + alert, repair', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });
  afterEach(async () => {
    await setFaults(s, {});
  });

  it('relay crash after send, before delete → the effect happens once and the outbox ends empty', async () => {
    // GIVEN a relay that crashes after every send, before deleting what it sent
    await setFaults(s, { relayCrashAfterSend: 1 });
    const orderId = uniquePrefix('crash-relay');
    const sku = `${orderId}-sku`;

    // WHEN an order is placed
    await s.api.placeOrder({ customerId: 'c', items: [{ sku, quantity: 2 }], orderId });

    // THEN the message reaches the consumer while its outbox item is still there (the delete never ran)
    await viewAt(s, orderId, 1);
    expect(await outboxItems(s, orderId)).toHaveLength(1);

    // WHEN the relay stops crashing (its retries re-send the same messageId)
    await setFaults(s, {});

    // THEN the outbox empties and the effect is still there once
    await eventually('the outbox to empty', async () =>
      (await outboxItems(s, orderId)).length === 0 ? true : undefined,
    );
    await eventually('the queue to drain', async () => {
      const depth = await queueDepth(s, s.outputs.QueueUrl);
      return depth.visible + depth.inFlight === 0 ? true : undefined;
    });
    expect((await s.api.getInventory(sku)).body.reserved).toBe(2);
    expect((await s.api.getView(orderId)).body.version).toBe(1);
  });

  it('30% of SendMessageBatch entries in Failed[] → every message delivered, each order in sequence order', async () => {
    // GIVEN SQS failing 30% of the entries of every batch, for the relay and the sweeper alike
    await setFaults(s, { sendFailureRate: 0.3 });
    const prefix = uniquePrefix('failed30');
    const orders = Array.from({ length: 12 }, (_, i) => ({
      orderId: `${prefix}-${i}`,
      notes: ['a', 'b', 'c', 'd', 'e'],
    }));

    // WHEN 12 orders with 5 notes each are committed
    await Promise.all(
      orders.map(async (order) => {
        await s.api.placeOrder({
          customerId: 'c',
          items: [{ sku: `${prefix}-sku`, quantity: 1 }],
          orderId: order.orderId,
        });
        for (const note of order.notes) expect((await s.api.addNote(order.orderId, note)).status).toBe(201);
      }),
    );
    // THEN the relay could not send some of them: they wait in the outbox
    let unsent = 0;
    for (const order of orders) unsent += (await outboxItems(s, order.orderId)).length;
    expect(unsent).toBeGreaterThan(0);

    // WHEN the sweeper takes over what the relay could not send, first still under the fault
    await sleep(GRACE_MS);
    await sweepNow(s);
    await setFaults(s, {});
    await sweepUntil(s, 'every message delivered', async () => {
      for (const order of orders) if ((await outboxItems(s, order.orderId)).length > 0) return false;
      return true;
    });

    // THEN every view is complete, its notes in commit order, and the inventory counted each order once
    for (const order of orders) {
      const view = await viewAt(s, order.orderId, 6);
      expect(view.notes).toEqual(order.notes);
    }
    expect((await s.api.getInventory(`${prefix}-sku`)).body.reserved).toBe(orders.length);
  });

  it('a stream record the relay never processed → the sweeper delivers its message', async () => {
    // GIVEN a relay that drops every stream record unprocessed
    await setFaults(s, { relaySkipRecord: 1 });
    const orderId = uniquePrefix('skipped');

    // WHEN an order is placed
    const placed = await s.api.placeOrder({
      customerId: 'c',
      items: [{ sku: `${orderId}-sku`, quantity: 1 }],
      orderId,
    });
    await queueDrained(s);

    // THEN nothing was delivered, and the message waits in the outbox, PENDING
    expect((await s.api.getView(orderId)).status).toBe(404);
    expect(await outboxItems(s, orderId)).toEqual([
      expect.objectContaining({ status: 'PENDING', messageId: placed.body.messageId }),
    ]);

    // WHEN the grace period has passed and the sweeper runs
    await setFaults(s, {});
    await sleep(GRACE_MS);
    await sweepUntil(
      s,
      'the skipped message swept',
      async () => (await outboxItems(s, orderId)).length === 0,
    );

    // THEN the message is delivered, with its original messageId
    await viewAt(s, orderId, 1);
    const record = await s.dynamodb.send(
      new GetCommand({
        TableName: s.outputs.InboxTableName,
        Key: inboxKeys.effect(placed.body.messageId, 'notifications'),
      }),
    );
    expect(record.Item).toMatchObject({ status: 'COMPLETED', groupKey: orderId });
  });

  it('consumer crash after the effect, before the ack → redelivered, and the effect stays once', async () => {
    // GIVEN a consumer that crashes after every effect, before acknowledging
    await setFaults(s, { consumerCrashAfterEffect: 1 });
    const orderId = uniquePrefix('crash-consumer');
    const sku = `${orderId}-sku`;

    // WHEN an order is placed and its effect applied
    await s.api.placeOrder({ customerId: 'c', items: [{ sku, quantity: 5 }], orderId });
    await viewAt(s, orderId, 1);

    // THEN the message was not acknowledged: it is in flight until its visibility timeout ends
    expect((await queueDepth(s, s.outputs.QueueUrl)).inFlight).toBe(1);
    await setFaults(s, {});

    // THEN the unacknowledged message comes back after the visibility timeout and is acknowledged without effect
    await eventually(
      'the redelivered message to be acknowledged',
      async () => {
        const depth = await queueDepth(s, s.outputs.QueueUrl);
        return depth.visible + depth.inFlight === 0 ? true : undefined;
      },
      90_000,
    );
    expect((await s.api.getInventory(sku)).body.reserved).toBe(5);
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 1 });
  });

  it('queue unreachable until attempts run out → FAILED, kept, alerted on SNS; after repair → delivered', async () => {
    // GIVEN an on-call subscriber to the alert topic, and a queue nobody can reach
    const subscriber = await AlertSubscriber.create(s, uniquePrefix('alerts'));
    await setFaults(s, { queueUnreachable: true });
    const orderId = uniquePrefix('unreachable');

    // WHEN an order is placed and the sweeper keeps trying
    const placed = await s.api.placeOrder({
      customerId: 'c',
      items: [{ sku: `${orderId}-sku`, quantity: 1 }],
      orderId,
    });
    await sleep(GRACE_MS);
    await sweepUntil(s, 'the message to become FAILED', async () => {
      const [item] = await outboxItems(s, orderId);
      return item?.status === 'FAILED';
    });

    // THEN it is FAILED — still in the outbox with its attempts and last error — and an alert names it
    const [failed] = await outboxItems(s, orderId);
    expect(failed).toMatchObject({
      status: 'FAILED',
      messageId: placed.body.messageId,
      attempts: 4,
      lastError: expect.stringContaining('unreachable'),
    });
    const alerts = await eventually('an alert about the message', async () => {
      const received = await subscriber.receive();
      const mine = received.filter(
        (alert) =>
          typeof alert === 'object' &&
          alert !== null &&
          (alert as { messageId?: string }).messageId === placed.body.messageId,
      );
      return mine.length > 0 ? mine : undefined;
    });
    expect(alerts[0]).toMatchObject({
      alert: 'OutboxMessageFailed',
      groupKey: orderId,
      sequence: 1,
      attempts: 4,
    });
    expect((await s.api.getView(orderId)).status).toBe(404);

    // WHEN the queue is back and the operator repairs the failed messages
    await setFaults(s, {});
    const retried = await retryFailed(s.dynamodb, s.outputs.OutboxTableName, { groupKey: orderId });
    expect(retried.map((item) => item.messageId)).toEqual([placed.body.messageId]);
    await sweepUntil(
      s,
      'the repaired message to be sent',
      async () => (await outboxItems(s, orderId)).length === 0,
    );

    // THEN it is delivered
    await viewAt(s, orderId, 1);
  });
});
