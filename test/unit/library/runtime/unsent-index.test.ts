import { describe, expect, it } from 'vitest';
import { MAX_SEQUENCE } from '../../../../functions/runtime/outbox/deliverable-message';
import {
  afterKey,
  MESSAGE_SHARDS,
  openTransactionAttributes,
  UNSENT_INDEX,
  unsentMessageAttributes,
} from '../../../../functions/runtime/outbox/unsent-index';

describe('the unsent index’s stored format (deployed tables hold it: it never changes)', () => {
  it('is the index named "unsent"', () => {
    expect(UNSENT_INDEX).toBe('unsent');
  });

  it('orders a message as <key length, 4 digits>:<key>:<sequence, 15 digits>', () => {
    expect(unsentMessageAttributes('order-1', 42).sweepOrder).toBe('0007:order-1:000000000000042');
    expect(unsentMessageAttributes('order-1', 42).sweepShard).toMatch(/^M#\d+$/);
    expect(openTransactionAttributes('tx-1')).toEqual({
      sweepShard: expect.stringMatching(/^T#\d+$/),
      sweepOrder: 'tx-1',
    });
  });

  it('orders every sequence a producer accepts within its key, before the next key', () => {
    // GIVEN the largest sequence the producers accept, and keys where one is a prefix of the other
    const last = unsentMessageAttributes('a', MAX_SEQUENCE).sweepOrder;
    const before = unsentMessageAttributes('a', MAX_SEQUENCE - 1).sweepOrder;
    const first = unsentMessageAttributes('a', 1).sweepOrder;
    // THEN
    expect([last, first, before].sort()).toEqual([first, before, last]);
    expect(last < afterKey('a')).toBe(true);
    expect(afterKey('a') < unsentMessageAttributes('a:', 1).sweepOrder).toBe(true);
    expect(Number(unsentMessageAttributes('a', 1).sweepShard.slice(2))).toBeLessThan(MESSAGE_SHARDS);
  });
});
