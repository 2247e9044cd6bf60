import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Stack } from './aws';

/** A test's own SQS queue subscribed to the stack's alert topic: what an on-call pager would get. */
export class AlertSubscriber {
  private constructor(
    private readonly s: Stack,
    private readonly queueUrl: string,
  ) {}

  static async create(s: Stack, name: string): Promise<AlertSubscriber> {
    const queue = await s.sqs.send(new CreateQueueCommand({ QueueName: name }));
    const queueUrl = queue.QueueUrl!;
    const attributes = await s.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    const sns = new SNSClient({
      endpoint: s.endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    await sns.send(
      new SubscribeCommand({
        TopicArn: s.outputs.AlertTopicArn,
        Protocol: 'sqs',
        Endpoint: attributes.Attributes!.QueueArn!,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    return new AlertSubscriber(s, queueUrl);
  }

  /** Alerts received so far (each a parsed JSON message, or its text), removing them from the queue. */
  async receive(): Promise<unknown[]> {
    const response = await this.s.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: this.queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    return (response.Messages ?? []).map((message) => {
      try {
        return JSON.parse(message.Body ?? '') as unknown;
      } catch {
        return message.Body;
      }
    });
  }
}
