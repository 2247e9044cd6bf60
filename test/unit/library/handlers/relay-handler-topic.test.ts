import { PublishBatchCommand, type PublishBatchCommandInput, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events.fifo';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const dynamodb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);

type Handler = typeof import('../../../../functions/relay/handler').handler;
let handler: Handler;
let written: string[] = [];

beforeAll(async () => {
  vi.stubEnv('OUTBOX_TABLE_NAME', 'outbox');
  // The fan-out pipeline: the topic wins over the channel's queue.
  vi.stubEnv('TOPIC_ARN', TOPIC_ARN);
  vi.stubEnv('QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo');
  ({ handler } = await import('../../../../functions/relay/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  sns.reset();
  dynamodb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  dynamodb.on(UpdateCommand).resolves({});
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});

afterEach(() => {
  vi.restoreAllMocks();
});

function insert(groupKey: string, sequence: number): DynamoDBRecord {
  return {
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: `${groupKey}-${sequence}`,
      Keys: { groupKey: { S: groupKey }, sequence: { N: String(sequence) } },
      NewImage: {
        groupKey: { S: groupKey },
        sequence: { N: String(sequence) },
        messageId: { S: `${groupKey}-${sequence}` },
        type: { S: 'OrderPlaced' },
        payload: { S: '{}' },
        status: { S: 'PENDING' },
        attempts: { N: '0' },
        createdAt: { S: '2026-01-01T00:00:00.000Z' },
        traceparent: { S: TRACEPARENT },
      },
    },
  };
}

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

function relayedLine(): Record<string, unknown> {
  const line = written
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .find((entry) => entry.message === 'relayed');
  if (line === undefined) throw new Error(`no 'relayed' log line in ${written.join('')}`);
  return line;
}

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
    const response = await handler({ Records: [insert('a', 1), insert('b', 1)] }, context);

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
