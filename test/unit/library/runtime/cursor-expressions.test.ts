import { describe, expect, it } from 'vitest';
import {
  cursorEffectUpdate,
  cursorIncrement,
  cursorValueOr,
} from '../../../../functions/runtime/consumer/cursor-location';
import { envelope } from '../../support/inbox-fixtures';

describe('cursor effect values computed in the cursor’s write', () => {
  it('raises a counter from 0 when absent, and falls back to a value unless another attribute is set', () => {
    // WHEN
    const update = cursorEffectUpdate(
      {
        name: 'shipping',
        attributes: () => ({ events: cursorIncrement(), status: cursorValueOr('cancelled', 'ready') }),
      },
      envelope('order-1', 2, 'PaymentCaptured', {}),
    );

    // THEN
    expect(update).toEqual({
      set: ', #c0 = if_not_exists(#c0, :c0z) + :c0, #c1 = if_not_exists(#c1s, :c1)',
      names: { '#c0': 'events', '#c1': 'status', '#c1s': 'cancelled' },
      values: { ':c0': 1, ':c0z': 0, ':c1': 'ready' },
    });
  });

  it('fails if an increment is not a finite number, or the fallback names no attribute', () => {
    expect(() => cursorIncrement(Number.NaN)).toThrow('cursorIncrement needs a finite number; got NaN');
    expect(() => cursorValueOr('', 'ready')).toThrow('cursorValueOr needs an attribute name');
  });
});
