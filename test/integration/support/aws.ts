import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { inject } from 'vitest';
import { OrdersApiClient } from '../../../scripts/local/api-client';

/** Clients for the deployed stack on the emulator. */
export function stack() {
  const outputs = inject('outputs');
  const endpoint = inject('endpoint');
  const config = {
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient(config));
  const sqs = new SQSClient(config);
  return { outputs, endpoint, dynamodb, sqs, api: new OrdersApiClient(outputs.ApiUrl) };
}

export type Stack = ReturnType<typeof stack>;

/** Every item of a table (test tables are small). */
export async function scanAll(s: Stack, tableName: string): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await s.dynamodb.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/** The outbox items of one key. */
export async function outboxItems(s: Stack, groupKey: string): Promise<Record<string, unknown>[]> {
  const page = await s.dynamodb.send(
    new QueryCommand({
      TableName: s.outputs.OutboxTableName,
      KeyConditionExpression: 'groupKey = :key',
      ExpressionAttributeValues: { ':key': groupKey },
      ConsistentRead: true,
    }),
  );
  return page.Items ?? [];
}

export async function queueDepth(s: Stack, queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const response = await s.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(response.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(response.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** A unique prefix for the ids a test creates, so tests never see each other's data. */
export function uniquePrefix(name: string): string {
  return `${name}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
}
