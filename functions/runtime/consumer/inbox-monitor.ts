import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type AttentionKind, readAttention } from './attention-index';

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

/**
 * What in the inbox needs attention: held and parked messages, read from every shard of the sparse attention index, so
 * the cost is O(held + parked), not O(inbox).
 */
export async function inspectInbox(
  dynamodb: DynamoDBDocumentClient,
  inboxTableName: string,
  now: Date = new Date(),
): Promise<InboxReport> {
  const held = await attention(dynamodb, inboxTableName, 'HELD');
  const parked = await attention(dynamodb, inboxTableName, 'PARKED');
  const age = (since: string | undefined) =>
    since === undefined ? 0 : Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
  return {
    heldMessages: held.items.length,
    oldestHeldAgeSeconds: age(held.oldest),
    parkedMessages: parked.items.length,
    parkedKeys: new Set(parked.items.map((item) => item.pk)).size,
    oldestParkedAgeSeconds: age(parked.oldest),
  };
}

async function attention(dynamodb: DynamoDBDocumentClient, tableName: string, kind: AttentionKind) {
  const items = await readAttention(dynamodb, tableName, kind);
  const oldest = items.reduce<string | undefined>(
    (min, item) => (min === undefined || item.since < min ? item.since : min),
    undefined,
  );
  return { items, oldest };
}
