import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { shardOf, shardValue, shardValues } from '../shards';
import { StorageKey } from '../storage-keys';

/** The name of the inbox table's index of items that need attention (HELD and PARKED messages, oldest first). */
export const ATTENTION_INDEX = 'attention';

/**
 * The attention index's partition key is spread over this many values per kind (`HELD#07`, `PARKED#12`, by the
 * key's hash): one value would take every hold, release, park and replay of the whole inbox on one partition
 * (about 1,000 writes/s), and a throttled index throttles the inbox table itself.
 */
export const ATTENTION_SHARDS = 16;

export type AttentionKind = 'HELD' | 'PARKED';

/** The `attention` value of a held or parked message of `groupKey`. */
export function attentionOf(kind: AttentionKind, groupKey: string): string {
  return shardValue(StorageKey[kind], shardOf(groupKey, ATTENTION_SHARDS), ATTENTION_SHARDS);
}

/**
 * Every `attention` value a reader must query for `kind`: each shard, and the unsharded value items written
 * before the index was sharded still carry.
 */
export function attentionPartitions(kind: AttentionKind): string[] {
  return [kind, ...shardValues(StorageKey[kind], ATTENTION_SHARDS)];
}

/** An item of the attention index (keys only). */
export interface AttentionItem {
  readonly pk: string;
  readonly sk: string;
  readonly since: string;
}

/** Index items per Query page a reader asks for by default: what one shard holds in memory at a time. */
export const ATTENTION_PAGE_SIZE = 1000;

/**
 * Reads every held (or parked) message of the inbox from every shard of the attention index, shards in parallel,
 * each page by page (at most `pageSize` items per Query), handing each page to `visit` as it comes: a reader that
 * keeps only what it needs of each page holds at most one page per shard in memory, however large the index.
 */
export async function forEachAttentionPage(
  dynamodb: DynamoDBDocumentClient,
  inboxTableName: string,
  kind: AttentionKind,
  visit: (items: readonly AttentionItem[]) => void,
  pageSize: number = ATTENTION_PAGE_SIZE,
): Promise<void> {
  if (!Number.isInteger(pageSize) || pageSize < 1)
    throw new RangeError(`pageSize must be an integer ≥ 1; got ${pageSize}`);
  await Promise.all(
    attentionPartitions(kind).map(async (partition) => {
      let start: Record<string, unknown> | undefined;
      do {
        const page = await dynamodb.send(
          new QueryCommand({
            TableName: inboxTableName,
            IndexName: ATTENTION_INDEX,
            KeyConditionExpression: 'attention = :partition',
            ExpressionAttributeValues: { ':partition': partition },
            ExclusiveStartKey: start,
            Limit: pageSize,
          }),
        );
        visit((page.Items ?? []) as AttentionItem[]);
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    }),
  );
}

/** Every held (or parked) message in the inbox, from every shard of the attention index, read in parallel. */
export async function readAttention(
  dynamodb: DynamoDBDocumentClient,
  inboxTableName: string,
  kind: AttentionKind,
): Promise<AttentionItem[]> {
  const items: AttentionItem[] = [];
  await forEachAttentionPage(dynamodb, inboxTableName, kind, (page) => items.push(...page));
  return items;
}
