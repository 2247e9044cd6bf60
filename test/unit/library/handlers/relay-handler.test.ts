import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const dynamodb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

type Handler = typeof import('../../../../functions/relay/handler').handler;
let handler: Handler;
let written: string[] = [];

beforeAll(async () => {
  vi.stubEnv('OUTBOX_TABLE_NAME', 'outbox');
  vi.stubEnv('QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo');
  ({ handler } = await import('../../../../functions/relay/handler'));
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  // The problems' warnings: reported through the counts of the `relayed` line.
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
        traceparent: { S: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01` },
      },
    },
  };
}

const context = { getRemainingTimeInMillis: () => 60_000 } as Context;

/** The handler's `relayed` log line. */
function relayedLine(): Record<string, unknown> {
  const line = written
    .map((text) => JSON.parse(text) as Record<string, unknown>)
    .find((entry) => {
      return entry.message === 'relayed';
    });
  if (line === undefined) throw new Error(`no 'relayed' log line in ${written.join('')}`);
  return line;
}

describe('the relay handler', () => {
  it('sends to the queue without a TOPIC_ARN, and logs each message it sent with its traceparent', async () => {
    // GIVEN
    sqs.on(SendMessageBatchCommand).callsFake((input: { Entries: { Id: string }[] }) => ({
      Successful: input.Entries.map((entry) => ({ Id: entry.Id, MessageId: 'm', MD5OfMessageBody: 'x' })),
      Failed: [],
    }));
    dynamodb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });

    // WHEN
    const response = await handler({ Records: [insert('e', 1)] }, context);

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
    const response = await handler(event, context);

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
    await handler({ Records: [insert('c', 1)] }, context);
    dynamodb
      .reset()
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: 'marked', $metadata: {} }));
    written = [];

    // WHEN
    await handler({ Records: [insert('d', 1)] }, context);

    // THEN
    expect(relayedLine()).toMatchObject({ failed: 1, marked: 0, markFailed: 0 });
  });
});
