import { GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { MessageEnvelope } from '../../functions/runtime/outbox/outbox-message';
import type { OpsConnection as Connection } from './connection';

export interface DeadLetter {
  readonly envelope: MessageEnvelope;
  readonly body: string;
  readonly receipt: string;
}

/**
 * Receives every message of the dead-letter queue (each once), hidden for `visibilityTimeoutSeconds`: short for a
 * look (they come back on their own), long for a redrive that deletes them. Stops after two empty receives once it
 * has as many as the queue holds (visible + in flight), or after `patienceMs` for ones still in flight.
 */
export async function receiveDeadLetters(
  c: Connection,
  visibilityTimeoutSeconds: number,
  patienceMs = 5000,
): Promise<DeadLetter[]> {
  const attributes = await c.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: c.outputs.DeadLetterQueueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  const expected =
    Number(attributes.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
  const deadline = Date.now() + patienceMs;
  const received: DeadLetter[] = [];
  for (let empty = 0; received.length < expected + 100; ) {
    if (empty >= 2 && (received.length >= expected || Date.now() > deadline)) break;
    const batch = await c.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: c.outputs.DeadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        VisibilityTimeout: visibilityTimeoutSeconds,
      }),
    );
    if ((batch.Messages ?? []).length === 0) {
      empty++;
      continue;
    }
    for (const message of batch.Messages ?? []) {
      if (received.some((seen) => seen.body === message.Body)) continue; // came back after a short timeout
      let envelope: MessageEnvelope;
      try {
        envelope = JSON.parse(message.Body ?? '') as MessageEnvelope;
      } catch {
        continue; // not an envelope: not ours to move or count
      }
      received.push({ envelope, body: message.Body ?? '', receipt: message.ReceiptHandle! });
    }
  }
  return received.sort((a, b) =>
    a.envelope.groupKey === b.envelope.groupKey
      ? a.envelope.sequence - b.envelope.sequence
      : a.envelope.groupKey < b.envelope.groupKey
        ? -1
        : 1,
  );
}

/** The dead-letter queue's messages, looked at (hidden 2 s, then visible again): key, sequence, messageId. */
export async function peekDeadLetters(
  c: Connection,
): Promise<Array<{ groupKey: string; sequence: number; messageId: string }>> {
  return (await receiveDeadLetters(c, 2, 0)).map(({ envelope }) => ({
    groupKey: envelope.groupKey,
    sequence: envelope.sequence,
    messageId: envelope.messageId,
  }));
}
