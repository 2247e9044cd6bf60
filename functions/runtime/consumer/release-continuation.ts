import { randomUUID } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageEnvelope } from '../outbox/outbox-message';

/**
 * Continues a bounded release on the next delivery: puts the next held message of the key back on the queue (same
 * group, a deduplication id of its own for every hand-over), so a fresh invocation applies it as the held one and releases the next
 * batch after it. Give it to the consumer as `continueRelease`. A copy that arrives after the chain moved on is a
 * duplicate the cursor absorbs (and it finishes any release left behind).
 */
export function resendToContinue(sqs: SQSClient, queueUrl: string): (next: MessageEnvelope) => Promise<void> {
  return async (next) => {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify(next),
        MessageGroupId: next.groupKey,
        // Unique per hand-over: a second hand-over of the same held message within SQS's 5-minute deduplication
        // window (a delivery that ran out of time before releasing anything) must not be dropped as a duplicate.
        MessageDeduplicationId: `${next.messageId}:continue:${randomUUID()}`,
      }),
    );
  };
}
