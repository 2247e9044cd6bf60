import { SNSClient, SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import type { Connection } from './stack-control';

/** A queue of its own subscribed to the stack's alert topic: what an on-call pager would receive. */
export class AlertSubscriber {
  private constructor(
    private readonly c: Connection,
    private readonly queueUrl: string,
  ) {}

  static async create(c: Connection, name: string): Promise<AlertSubscriber> {
    const queue = await c.sqs.send(new CreateQueueCommand({ QueueName: name }));
    const queueUrl = queue.QueueUrl!;
    const attributes = await c.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );
    await new SNSClient(c.config).send(
      new SubscribeCommand({
        TopicArn: c.outputs.AlertTopicArn,
        Protocol: 'sqs',
        Endpoint: attributes.Attributes!.QueueArn!,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    return new AlertSubscriber(c, queueUrl);
  }

  /** Alerts received so far (each parsed from JSON, or its text), removed from the queue as they are read. */
  async receive(): Promise<unknown[]> {
    const response = await this.c.sqs.send(
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

  /** Every alert waiting now. */
  async drain(): Promise<unknown[]> {
    const all: unknown[] = [];
    for (;;) {
      const batch = await this.receive();
      if (batch.length === 0) return all;
      all.push(...batch);
    }
  }
}
