import { keyPartition, messagePartition, StorageKey, sequenceSortKey } from '../storage-keys';

/**
 * Items of the inbox table (partition key `pk`, sort key `sk`, TTL attribute `expiresAt`); the prefixes are
 * storage-keys.ts's:
 * - an effect's idempotency record:  pk = MSG#<messageId>, sk = EFFECT#<effect>  (expires after the replay horizon)
 * - a message's failure count:       pk = MSG#<messageId>, sk = FAILURES
 * - a key's cursor:                  pk = KEY#<groupKey>,  sk = CURSOR   (last applied sequence, held count)
 * - a message held back by a gap:    pk = KEY#<groupKey>,  sk = HELD#<sequence, zero-padded>
 * - a message of a parked key:       pk = KEY#<groupKey>,  sk = PARKED#<sequence, zero-padded>
 */
export const inboxKeys = {
  /** A message's record for one of its effects (the `unique` and `transaction` strategies). */
  effect: (messageId: string, effect: string) => ({
    pk: messagePartition(messageId),
    sk: `${StorageKey.EFFECT}${effect}`,
  }),
  /** How often a message's effects failed (decides when a key is parked). */
  failures: (messageId: string) => ({ pk: messagePartition(messageId), sk: StorageKey.FAILURES }),
  cursor: (groupKey: string) => ({ pk: keyPartition(groupKey), sk: StorageKey.CURSOR }),
  parked: (groupKey: string, sequence: number) => ({
    pk: keyPartition(groupKey),
    sk: sequenceSortKey(StorageKey.PARKED, sequence),
  }),
  held: (groupKey: string, sequence: number) => ({
    pk: keyPartition(groupKey),
    sk: sequenceSortKey(StorageKey.HELD, sequence),
  }),
};
