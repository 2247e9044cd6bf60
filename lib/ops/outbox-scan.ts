import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { OpsConnection as Connection } from './connection';

type Items = NonNullable<ScanCommandOutput['Items']>;

/**
 * Every item of the outbox table: what is unsent, prepared or failed (and resolved transactions' tombstones) — sent
 * messages are deleted, so this is O(unsent), not O(history).
 */
export async function scanOutbox(c: Connection): Promise<Items> {
  const items: Items = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await c.dynamodb.send(
      new ScanCommand({
        TableName: c.outputs.OutboxTableName,
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}
