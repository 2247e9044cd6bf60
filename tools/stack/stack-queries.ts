import { QueryCommand, type QueryCommandInput, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { keyPartition, StorageKey } from '../storage-keys';
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

/** How many items a query matches, every page of it, by a consistent count. */
async function countMatches(
  s: Connection,
  query: Omit<QueryCommandInput, 'Select' | 'ConsistentRead' | 'ExclusiveStartKey'>,
): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await s.dynamodb.send(
      new QueryCommand({ ...query, Select: 'COUNT', ConsistentRead: true, ExclusiveStartKey: start }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return count;
}

/** The sum over `keys` of `count(key)`, one key after another. */
async function sumOverKeys(
  keys: readonly string[],
  count: (key: string) => Promise<number>,
): Promise<number> {
  let total = 0;
  for (const key of keys) total += await count(key);
  return total;
}

/** How many outbox items the keys hold (only those of `status`, if given), by consistent count queries. */
export function countOutboxItems(
  s: Connection,
  keys: readonly string[],
  options: { readonly status?: string } = {},
): Promise<number> {
  const { status } = options;
  return sumOverKeys(keys, (groupKey) =>
    countMatches(s, {
      TableName: s.outputs.OutboxTableName,
      KeyConditionExpression: 'groupKey = :key',
      ...(status === undefined
        ? { ExpressionAttributeValues: { ':key': groupKey } }
        : {
            FilterExpression: '#status = :status',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':key': groupKey, ':status': status },
          }),
    }),
  );
}

/** How many messages the keys have held back in the consumer's inbox (waiting for a gap to close). */
export function countHeldMessages(s: Connection, keys: readonly string[]): Promise<number> {
  return sumOverKeys(keys, (groupKey) =>
    countMatches(s, {
      TableName: s.outputs.InboxTableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :held)',
      ExpressionAttributeValues: { ':pk': keyPartition(groupKey), ':held': StorageKey.HELD },
    }),
  );
}

export { queueDepth } from '../../lib/ops/queue-depth';
