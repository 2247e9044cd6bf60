import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Connection } from './stack-control';

/** Every item of a table (test tables are small). */
export async function scanAll(s: Connection, tableName: string): Promise<Record<string, unknown>[]> {
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
export async function outboxItems(s: Connection, groupKey: string): Promise<Record<string, unknown>[]> {
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

export async function queueDepth(
  s: Connection,
  queueUrl: string,
): Promise<{ visible: number; inFlight: number }> {
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
