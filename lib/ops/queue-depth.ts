import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** The queue's approximate depth: messages waiting (visible) and received but not yet deleted (in flight). */
export async function queueDepth(
  s: { readonly sqs: SQSClient },
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
  const response = await s.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(response.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(response.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
