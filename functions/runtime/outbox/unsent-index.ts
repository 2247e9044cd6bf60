import { shardOf, shardValue, shardValues } from '../shards';
import { StorageKey } from '../storage-keys';

/**
 * The outbox table's sparse index of what the safety net acts on (design invariant 2). Only items that carry
 * `sweepShard` and `sweepOrder` are in it:
 * - an unsent message (PENDING, or FAILED until an operator puts it back): `sweepShard` = `M#<shard of its key>`,
 *   `sweepOrder` = `<length of key>:<key>:<sequence, zero-padded>`, so one shard lists its keys one after the other,
 *   each key's messages in sequence order — a reader never groups or sorts, and can skip the rest of a key;
 * - an open transaction (a PREPARED or FAILED half message): `sweepShard` = `T#<shard>`, `sweepOrder` = its id.
 * A sent message is deleted and a resolved half message REMOVEs both attributes, so the sweep and the check-back
 * read O(unsent + open), never the tombstones or the history.
 */
export const UNSENT_INDEX = 'unsent';

/** Shards of unsent messages: 64 partition values take 64 × 1,000 index writes/s before DynamoDB splits any. */
export const MESSAGE_SHARDS = 64;
/** Shards of open transactions (far fewer writes: one prepare and one resolution per transaction). */
export const TRANSACTION_SHARDS = 8;

/** The attributes the index projects besides the keys: what a reader needs to decide before it leases. */
export const UNSENT_INDEX_ATTRIBUTES = [
  'status',
  'messageId',
  'type',
  'attempts',
  'createdAt',
  'lastAttemptAt',
  'lastError',
  'retriedAt',
  'transactionId',
  'targetGroupKey',
  'prepareTimeoutAt',
  'nextCheckAt',
  'checkCount',
] as const;

export interface UnsentIndexAttributes {
  readonly sweepShard: string;
  readonly sweepOrder: string;
}

const SEQUENCE_DIGITS = 15;

/** A key's position prefix: its length first, so no key's prefix is a prefix of another key's. */
const keyPrefix = (groupKey: string) => `${String(groupKey.length).padStart(4, '0')}:${groupKey}:`;

/** The index attributes of an unsent message. */
export function unsentMessageAttributes(groupKey: string, sequence: number): UnsentIndexAttributes {
  return {
    sweepShard: shardValue(StorageKey.UNSENT_MESSAGES, shardOf(groupKey, MESSAGE_SHARDS), MESSAGE_SHARDS),
    sweepOrder: `${keyPrefix(groupKey)}${String(sequence).padStart(SEQUENCE_DIGITS, '0')}`,
  };
}

/**
 * The conditional update that marks a message for the sweep (puts it into the index): only while it is still in the
 * outbox, `PENDING` and in no index — so a mark never brings back a message sent and deleted meanwhile, and never
 * touches one the sweep holds. With `lastError`, the reason is kept with it (the relay's failed send).
 */
export function markForSweepUpdate(
  tableName: string,
  message: { readonly groupKey: string; readonly sequence: number },
  lastError?: string,
) {
  const index = unsentMessageAttributes(message.groupKey, message.sequence);
  return {
    TableName: tableName,
    Key: { groupKey: message.groupKey, sequence: message.sequence },
    UpdateExpression: `SET sweepShard = :shard, sweepOrder = :order${lastError === undefined ? '' : ', lastError = :error'}`,
    ConditionExpression:
      'attribute_exists(groupKey) AND #status = :pending AND attribute_not_exists(sweepShard)',
    ExpressionAttributeNames: { '#status': 'status' },
    ExpressionAttributeValues: {
      ':shard': index.sweepShard,
      ':order': index.sweepOrder,
      ':pending': 'PENDING',
      ...(lastError === undefined ? {} : { ':error': lastError.slice(0, 1000) }),
    },
  };
}

/** A `sweepOrder` after every message of `groupKey` and before the next key's (for `sweepOrder > :after`). */
export function afterKey(groupKey: string): string {
  return `${keyPrefix(groupKey)}~`;
}

/** The index attributes of an open transaction. */
export function openTransactionAttributes(transactionId: string): UnsentIndexAttributes {
  return {
    sweepShard: shardValue(
      StorageKey.OPEN_TRANSACTIONS,
      shardOf(transactionId, TRANSACTION_SHARDS),
      TRANSACTION_SHARDS,
    ),
    sweepOrder: transactionId,
  };
}

/** Every partition key value of unsent messages. */
export const messageShards = (): string[] => shardValues(StorageKey.UNSENT_MESSAGES, MESSAGE_SHARDS);
/** Every partition key value of open transactions. */
export const transactionShards = (): string[] =>
  shardValues(StorageKey.OPEN_TRANSACTIONS, TRANSACTION_SHARDS);
