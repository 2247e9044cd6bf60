import { ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';
import type { OpsConnection as Connection } from './connection';

type Items = NonNullable<ScanCommandOutput['Items']>;

/**
 * Every item of the outbox table: what is in flight, unsent, prepared or failed (and resolved transactions'
 * tombstones) — sent messages are deleted, so this is O(unsent), not O(history). The table, not its `unsent` index:
 * a message is in the index only once the relay could not send it or the sweeper's audit found it.
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
