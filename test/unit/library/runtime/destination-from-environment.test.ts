import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../functions/runtime/errors';
import { senderFromEnvironment } from '../../../../functions/runtime/relay/destination-from-environment';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events.fifo';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo';

describe('senderFromEnvironment', () => {
  it('publishes to the topic when TOPIC_ARN is set, even with a QUEUE_URL', () => {
    const sender = senderFromEnvironment({ TOPIC_ARN, QUEUE_URL });
    expect(sender.kind).toBe('topic');
    expect(sender.client).toBeInstanceOf(SNSClient);
    expect(sender.destination).toMatchObject({
      kind: 'topic',
      address: TOPIC_ARN,
      operation: 'PublishBatch',
    });
  });

  it('sends to the queue without a TOPIC_ARN, or with an empty one', () => {
    for (const env of [{ QUEUE_URL }, { TOPIC_ARN: '', QUEUE_URL }]) {
      const sender = senderFromEnvironment(env);
      expect(sender.kind).toBe('queue');
      expect(sender.client).toBeInstanceOf(SQSClient);
      expect(sender.destination).toMatchObject({
        kind: 'queue',
        address: QUEUE_URL,
        operation: 'SendMessageBatch',
      });
    }
  });

  it('fails if neither is set', () => {
    for (const env of [{}, { TOPIC_ARN: '', QUEUE_URL: '' }]) {
      expect(() => senderFromEnvironment(env)).toThrow(ConfigurationError);
      expect(() => senderFromEnvironment(env)).toThrow(
        'environment variable TOPIC_ARN or QUEUE_URL is required but neither is set',
      );
    }
  });
});
