/**
 * Items of the inbox table (partition key `pk`, sort key `sk`, TTL attribute `expiresAt`):
 * - a message's idempotency record:  pk = MSG#<messageId>, sk = MSG      (expires after the replay horizon)
 * - a key's cursor:                  pk = KEY#<groupKey>,  sk = CURSOR   (last applied sequence, held count)
 * - a message held back by a gap:    pk = KEY#<groupKey>,  sk = HELD#<sequence, zero-padded>
 */
export const inboxKeys = {
  message: (messageId: string) => ({ pk: `MSG#${messageId}`, sk: 'MSG' }),
  cursor: (groupKey: string) => ({ pk: `KEY#${groupKey}`, sk: 'CURSOR' }),
  held: (groupKey: string, sequence: number) => ({
    pk: `KEY#${groupKey}`,
    sk: `HELD#${String(sequence).padStart(15, '0')}`,
  }),
};
