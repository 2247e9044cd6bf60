import { inboxKeys } from '../../../functions/runtime/consumer/inbox-keys';
import { ATTENTION_INDEX } from '../../../functions/runtime/consumer/key-parking';
import type { MessageEnvelope } from '../../../functions/runtime/outbox/outbox-message';
import { InMemoryDynamoDb, type Item } from '../../../tools/dynamodb/in-memory-dynamodb';

// The consumer's tables as the IdempotentConsumer construct deploys them: the inbox (pk, sk) with its sparse
// KEYS_ONLY attention index (attention, since), and a projection table (pk, sk) for the effects.

export const INBOX_TABLE = 'inbox-table';
export const PROJECTION_TABLE = 'projection-table';
export const RETENTION_SECONDS = 15 * 24 * 3600;
export const CLAIM_SECONDS = 120;

/** The consumer's tables, with the test's `own` (name → key attributes): a view table its cursor lives in, say. */
export function newConsumerTables(own: Readonly<Record<string, readonly string[]>> = {}): InMemoryDynamoDb {
  return new InMemoryDynamoDb(
    { [INBOX_TABLE]: ['pk', 'sk'], [PROJECTION_TABLE]: ['pk', 'sk'], ...own },
    { [INBOX_TABLE]: { [ATTENTION_INDEX]: { keys: ['attention', 'since'], projection: 'KEYS_ONLY' } } },
  );
}

/** Reads of the inbox's items, by what they are. */
export function inboxOf(db: InMemoryDynamoDb) {
  const read = (key: Item) => db.item(INBOX_TABLE, key);
  return {
    cursor: (groupKey: string) => read(inboxKeys.cursor(groupKey)),
    held: (groupKey: string, sequence: number) => read(inboxKeys.held(groupKey, sequence)),
    parked: (groupKey: string, sequence: number) => read(inboxKeys.parked(groupKey, sequence)),
    failures: (messageId: string) => read(inboxKeys.failures(messageId)),
    effect: (messageId: string, effect: string) => read(inboxKeys.effect(messageId, effect)),
    /** The sort keys of a key's HELD# and PARKED# items, in order. */
    waiting: (groupKey: string) =>
      db
        .all(INBOX_TABLE)
        .filter((item) => item.pk === `KEY#${groupKey}` && item.sk !== 'CURSOR')
        .map((item) => String(item.sk))
        .sort(),
  };
}

export const seconds = (date: Date): number => Math.floor(date.getTime() / 1000);

export function envelope<TPayload>(
  groupKey: string,
  sequence: number,
  type: string,
  payload: TPayload,
): MessageEnvelope<TPayload> {
  return {
    messageId: `msg-${groupKey}-${sequence}`,
    groupKey,
    sequence,
    type,
    payload,
    createdAt: '2026-03-01T11:59:00.000Z',
  };
}
