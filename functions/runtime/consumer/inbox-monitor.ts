import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AttentionKind, forEachAttentionPage } from './attention-index';

export interface InboxReport {
  /** Messages held back by a gap. */
  readonly heldMessages: number;
  /** How long the oldest of them has waited for its predecessor (0 when none). */
  readonly oldestHeldAgeSeconds: number;
  readonly parkedMessages: number;
  readonly parkedKeys: number;
  /** How long the oldest parked message has waited for a replay (0 when none). */
  readonly oldestParkedAgeSeconds: number;
}

/** How the inbox is read. */
export interface InspectInboxOptions {
  /** Attention index items per Query page. @default ATTENTION_PAGE_SIZE */
  readonly pageSize?: number;
}

/**
 * What in the inbox needs attention: held and parked messages, read from every shard of the sparse attention index, so
 * the cost is O(held + parked), not O(inbox). The index is read page by page and each page is folded into counts and
 * the oldest age as it comes, so the memory it takes is a page per shard (plus one entry per parked key), not the
 * backlog: a large backlog never kills the monitor that is to report it.
 */
export async function inspectInbox(
  dynamodb: DynamoDBDocumentClient,
  inboxTableName: string,
  now: Date = new Date(),
  options: InspectInboxOptions = {},
): Promise<InboxReport> {
  const held = await attention(dynamodb, inboxTableName, 'HELD', options.pageSize);
  const parked = await attention(dynamodb, inboxTableName, 'PARKED', options.pageSize);
  const age = (since: string | undefined) =>
    since === undefined ? 0 : Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
  return {
    heldMessages: held.count,
    oldestHeldAgeSeconds: age(held.oldest),
    parkedMessages: parked.count,
    parkedKeys: parked.keys.size,
    oldestParkedAgeSeconds: age(parked.oldest),
  };
}

/** Counts a kind of attention item, its oldest `since` and its distinct keys, page by page. */
async function attention(
  dynamodb: DynamoDBDocumentClient,
  tableName: string,
  kind: AttentionKind,
  pageSize: number | undefined,
) {
  let count = 0;
  let oldest: string | undefined;
  const keys = new Set<string>();
  await forEachAttentionPage(
    dynamodb,
    tableName,
    kind,
    (items) => {
      count += items.length;
      for (const item of items) {
        if (oldest === undefined || item.since < oldest) oldest = item.since;
        if (kind === 'PARKED') keys.add(item.pk);
      }
    },
    pageSize,
  );
  return { count, oldest, keys };
}
