import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handlerUnderTest, outboxInsert } from '../support/handler-harness';

const dynamodb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

// The problems' warnings (stderr, silenced): reported through the counts of the `relayed` line.
const relay = handlerUnderTest(
  () => import('../../../../functions/relay/handler'),
  {
    OUTBOX_TABLE_NAME: 'outbox',
    QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo',
  },
  { silenceStderr: true },
);

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
});

const insert = (groupKey: string, sequence: number) =>
  outboxInsert(groupKey, sequence, `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`);

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

/** The handler's `relayed` log line. */
const relayedLine = () => relay.logLine('relayed');

describe('the relay handler', () => {
  it('sends to the queue without a TOPIC_ARN, and logs each message it sent with its traceparent', async () => {
    // GIVEN
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
    dynamodb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });

    // WHEN
    const response = await relay.handler({ Records: [insert('e', 1)] }, context);

    // THEN
    expect(response.batchItemFailures).toEqual([]);
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input.QueueUrl).toBe(
      'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo',
    );
    expect(relayedLine()).toMatchObject({
      destination: 'queue',
      sent: 1,
      messages: [
        { messageId: 'e-1', traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, outcome: 'sent' },
      ],
    });
  });

  it('logs how many messages it could not send it marked for the sweep, and how many marks failed', async () => {
    // GIVEN SQS refusing every entry, and one mark of two failing for good
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: [],
      Failed: input.Entries.map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
    }));
    dynamodb
      .on(UpdateCommand, { Key: { groupKey: 'a', sequence: 1 } })
      .resolves({})
      .on(UpdateCommand, { Key: { groupKey: 'b', sequence: 1 } })
      .rejects(
        Object.assign(new Error('not authorized to perform dynamodb:UpdateItem'), {
          name: 'AccessDeniedException',
        }),
      );
    const event: DynamoDBStreamEvent = { Records: [insert('a', 1), insert('b', 1)] };

    // WHEN
    const response = await relay.handler(event, context);

    // THEN
    expect(response.batchItemFailures).toHaveLength(2);
    expect(relayedLine()).toMatchObject({ records: 2, sent: 0, failed: 2, marked: 1, markFailed: 1 });
  });

  it('counts failed marks per invocation, not since the instance started', async () => {
    // GIVEN an invocation whose marks all fail, then one whose marks find the items marked already
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: [],
      Failed: input.Entries.map((entry) => ({ Id: entry.Id, Code: 'InternalError', SenderFault: false })),
    }));
    dynamodb.on(UpdateCommand).rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await relay.handler({ Records: [insert('c', 1)] }, context);
    dynamodb
      .reset()
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'marked', $metadata: {} }));
    relay.written.length = 0;

    // WHEN
    await relay.handler({ Records: [insert('d', 1)] }, context);

    // THEN
    expect(relayedLine()).toMatchObject({ failed: 1, marked: 0, markFailed: 0 });
  });
});
