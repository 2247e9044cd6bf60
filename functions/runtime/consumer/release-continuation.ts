import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { MessageEnvelope } from '../outbox/outbox-message';

/**
 * Continues a bounded release on the next delivery: puts the next held message of the key back on the queue (same
 * group, a deduplication id of its own), so a fresh invocation applies it as the held one and releases the next
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
        MessageDeduplicationId: `${next.messageId}:continue`,
      }),
    );
  };
}
