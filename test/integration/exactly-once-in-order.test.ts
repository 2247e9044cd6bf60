import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos/chaos-run';
import { AlertSubscriber } from '../../tools/stack/alert-subscriber';
import { replayParkedKey, setFaults } from '../../tools/stack/stack-control';
import { inboxKeys, keyPartition, StorageKey } from '../../tools/storage-keys';
import { eventually, type Stack, stack, uniquePrefix } from './support/aws';

describe('effects exactly once and in order: three strategies, duplicates, reordering, poison keys', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });
  afterEach(async () => {
    await setFaults(s, {});
  });

  it('2,000 messages over 50 keys with duplicated and reordered deliveries: no effect twice, none out of order', async () => {
    // GIVEN duplicate and reordered deliveries — the view (version), inventory (transaction) and notification log
    // (unique) effects each guard themselves — WHEN 2,000 messages are committed
    const report = await runChaos(s, {
      messages: 2000,
      keys: 50,
      concurrency: 10,
      faults: { duplicateDelivery: 0.3, reorderDelivery: 0.5 },
      drainTimeoutMs: 300_000,
      showProgress: false,
    });
    console.log(`[figures] duplicates + reordering: ${JSON.stringify(report)}`);

    // THEN every message was applied once, in order, in all three effects
    expect(report).toMatchObject({
      committed: 2000,
      delivered: 2000,
      lost: 0,
      duplicateEffects: 0,
      orderViolations: 0,
      nonTerminal: 0,
    });
  });

  it('a poison key parks with its later messages while other keys flow; an alert names it; replay applies them in order', async () => {
    // GIVEN an on-call subscriber and a key whose messages always fail
    const subscriber = await AlertSubscriber.create(s, uniquePrefix('parked-alerts'));
    const poisoned = uniquePrefix('poison');
    const healthy = Array.from({ length: 5 }, (_, i) => `${poisoned}-healthy-${i}`);
    await setFaults(s, { poisonKey: poisoned });

    // WHEN the poisoned order and five healthy ones are placed, each with two notes
    for (const orderId of [poisoned, ...healthy]) {
      await s.api.placeOrder({ customerId: 'c', items: [{ sku: `${orderId}-sku`, quantity: 1 }], orderId });
    }
    for (const note of ['one', 'two']) {
      for (const orderId of [poisoned, ...healthy])
        expect((await s.api.addNote(orderId, note)).status).toBe(201);
    }

    // THEN the healthy orders are all applied meanwhile
    for (const orderId of healthy) {
      await eventually(`view of ${orderId}`, async () => {
        const view = await s.api.getView(orderId);
        return view.status === 200 && view.body.version === 3 ? true : undefined;
      });
    }
    // AND after its attempts the poisoned key is parked, alerted, with all three messages stored, none applied: the
    // ones after the first are parked with it, or held behind it when they arrived before it was parked (SQS FIFO
    // keeps them back while the first is in flight; the emulator's SNS-to-SQS deliveries do not) — replay releases both
    const alert = await eventually(
      'the KeyParked alert',
      async () => {
        const received = (await subscriber.receive()) as Array<{ alert?: string; groupKey?: string }>;
        return received.find((a) => a.alert === 'KeyParked' && a.groupKey === poisoned);
      },
      120_000,
    );
    expect(alert).toMatchObject({
      sequence: 1,
      type: 'OrderPlaced',
      error: expect.stringContaining('poison'),
    });
    const storedUnder = async (prefix: string) => {
      const page = await s.dynamodb.send(
        new QueryCommand({
          TableName: s.outputs.InboxTableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
          ExpressionAttributeValues: { ':pk': keyPartition(poisoned), ':prefix': prefix },
          ConsistentRead: true,
        }),
      );
      return (page.Items ?? []).map((item) => Number(JSON.parse(String(item.message)).sequence));
    };
    const kept = await eventually(
      'all three messages kept (parked or held)',
      async () => {
        const parked = await storedUnder(StorageKey.PARKED);
        const held = await storedUnder(StorageKey.HELD);
        return parked.length + held.length === 3 ? { parked, held } : undefined;
      },
      60_000,
    );
    expect(kept.parked).toContain(1);
    expect([...kept.parked, ...kept.held].sort((a, b) => a - b)).toEqual([1, 2, 3]);
    expect((await s.api.getView(poisoned)).status).toBe(404);

    // WHEN the cause is fixed and the key replayed
    await setFaults(s, {});
    const replay = await replayParkedKey(s, poisoned);

    // THEN the parked messages are applied, in order, and the key is unparked
    expect(replay).toMatchObject({ replayed: kept.parked, resent: 1 });
    await eventually('the replayed key applied', async () => {
      const view = await s.api.getView(poisoned);
      return view.status === 200 && view.body.version === 3 ? true : undefined;
    });
    expect((await s.api.getView(poisoned)).body.notes).toEqual(['one', 'two']);
    const cursor = await s.dynamodb.send(
      new GetCommand({ TableName: s.outputs.InboxTableName, Key: inboxKeys.cursor(poisoned) }),
    );
    expect(cursor.Item).toMatchObject({ lastSequence: 3, heldCount: 0 });
    expect(cursor.Item?.parked).toBeUndefined();

    // AND a message arriving after the replay flows normally
    await s.api.addNote(poisoned, 'three');
    await eventually('the next note', async () => {
      const view = await s.api.getView(poisoned);
      return view.body.version === 4 ? true : undefined;
    });
  });
});
