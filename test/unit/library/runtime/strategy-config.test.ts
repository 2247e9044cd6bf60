import { describe, expect, it } from 'vitest';
import { IDEMPOTENCY_STRATEGIES } from '../../../../functions/runtime/consumer/effect-strategies';
import { parseStrategyConfig, strategyFor } from '../../../../functions/runtime/consumer/strategy-config';

describe('parseStrategyConfig', () => {
  it('parses the default strategy and the strategy of each effect, as the construct writes them', () => {
    // GIVEN
    const text = JSON.stringify({
      default: 'transaction',
      effects: { view: 'version', notifications: 'unique' },
    });

    // WHEN
    const config = parseStrategyConfig(text);

    // THEN
    expect(config).toEqual({ default: 'transaction', effects: { view: 'version', notifications: 'unique' } });
  });

  it.each(IDEMPOTENCY_STRATEGIES)('accepts %s as the default and as an effect’s strategy', (strategy) => {
    expect(parseStrategyConfig(JSON.stringify({ default: strategy, effects: { view: strategy } }))).toEqual({
      default: strategy,
      effects: { view: strategy },
    });
  });

  it('answers no per-effect strategies when effects are absent or null', () => {
    expect(parseStrategyConfig('{"default":"unique"}')).toEqual({ default: 'unique', effects: {} });
    expect(parseStrategyConfig('{"default":"unique","effects":null}')).toEqual({
      default: 'unique',
      effects: {},
    });
  });

  it('fails if the configuration is not JSON', () => {
    expect(() => parseStrategyConfig('{default: transaction}')).toThrow(
      /^IDEMPOTENCY_STRATEGIES is not JSON: /,
    );
  });

  it('fails if the default is missing or not a strategy, naming the strategies', () => {
    expect(() => parseStrategyConfig('{"effects":{}}')).toThrow(
      'IDEMPOTENCY_STRATEGIES.default must be one of unique, version, transaction; got undefined',
    );
    expect(() => parseStrategyConfig('{"default":"exactly-once"}')).toThrow(
      'IDEMPOTENCY_STRATEGIES.default must be one of unique, version, transaction; got "exactly-once"',
    );
    expect(() => parseStrategyConfig('{"default":"Version"}')).toThrow('got "Version"');
  });

  it.each(['null', '[]', '"transaction"', '42'])(
    'fails with the same clear error if the JSON is not an object (%s)',
    (text) => {
      expect(() => parseStrategyConfig(text)).toThrow(
        'IDEMPOTENCY_STRATEGIES.default must be one of unique, version, transaction; got undefined',
      );
    },
  );

  it('fails if an effect’s strategy is not a strategy, naming the effect', () => {
    expect(() => parseStrategyConfig('{"default":"unique","effects":{"view":"versioned"}}')).toThrow(
      'IDEMPOTENCY_STRATEGIES.effects.view must be one of unique, version, transaction; got "versioned"',
    );
    expect(() => parseStrategyConfig('{"default":"unique","effects":{"view":null}}')).toThrow(
      'IDEMPOTENCY_STRATEGIES.effects.view must be one of unique, version, transaction; got null',
    );
  });
});

describe('strategyFor', () => {
  const config = parseStrategyConfig(
    JSON.stringify({ default: 'transaction', effects: { view: 'version' } }),
  );

  it('answers the strategy configured for the effect', () => {
    expect(strategyFor(config, 'view')).toBe('version');
  });

  it('answers the default for an effect without its own strategy', () => {
    expect(strategyFor(config, 'inventory')).toBe('transaction');
  });

  it('does not take inherited properties for effects', () => {
    expect(strategyFor(config, 'toString')).toBe('transaction');
  });
});
