/**
 * The prefixes and fixed values of the keys the library stores its items under, each written here once: the runtime
 * writes and reads them, the constructs describe them, the ops CLI, the console and the tools (chaos run, bench,
 * integration tests) read the stored items by them. Changing one strands every item already stored under the old
 * value.
 *
 * The inbox table (partition key `pk`, sort key `sk`; see consumer/inbox-keys.ts):
 * - a key's items:      pk = `KEY#<groupKey>`, sk = `CURSOR` | `HELD#<sequence>` | `PARKED#<sequence>`;
 * - a message's items:  pk = `MSG#<messageId>`, sk = `EFFECT#<effect>` | `FAILURES`;
 * - its `attention` index: `HELD#<shard>` | `PARKED#<shard>` (consumer/attention-index.ts).
 *
 * The outbox table (partition key `groupKey`, sort key `sequence`):
 * - a half message: groupKey = `TX#<transactionId>`, sequence 0 (half/half-message.ts);
 * - its `unsent` index: sweepShard = `M#<shard>` (an unsent message) | `T#<shard>` (an open transaction)
 *   (outbox/unsent-index.ts).
 */
export const StorageKey = {
  /** The inbox's partition of one key (its cursor, held and parked messages): `KEY#<groupKey>`. */
  KEY: 'KEY#',
  /** A key's cursor (sort key). */
  CURSOR: 'CURSOR',
  /** A message held back by a gap (sort key prefix, then the zero-padded sequence); also an attention value. */
  HELD: 'HELD#',
  /** A message of a parked key (sort key prefix, then the zero-padded sequence); also an attention value. */
  PARKED: 'PARKED#',
  /** The inbox's partition of one message (its effects' records and its failure count): `MSG#<messageId>`. */
  MESSAGE: 'MSG#',
  /** An effect's idempotency record of a message (sort key prefix, then the effect's name). */
  EFFECT: 'EFFECT#',
  /** How often a message's effects failed (sort key). */
  FAILURES: 'FAILURES',
  /** A half message's groupKey in the outbox (or transaction) table: `TX#<transactionId>`. */
  TRANSACTION: 'TX#',
  /** The `unsent` index's partition of unsent messages: `M#<shard>`. */
  UNSENT_MESSAGES: 'M#',
  /** The `unsent` index's partition of open transactions: `T#<shard>`. */
  OPEN_TRANSACTIONS: 'T#',
} as const;

/** Digits of a sequence in a sort key (`HELD#000000000000003`), so sort-key order is sequence order. */
export const SEQUENCE_DIGITS = 15;

/** The inbox's partition key of `groupKey`'s items (cursor, held and parked messages). */
export const keyPartition = (groupKey: string): string => `${StorageKey.KEY}${groupKey}`;

/** The inbox's partition key of a message's items (its effects' records and its failure count). */
export const messagePartition = (messageId: string): string => `${StorageKey.MESSAGE}${messageId}`;

/** A held or parked message's sort key: the kind's prefix, then its zero-padded sequence. */
export const sequenceSortKey = (
  prefix: typeof StorageKey.HELD | typeof StorageKey.PARKED,
  sequence: number,
): string => `${prefix}${String(sequence).padStart(SEQUENCE_DIGITS, '0')}`;

/** The outbox groupKey of a transaction's half message. */
export const halfMessageGroupKey = (transactionId: string): string =>
  `${StorageKey.TRANSACTION}${transactionId}`;

/** Whether an outbox groupKey is a half message's (not a message's). */
export const isHalfMessageGroupKey = (groupKey: string): boolean =>
  groupKey.startsWith(StorageKey.TRANSACTION);

/** The groupKey of an inbox partition key (`KEY#<groupKey>`). */
export const groupKeyOfPartition = (pk: string): string =>
  pk.startsWith(StorageKey.KEY) ? pk.slice(StorageKey.KEY.length) : pk;
