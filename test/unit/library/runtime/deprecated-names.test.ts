import {
  IdempotentConsumer,
  type IdempotentConsumerOptions,
  IdempotentOrderedConsumer,
  type IdempotentOrderedConsumerOptions,
} from 'reliable-messaging-serverless/runtime';
import { describe, expect, it } from 'vitest';

describe('the deprecated names of the runtime (CHANGELOG.md: one name per concept)', () => {
  it('IdempotentOrderedConsumer is IdempotentConsumer, as a value and as a type, until 1.0.0', () => {
    // GIVEN code written against the old names
    const options: IdempotentOrderedConsumerOptions = {} as IdempotentConsumerOptions;
    const build = (given: IdempotentOrderedConsumerOptions): IdempotentOrderedConsumer =>
      new IdempotentOrderedConsumer(given);

    // THEN it builds the runtime's IdempotentConsumer
    expect(IdempotentOrderedConsumer).toBe(IdempotentConsumer);
    expect(typeof build).toBe('function');
    expect(options).toEqual({});
  });
});
