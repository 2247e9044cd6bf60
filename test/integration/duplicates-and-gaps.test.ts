import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { inboxKeys } from '../../tools/storage-keys';
import { eventually, queueDepth, type Stack, stack, uniquePrefix } from './support/aws';

interface Envelope {
  messageId: string;
  groupKey: string;
  sequence: number;
  type: string;
  payload: unknown;
  createdAt: string;
}

/** Puts a message on the FIFO queue as the relay would, but with a deduplication id of our choosing. */
async function sendDirect(s: Stack, envelope: Envelope, deduplicationId = randomUUID()): Promise<void> {
  await s.sqs.send(
    new SendMessageCommand({
      QueueUrl: s.outputs.QueueUrl,
      MessageBody: JSON.stringify(envelope),
      MessageGroupId: envelope.groupKey,
      MessageDeduplicationId: deduplicationId,
    }),
  );
}

async function drained(s: Stack): Promise<void> {
  await eventually('the queue to drain', async () => {
    const depth = await queueDepth(s, s.outputs.QueueUrl);
    return depth.visible === 0 && depth.inFlight === 0 ? true : undefined;
  });
}

async function viewAt(s: Stack, orderId: string, version: number) {
  return eventually(`view of ${orderId} at version ${version}`, async () => {
    const response = await s.api.getView(orderId);
    return response.status === 200 && response.body.version === version ? response.body : undefined;
  });
}

describe('the consumer under duplicates and gaps', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });

  it('applies a message delivered twice (past SQS deduplication: a new deduplication id) only once', async () => {
    // GIVEN an order whose OrderPlaced message was applied
    const orderId = uniquePrefix('twice');
    const sku = `${orderId}-sku`;
    const placed = await s.api.placeOrder({ customerId: 'c', items: [{ sku, quantity: 3 }], orderId });
    await viewAt(s, orderId, 1);
    expect((await s.api.getInventory(sku)).body.reserved).toBe(3);

    // WHEN the same message (same messageId) is delivered again, twice
    const envelope: Envelope = {
      messageId: placed.body.messageId,
      groupKey: orderId,
      sequence: 1,
      type: 'OrderPlaced',
      payload: { orderId, customerId: 'c', items: [{ sku, quantity: 3 }] },
      createdAt: new Date().toISOString(),
    };
    await sendDirect(s, envelope);
    await sendDirect(s, envelope);
    await drained(s);

    // THEN the effect is still there once
    expect((await s.api.getInventory(sku)).body.reserved).toBe(3);
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 1, notes: [] });
  });

  it('acknowledges a redelivered message with a new messageId but an old sequence without effect', async () => {
    // GIVEN an order at version 2 in the view
    const orderId = uniquePrefix('stale-seq');
    await s.api.placeOrder({ customerId: 'c', items: [{ sku: `${orderId}-sku`, quantity: 1 }], orderId });
    await s.api.addNote(orderId, 'first');
    await viewAt(s, orderId, 2);

    // WHEN a message with sequence 2 arrives again under another id
    await sendDirect(s, {
      messageId: randomUUID(),
      groupKey: orderId,
      sequence: 2,
      type: 'OrderNoteAdded',
      payload: { orderId, text: 'first (again)' },
      createdAt: new Date().toISOString(),
    });
    await drained(s);

    // THEN nothing changes
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 2, notes: ['first'] });
  });

  it('holds a message that arrives before its predecessor durably, and applies both in order when the gap closes', async () => {
    // GIVEN an order applied at version 1
    const orderId = uniquePrefix('gap');
    await s.api.placeOrder({ customerId: 'c', items: [{ sku: `${orderId}-sku`, quantity: 1 }], orderId });
    await viewAt(s, orderId, 1);
    const note = (sequence: number, text: string): Envelope => ({
      messageId: randomUUID(),
      groupKey: orderId,
      sequence,
      type: 'OrderNoteAdded',
      payload: { orderId, text },
      createdAt: new Date().toISOString(),
    });

    // WHEN sequence 3 arrives first
    await sendDirect(s, note(3, 'third'));
    await drained(s);

    // THEN it is acknowledged but not applied, and kept in the inbox
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 1, notes: [] });
    const held = await s.dynamodb.send(
      new GetCommand({
        TableName: s.outputs.InboxTableName,
        Key: inboxKeys.held(orderId, 3),
      }),
    );
    expect(JSON.parse(String(held.Item?.message))).toMatchObject({ sequence: 3, payload: { text: 'third' } });

    // WHEN the missing sequence 2 arrives
    await sendDirect(s, note(2, 'second'));

    // THEN both are applied, in sequence order, and nothing stays held
    const view = await viewAt(s, orderId, 3);
    expect(view.notes).toEqual(['second', 'third']);
    const after = await s.dynamodb.send(
      new GetCommand({
        TableName: s.outputs.InboxTableName,
        Key: inboxKeys.held(orderId, 3),
      }),
    );
    expect(after.Item).toBeUndefined();
    const cursor = await s.dynamodb.send(
      new GetCommand({ TableName: s.outputs.InboxTableName, Key: inboxKeys.cursor(orderId) }),
    );
    expect(cursor.Item).toMatchObject({ lastSequence: 3, heldCount: 0 });
  });
});
