import { describe, expect, it } from 'vitest';
import { attentionOf, attentionPartitions } from '../../../../functions/runtime/consumer/attention-index';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import { halfMessageKey } from '../../../../functions/runtime/half/half-message';
import { messageShards, transactionShards } from '../../../../functions/runtime/outbox/unsent-index';
import {
  groupKeyOfPartition,
  halfMessageGroupKey,
  isHalfMessageGroupKey,
  StorageKey,
} from '../../../../functions/runtime/storage-keys';

// The stored shape is the contract here (items already stored in deployed tables): the literals are the point.
describe('the keys the library stores its items under', () => {
  it('inbox items: a key under KEY#, its cursor, held and parked messages; a message under MSG#', () => {
    // GIVEN / WHEN / THEN
    expect(inboxKeys.cursor('order-1')).toEqual({ pk: 'KEY#order-1', sk: 'CURSOR' });
    expect(inboxKeys.held('order-1', 3)).toEqual({ pk: 'KEY#order-1', sk: 'HELD#000000000000003' });
    expect(inboxKeys.parked('order-1', 42)).toEqual({ pk: 'KEY#order-1', sk: 'PARKED#000000000000042' });
    expect(inboxKeys.effect('m-1', 'notifications')).toEqual({ pk: 'MSG#m-1', sk: 'EFFECT#notifications' });
    expect(inboxKeys.failures('m-1')).toEqual({ pk: 'MSG#m-1', sk: 'FAILURES' });
  });

  it('outbox items: a half message under TX#, the unsent index under M# and T#, the attention index by kind', () => {
    // GIVEN / WHEN / THEN
    expect(halfMessageKey('t-1')).toEqual({ groupKey: 'TX#t-1', sequence: 0 });
    expect(messageShards()[0]).toMatch(/^M#\d+$/);
    expect(transactionShards()[0]).toMatch(/^T#\d+$/);
    expect(attentionOf('HELD', 'order-1')).toMatch(/^HELD#\d+$/);
    expect(attentionPartitions('PARKED')[0]).toBe('PARKED');
    expect(attentionPartitions('PARKED')[1]).toMatch(/^PARKED#\d+$/);
  });

  it('reads back what it wrote: the groupKey of a partition, whether a groupKey is a half message', () => {
    // GIVEN
    const pk = inboxKeys.cursor('KEY#odd').pk;

    // WHEN / THEN
    expect(groupKeyOfPartition(pk)).toBe('KEY#odd');
    expect(isHalfMessageGroupKey(halfMessageGroupKey('t-1'))).toBe(true);
    expect(isHalfMessageGroupKey('order-1')).toBe(false);
    expect(StorageKey.TRANSACTION).toBe('TX#');
  });
});
