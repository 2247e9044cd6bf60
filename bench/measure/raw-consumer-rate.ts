import { randomUUID } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { forEachConcurrently } from 'reliable-messaging-serverless/runtime/bench-support';
import type { Connection } from '../../tools/stack/stack-control';

/**
 * `rawConsumerPerSecond`: `messages` messages over `groups` message groups sent with SendMessageBatch (10 a request,
 * `concurrency` requests at a time) to the RawConsumerProbe's FIFO queue, whose event source mapping invokes a
 * trivial function with the lean consumer's batch size and concurrency. Messages per second from the first send to
 * the queue's being empty (nothing visible, nothing in flight): the ceiling of any consumer on this machine, which
 * the lean pipeline's end-to-end rate is compared with.
 */
export async function rawConsumerRate(
  c: Connection,
  messages: number,
  groups: number,
  concurrency: number,
  timeoutMs = 600_000,
): Promise<number> {
  const queueUrl = c.outputs.RawConsumerQueueUrl;
  if (queueUrl === undefined) {
    throw new Error('the stack has no raw consumer probe: deploy it to the emulator with `npm start`');
  }
  const run = randomUUID().slice(0, 8);
  const started = Date.now();
  const batches = Array.from({ length: Math.ceil(messages / 10) }, (_, b) => b);
  await forEachConcurrently(batches, concurrency, async (b) => {
    const first = b * 10;
    const count = Math.min(10, messages - first);
    const answer = await c.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: Array.from({ length: count }, (_, i) => ({
          Id: String(i),
          MessageBody: JSON.stringify({ n: first + i, padding: 'x'.repeat(200) }),
          MessageGroupId: `raw-${run}-${(first + i) % groups}`,
          MessageDeduplicationId: `${run}-${first + i}`,
        })),
      }),
    );
    if ((answer.Failed ?? []).length > 0) {
      throw new Error(`SendMessageBatch to the raw consumer queue failed: ${JSON.stringify(answer.Failed)}`);
    }
  });
  const deadline = started + timeoutMs;
  for (;;) {
    const { Attributes: attributes = {} } = await c.sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
      }),
    );
    const left =
      Number(attributes.ApproximateNumberOfMessages ?? 0) +
      Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0);
    if (left === 0) break;
    if (Date.now() > deadline) {
      throw new Error(`raw consumer: ${left} messages not drained within ${timeoutMs / 1000} s`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return messages / ((Date.now() - started) / 1000);
}
