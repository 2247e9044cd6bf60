import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  type BatchResultErrorEntry,
  PublishBatchCommand,
  type PublishBatchCommandInput,
  type PublishBatchCommandOutput,
  SNSClient,
} from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../../../functions/runtime/errors';
import { type OutboxItem, parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import {
  type DestinationEntry,
  queueDestination,
  topicDestination,
} from '../../../../functions/runtime/relay/message-destination';
import {
  OutboxPublisher,
  type OutboxPublisherOptions,
  type RelayProblem,
  type RelayResult,
} from '../../../../functions/runtime/relay/outbox-publisher';
import type { RelayCandidate } from '../../../../functions/runtime/relay/stream-records';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events.fifo';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const OUTBOX_TABLE = 'outbox-table';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);
const ddb = mockClient(DynamoDBDocumentClient);

function candidate(
  groupKey: string,
  sequence: number,
  payload: unknown = { groupKey, sequence },
): RelayCandidate {
  const item: OutboxItem = {
    groupKey,
    sequence,
    messageId: `msg-${groupKey}-${sequence}`,
    type: sequence === 1 ? 'OrderPlaced' : 'OrderNoteAdded',
    payload: JSON.stringify(payload),
    status: 'PENDING',
    attempts: 0,
    createdAt: '2026-03-01T12:00:00.000Z',
    traceparent: TRACEPARENT,
  };
  return { recordId: `record-${groupKey}-${sequence}`, item };
}

const ids = (candidates: readonly RelayCandidate[]) => candidates.map((c) => c.item.messageId);

function topicRelay(problems: RelayProblem[] = [], results: RelayResult[] = []): OutboxPublisher {
  return new OutboxPublisher({
    destination: topicDestination(new SNSClient({ region: 'us-east-1' }), TOPIC_ARN),
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    outboxTableName: OUTBOX_TABLE,
    onProblem: (problem) => problems.push(problem),
    onRelayed: (result) => results.push(result),
  });
}

/** SNS accepts every entry except those whose deduplication id (= messageId) is listed. */
function snsRejecting(...rejected: string[]) {
  return (input: PublishBatchCommandInput): PublishBatchCommandOutput => {
    const entries = input.PublishBatchRequestEntries ?? [];
    const refused = (id: string | undefined) => rejected.includes(id ?? '');
    return {
      $metadata: {},
      Successful: entries
        .filter((e) => !refused(e.MessageDeduplicationId))
        .map((e) => ({ Id: e.Id, MessageId: `sns-${e.Id}`, SequenceNumber: '1' })),
      Failed: entries
        .filter((e) => refused(e.MessageDeduplicationId))
        .map((e) => ({ Id: e.Id, Code: 'InternalError', Message: 'try again', SenderFault: false })),
    };
  };
}

const published = () => sns.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
const publishedIds = () =>
  published().map((batch) => (batch.PublishBatchRequestEntries ?? []).map((e) => e.MessageDeduplicationId));

beforeEach(() => {
  sns.reset();
  sqs.reset();
  ddb.reset();
  sns.on(PublishBatchCommand).callsFake(snsRejecting());
  ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  ddb.on(UpdateCommand).resolves({});
});

describe('OutboxPublisher over an SNS FIFO topic', () => {
  it('publishes each message with MessageGroupId = groupKey, MessageDeduplicationId = messageId, the envelope, and its type as attribute', async () => {
    // GIVEN
    const relay = topicRelay();

    // WHEN
    await relay.relay([candidate('order-1', 1, { orderId: 'order-1' })]);

    // THEN
    const [batch] = published();
    expect(batch?.TopicArn).toBe(TOPIC_ARN);
    const entry = batch?.PublishBatchRequestEntries?.[0];
    expect(entry).toMatchObject({
      Id: '0',
      MessageGroupId: 'order-1',
      MessageDeduplicationId: 'msg-order-1-1',
      MessageAttributes: { type: { DataType: 'String', StringValue: 'OrderPlaced' } },
    });
    expect(parseEnvelope(entry?.Message ?? '')).toEqual({
      messageId: 'msg-order-1-1',
      groupKey: 'order-1',
      sequence: 1,
      type: 'OrderPlaced',
      payload: { orderId: 'order-1' },
      createdAt: '2026-03-01T12:00:00.000Z',
      traceparent: TRACEPARENT,
    });
    expect(sqs.calls()).toHaveLength(0);
  });

  it("publishes at most 10 messages per PublishBatch, each key's in stream order, and deletes the sent ones", async () => {
    // GIVEN
    const candidates = Array.from({ length: 23 }, (_, index) => candidate(`key-${index % 4}`, index + 1));

    // WHEN
    const result = await topicRelay().relay(candidates);

    // THEN
    expect(publishedIds().map((batch) => batch.length)).toEqual([10, 10, 3]);
    for (const key of ['key-0', 'key-1', 'key-2', 'key-3']) {
      const ofKey = ids(candidates.filter((c) => c.item.groupKey === key));
      expect(
        publishedIds()
          .flat()
          .filter((id) => id !== undefined && ofKey.includes(id)),
      ).toEqual(ofKey);
    }
    expect(ids(result.sent).sort()).toEqual(ids(candidates).sort());
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(1);
  });

  it('starts a new PublishBatch before the messages would pass 250 KiB', async () => {
    // GIVEN
    const big = 'x'.repeat(100 * 1024);
    const candidates = [candidate('a', 1, big), candidate('a', 2, big), candidate('a', 3, big)];

    // WHEN
    await topicRelay().relay(candidates);

    // THEN
    expect(publishedIds()).toEqual([['msg-a-1', 'msg-a-2'], ['msg-a-3']]);
  });

  it("reads every entry of Failed[]: a failed message is not sent, nor are its key's later ones, though SNS took them", async () => {
    // GIVEN SNS refuses a1 and b2 and takes the rest
    const problems: RelayProblem[] = [];
    sns.on(PublishBatchCommand).callsFake(snsRejecting('msg-a-1', 'msg-b-2'));
    const candidates = [
      candidate('a', 1),
      candidate('b', 1),
      candidate('a', 2),
      candidate('b', 2),
      candidate('c', 1),
    ];

    // WHEN
    const result = await topicRelay(problems).relay(candidates);

    // THEN
    expect(ids(result.sent)).toEqual(['msg-b-1', 'msg-c-1']);
    expect(result.failures.map((f) => [f.candidate.item.messageId, f.error])).toEqual([
      ['msg-a-1', 'InternalError: try again'],
      ['msg-a-2', 'not sent: an earlier message of its key failed'],
      ['msg-b-2', 'InternalError: try again'],
    ]);
    // what was not sent is marked for the sweep
    expect(result.marked).toBe(3);
    expect(problems.map((p) => p.kind)).toEqual(['send-failed', 'blocked-behind-failure', 'send-failed']);
  });

  it("does not publish a failed key's later messages in later rounds, but publishes the other keys", async () => {
    // GIVEN key a has 11 messages (two rounds), z one; SNS refuses a1
    sns.on(PublishBatchCommand).callsFake(snsRejecting('msg-a-1'));
    const ofA = Array.from({ length: 11 }, (_, index) => candidate('a', index + 1));

    // WHEN
    const result = await topicRelay().relay([...ofA, candidate('z', 1)]);

    // THEN
    expect(publishedIds().flat()).not.toContain('msg-a-11');
    expect(ids(result.sent)).toEqual(['msg-z-1']);
    expect(ids(result.failed)).toEqual(ids(ofA));
  });

  it('counts an entry SNS confirmed neither as successful nor as failed as not sent', async () => {
    // GIVEN
    sns
      .on(PublishBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'x', SequenceNumber: '1' }], Failed: [] });

    // WHEN
    const result = await topicRelay().relay([candidate('a', 1), candidate('b', 1)]);

    // THEN
    expect(ids(result.sent)).toEqual(['msg-a-1']);
    expect(result.failures.map((f) => f.error)).toEqual(['not confirmed by PublishBatch']);
  });

  it('fails every message of a batch whose PublishBatch threw, with the error', async () => {
    // GIVEN a deterministic error
    sns
      .on(PublishBatchCommand)
      .rejects(Object.assign(new Error('no such topic'), { name: 'NotFoundException' }));

    // WHEN
    const result = await topicRelay().relay([candidate('a', 1), candidate('b', 1)]);

    // THEN
    expect(result.sent).toEqual([]);
    expect(result.failures.map((f) => f.error)).toEqual([
      'NotFoundException: no such topic',
      'NotFoundException: no such topic',
    ]);
    expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(0);
  });

  it('tells onRelayed the outcome of every call', async () => {
    // GIVEN
    const results: RelayResult[] = [];
    sns.on(PublishBatchCommand).callsFake(snsRejecting('msg-b-1'));

    // WHEN
    const result = await topicRelay([], results).relay([candidate('a', 1), candidate('b', 1)]);

    // THEN
    expect(results).toEqual([result]);
  });
});

describe('OutboxPublisher destinations', () => {
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

  it('sends to the queue given as sqs and queueUrl, as before topics', async () => {
    // GIVEN
    sqs
      .on(SendMessageBatchCommand)
      .resolves({ Successful: [{ Id: '0', MessageId: 'm', MD5OfMessageBody: 'x' }] });
    const relay = new OutboxPublisher({
      sqs: new SQSClient({ region: 'us-east-1' }),
      queueUrl: QUEUE_URL,
      dynamodb,
      outboxTableName: OUTBOX_TABLE,
    });

    // WHEN
    const result = await relay.relay([candidate('a', 1)]);

    // THEN
    expect(relay.destination).toMatchObject({ kind: 'queue', address: QUEUE_URL });
    expect(ids(result.sent)).toEqual(['msg-a-1']);
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: QUEUE_URL,
      Entries: [
        {
          Id: '0',
          MessageGroupId: 'a',
          MessageDeduplicationId: 'msg-a-1',
          MessageAttributes: { type: { DataType: 'String', StringValue: 'OrderPlaced' } },
        },
      ],
    });
    expect(sns.calls()).toHaveLength(0);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    [
      'neither a destination nor a queue',
      {},
      /give `destination`, or both `sqs` and a `queueUrl`; got sqs unset, queueUrl undefined/,
    ],
    ['a queue client without its URL', { sqs: new SQSClient({}) }, /got sqs set, queueUrl undefined/],
    ['an empty queue URL', { sqs: new SQSClient({}), queueUrl: '' }, /got sqs set, queueUrl ""/],
    [
      'a destination and a queue',
      {
        destination: topicDestination(new SNSClient({}), TOPIC_ARN),
        sqs: new SQSClient({}),
        queueUrl: QUEUE_URL,
      },
      /either `destination` or `sqs` with `queueUrl`, not both/,
    ],
  ])('fails if given %s', (_, options, message) => {
    const construct = () =>
      new OutboxPublisher({
        ...options,
        dynamodb,
        outboxTableName: OUTBOX_TABLE,
      } as unknown as OutboxPublisherOptions);
    expect(construct).toThrow(ConfigurationError);
    expect(construct).toThrow(message);
  });
});

describe('queueDestination and topicDestination', () => {
  const entry: DestinationEntry = {
    Id: '0',
    MessageBody: '{"a":1}',
    MessageGroupId: 'g',
    MessageDeduplicationId: 'd',
    MessageAttributes: { type: { DataType: 'String', StringValue: 'T' } },
  };

  it('gives a topic the entry with its body as Message, and reads Successful[] and Failed[]', async () => {
    // GIVEN
    sns.on(PublishBatchCommand).resolves({
      Successful: [{ Id: '0' }],
      Failed: [
        { Id: '1', Code: 'InvalidParameter', SenderFault: true },
        { Code: 'NoId', SenderFault: false } as BatchResultErrorEntry,
      ],
    });

    // WHEN
    const result = await topicDestination(new SNSClient({ region: 'us-east-1' }), TOPIC_ARN).publishBatch([
      entry,
      { ...entry, Id: '1', MessageAttributes: undefined },
    ]);

    // THEN a failure without a message gets an empty one; one without an id cannot be told apart and is left out
    expect(published()[0]?.PublishBatchRequestEntries).toEqual([
      {
        Id: '0',
        Message: '{"a":1}',
        MessageGroupId: 'g',
        MessageDeduplicationId: 'd',
        MessageAttributes: { type: { DataType: 'String', StringValue: 'T' } },
      },
      { Id: '1', Message: '{"a":1}', MessageGroupId: 'g', MessageDeduplicationId: 'd' },
    ]);
    expect(result).toEqual({ accepted: ['0'], failed: [{ id: '1', code: 'InvalidParameter', message: '' }] });
  });

  it('gives a queue the entry as it is, and answers Failed[] with the code Failed when SQS gave none', async () => {
    // GIVEN
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', SenderFault: false, Code: undefined, Message: 'no' }],
    });

    // WHEN
    const result = await queueDestination(new SQSClient({ region: 'us-east-1' }), QUEUE_URL).publishBatch([
      entry,
    ]);

    // THEN
    expect(sqs.commandCalls(SendMessageBatchCommand)[0]?.args[0].input).toEqual({
      QueueUrl: QUEUE_URL,
      Entries: [entry],
    });
    expect(result).toEqual({ accepted: [], failed: [{ id: '0', code: 'Failed', message: 'no' }] });
  });

  it('answers nothing accepted and nothing failed when the service answered neither list', async () => {
    sns.on(PublishBatchCommand).resolves({});
    const result = await topicDestination(new SNSClient({ region: 'us-east-1' }), TOPIC_ARN).publishBatch([
      entry,
    ]);
    expect(result).toEqual({ accepted: [], failed: [] });
  });
});
