import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RESOURCE_ROLE_METADATA } from '../../../../lib/constructs/resource-roles';
import type { DeployedStack } from '../../../../lib/testing/deployed-stack';
import { pipelineBacklog } from '../../../../lib/testing/messages-settled';

const dynamodb = mockClient(DynamoDBClient);
const sqs = mockClient(SQSClient);

const withRole = (physicalId: string, role: string) => ({
  logicalId: physicalId,
  physicalId,
  type: 'AWS::DynamoDB::Table',
  constructPath: undefined,
  metadata: { [RESOURCE_ROLE_METADATA]: role },
});

const stack: DeployedStack = {
  stackName: 'Shop',
  endpoint: 'http://127.0.0.1:4566',
  region: 'us-east-1',
  outputs: {},
  resources: [withRole('outbox', 'outbox-table'), withRole('inbox', 'inbox-table')],
};

beforeEach(() => {
  dynamodb.reset();
  sqs.reset();
  sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });
});

afterEach(() => {
  dynamodb.reset();
  sqs.reset();
});

describe("pipelineBacklog's outboxUnsent", () => {
  it('counts the items of the outbox table, every page, not the entries of its unsent index', async () => {
    // GIVEN an outbox of messages in flight (in no index) over two Scan pages, and an empty inbox index
    dynamodb
      .on(ScanCommand, { TableName: 'outbox' })
      .resolvesOnce({ Count: 3, LastEvaluatedKey: { groupKey: { S: 'k' }, sequence: { N: '3' } } })
      .resolvesOnce({ Count: 2 });
    dynamodb.on(ScanCommand, { TableName: 'inbox' }).resolves({ Count: 0 });

    // WHEN
    const backlog = await pipelineBacklog(stack);

    // THEN
    expect(backlog.outboxUnsent).toBe(5);
    const outboxScans = dynamodb
      .commandCalls(ScanCommand)
      .map((call) => call.args[0].input)
      .filter((input) => input.TableName === 'outbox');
    expect(outboxScans).toHaveLength(2);
    expect(outboxScans[1]?.ExclusiveStartKey).toEqual({ groupKey: { S: 'k' }, sequence: { N: '3' } });
    for (const input of outboxScans) {
      expect(input.IndexName).toBeUndefined();
      expect(input.Select).toBe('COUNT');
    }
  });

  it("leaves out resolved transactions' tombstones: they stay until they expire, and are settled", async () => {
    // GIVEN
    dynamodb.on(ScanCommand).resolves({ Count: 0 });

    // WHEN
    await pipelineBacklog(stack);

    // THEN
    const outboxScan = dynamodb
      .commandCalls(ScanCommand)
      .map((call) => call.args[0].input)
      .find((input) => input.TableName === 'outbox');
    expect(outboxScan?.FilterExpression).toBe('NOT (#status IN (:committed, :rolledBack))');
    expect(outboxScan?.ExpressionAttributeNames).toEqual({ '#status': 'status' });
    expect(outboxScan?.ExpressionAttributeValues).toEqual({
      ':committed': { S: 'COMMITTED' },
      ':rolledBack': { S: 'ROLLED_BACK' },
    });
  });

  it("still counts held and parked messages from the inbox's attention index", async () => {
    // GIVEN
    dynamodb.on(ScanCommand, { TableName: 'outbox' }).resolves({ Count: 0 });
    dynamodb.on(ScanCommand, { TableName: 'inbox', IndexName: 'attention' }).resolves({ Count: 4 });

    // WHEN
    const backlog = await pipelineBacklog(stack);

    // THEN
    expect(backlog).toEqual({ outboxUnsent: 0, queued: 0, deadLettered: 0, heldOrParked: 4 });
  });
});
