import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Stack, stack, uniquePrefix } from './support/aws';

describe('releasing a long held chain', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });

  it('applies 250 messages held behind a missing one, in order, 100 per delivery, continued through the queue', async () => {
    // GIVEN an order at version 1, and its notes 3 … 252 delivered before note 2 (held: a gap)
    const orderId = uniquePrefix('chain');
    await s.api.placeOrder({ customerId: 'c', items: [{ sku: `${orderId}-sku`, quantity: 1 }], orderId });
    await eventually('the order applied', async () =>
      (await s.api.getView(orderId)).status === 200 ? true : undefined,
    );
    const note = (sequence: number) => ({
      messageId: randomUUID(),
      groupKey: orderId,
      sequence,
      type: 'OrderNoteAdded',
      payload: { orderId, text: `note ${sequence}` },
      createdAt: new Date().toISOString(),
    });
    const send = async (sequences: readonly number[]) => {
      for (let start = 0; start < sequences.length; start += 10) {
        await s.sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: s.outputs.QueueUrl,
            Entries: sequences.slice(start, start + 10).map((sequence, i) => {
              const envelope = note(sequence);
              return {
                Id: String(i),
                MessageBody: JSON.stringify(envelope),
                MessageGroupId: orderId,
                MessageDeduplicationId: envelope.messageId,
              };
            }),
          }),
        );
      }
    };
    await send(Array.from({ length: 250 }, (_, i) => i + 3));

    // WHEN the missing note arrives
    await send([2]);

    // THEN the whole chain is applied, in order (the consumer releases 100 per delivery and re-sends the next)
    const view = await eventually(
      'the view at version 252',
      async () => {
        const response = await s.api.getView(orderId);
        return response.status === 200 && response.body.version === 252 ? response.body : undefined;
      },
      180_000,
    );
    expect(view.notes).toEqual(Array.from({ length: 251 }, (_, i) => `note ${i + 2}`));
  }, 240_000);
});
