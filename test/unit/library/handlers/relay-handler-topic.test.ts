import { PublishBatchCommand, type PublishBatchCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handlerUnderTest, outboxInsert } from '../support/handler-harness';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events.fifo';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const dynamodb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);

const relay = handlerUnderTest(
  () => import('../../../../functions/relay/handler'),
  {
    OUTBOX_TABLE_NAME: 'outbox',
    // The fan-out pipeline: the topic wins over the channel's queue.
    TOPIC_ARN,
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo',
  },
  { silenceStderr: true },
);

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  sns.reset();
  dynamodb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  dynamodb.on(UpdateCommand).resolves({});
});

const insert = (groupKey: string, sequence: number) => outboxInsert(groupKey, sequence, TRACEPARENT);

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

const relayedLine = () => relay.logLine('relayed');

describe('the relay handler with TOPIC_ARN', () => {
  it('publishes to the topic, not the queue, and logs each message with its traceparent', async () => {
    // GIVEN SNS refusing b-1
    sns.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => {
      const entries = input.PublishBatchRequestEntries ?? [];
      return {
        Successful: entries
          .filter((e) => e.MessageGroupId !== 'b')
          .map((e) => ({ Id: e.Id, MessageId: 'm' })),
        Failed: entries
          .filter((e) => e.MessageGroupId === 'b')
          .map((e) => ({ Id: e.Id, Code: 'InternalError', Message: 'no', SenderFault: false })),
      };
    });

    // WHEN
    const response = await relay.handler({ Records: [insert('a', 1), insert('b', 1)] }, context);

    // THEN
    expect(sns.commandCalls(PublishBatchCommand)[0]?.args[0].input.TopicArn).toBe(TOPIC_ARN);
    expect(sqs.calls()).toHaveLength(0);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'b-1' }]);
    expect(relayedLine()).toMatchObject({
      destination: 'topic',
      sent: 1,
      failed: 1,
      messages: [
        { messageId: 'b-1', traceparent: TRACEPARENT, outcome: 'failed', error: 'InternalError: no' },
        { messageId: 'a-1', traceparent: TRACEPARENT, outcome: 'sent' },
      ],
      messagesNotShown: 0,
    });
  });
});
