import { PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { OutboxItem } from '../../../../functions/runtime/outbox/outbox-message';
import { unsentMessageAttributes } from '../../../../functions/runtime/outbox/unsent-index';
import { handlerUnderTest } from '../support/handler-harness';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events.fifo';
const ALERT_TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:alerts';
const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const dynamodb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const sns = mockClient(SNSClient);

const sweeper = handlerUnderTest(
  () => import('../../../../functions/sweeper/handler'),
  {
    OUTBOX_TABLE_NAME: 'outbox',
    // The fan-out pipeline: no channel queue, only the events topic.
    TOPIC_ARN,
    ALERT_TOPIC_ARN,
    SWEEP_AUDIT_INTERVAL_SECONDS: '0',
    METRICS_STACK_NAME: 'Shop',
  },
  { silenceStderr: true },
);

/** A message the relay could not send an hour ago, in the sweep's index. */
const unsent: OutboxItem = {
  groupKey: 'order-1',
  sequence: 1,
  messageId: 'msg-order-1-1',
  type: 'OrderPlaced',
  payload: '{}',
  status: 'PENDING',
  attempts: 0,
  createdAt: new Date(Date.now() - 3_600_000).toISOString(),
  traceparent: TRACEPARENT,
  ...unsentMessageAttributes('order-1', 1),
};

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  sns.reset();
  dynamodb.on(ScanCommand).resolves({ Items: [], ScannedCount: 0 });
  dynamodb.on(QueryCommand).resolves({ Items: [] });
  dynamodb
    .on(QueryCommand, { ExpressionAttributeValues: { ':shard': unsent.sweepShard } })
    .resolves({ Items: [unsent] });
  dynamodb.on(UpdateCommand).callsFake((input: { ExpressionAttributeValues: Record<string, unknown> }) => ({
    Attributes: { ...unsent, attempts: 1, writeToken: input.ExpressionAttributeValues[':writeToken'] },
  }));
  dynamodb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  sns.on(PublishBatchCommand).callsFake((input: { PublishBatchRequestEntries: { Id: string }[] }) => ({
    Successful: input.PublishBatchRequestEntries.map((entry) => ({ Id: entry.Id, MessageId: 'm' })),
    Failed: [],
  }));
});

describe('the sweeper handler with TOPIC_ARN', () => {
  it('re-sends to the topic, not a queue, and logs the batch with each message and its traceparent', async () => {
    // WHEN
    const report = await sweeper.handler(undefined, { getRemainingTimeInMillis: () => 60_000 });

    // THEN
    expect(report.resent).toBe(1);
    const [batch] = sns.commandCalls(PublishBatchCommand).map((call) => call.args[0].input);
    expect(batch?.TopicArn).toBe(TOPIC_ARN);
    expect(batch?.PublishBatchRequestEntries?.map((entry) => entry.MessageDeduplicationId)).toEqual([
      'msg-order-1-1',
    ]);
    expect(sqs.calls()).toHaveLength(0);
    expect(sns.commandCalls(PublishCommand)).toHaveLength(0);
    expect(sweeper.logLine('resent')).toMatchObject({
      destination: 'topic',
      sent: 1,
      failed: 0,
      messages: [{ messageId: 'msg-order-1-1', traceparent: TRACEPARENT, outcome: 'sent' }],
    });
  });
});
