import { randomUUID } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import type { Connection } from '../../tools/stack/stack-control';

/**
 * The emulator's own FIFO ceiling: SendMessageBatch, ReceiveMessage and DeleteMessageBatch of `messages` messages
 * over 10 groups on a fresh queue, with no Lambda in the way. Returns messages per second through the whole cycle.
 */
export async function rawFifoRate(c: Connection, messages: number): Promise<number> {
  const queue = await c.sqs.send(
    new CreateQueueCommand({
      QueueName: `bench-raw-${randomUUID().slice(0, 8)}.fifo`,
      Attributes: { FifoQueue: 'true' },
    }),
  );
  const queueUrl = queue.QueueUrl!;
  try {
    const started = Date.now();
    for (let sent = 0; sent < messages; sent += 10) {
      const count = Math.min(10, messages - sent);
      await c.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: Array.from({ length: count }, (_, i) => ({
            Id: String(i),
            MessageBody: JSON.stringify({ n: sent + i, padding: 'x'.repeat(200) }),
            MessageGroupId: `group-${(sent + i) % 10}`,
            MessageDeduplicationId: `${sent + i}`,
          })),
        }),
      );
    }
    let received = 0;
    while (received < messages) {
      const batch = await c.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const entries = (batch.Messages ?? []).map((m, i) => ({
        Id: String(i),
        ReceiptHandle: m.ReceiptHandle!,
      }));
      if (entries.length === 0) continue;
      await c.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
      received += entries.length;
    }
    return messages / ((Date.now() - started) / 1000);
  } finally {
    await c.sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  }
}
