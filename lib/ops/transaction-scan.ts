import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import { type OpsConnection as Connection, transactionTableOf } from './connection';

type Items = NonNullable<ScanCommandOutput['Items']>;

/**
 * Every item of the stack's transaction table (open transactions and their tombstones), when half messages live in
 * a table of their own; none when they live in the outbox table (`scanOutbox` reads them there already).
 */
export async function scanTransactionTable(c: Connection): Promise<Items> {
  const tableName = transactionTableOf(c.outputs);
  if (tableName === c.outputs.OutboxTableName) return [];
  const items: Items = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await c.dynamodb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}
