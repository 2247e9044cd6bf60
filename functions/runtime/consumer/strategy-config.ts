import { IDEMPOTENCY_STRATEGIES, type IdempotencyStrategy } from './effect-strategies';

/**
 * The strategy of each effect, as the `IdempotentConsumer` construct deploys it (`IDEMPOTENCY_STRATEGIES`, JSON:
 * `{ "default": "transaction", "effects": { "view": "version" } }`).
 */
export interface StrategyConfig {
  readonly default: IdempotencyStrategy;
  readonly effects: Readonly<Record<string, IdempotencyStrategy>>;
}

function isStrategy(value: unknown): value is IdempotencyStrategy {
  return typeof value === 'string' && (IDEMPOTENCY_STRATEGIES as readonly string[]).includes(value);
}

/** Parses the construct's strategy configuration; throws a clear error for anything else. */
export function parseStrategyConfig(text: string): StrategyConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`IDEMPOTENCY_STRATEGIES is not JSON: ${(error as Error).message}`);
  }
  const config = (json ?? {}) as { default?: unknown; effects?: unknown };
  if (!isStrategy(config.default)) {
    throw new Error(
      `IDEMPOTENCY_STRATEGIES.default must be one of ${IDEMPOTENCY_STRATEGIES.join(', ')}; got ${JSON.stringify(config.default)}`,
    );
  }
  const effects: Record<string, IdempotencyStrategy> = {};
  for (const [name, strategy] of Object.entries((config.effects ?? {}) as Record<string, unknown>)) {
    if (!isStrategy(strategy)) {
      throw new Error(
        `IDEMPOTENCY_STRATEGIES.effects.${name} must be one of ${IDEMPOTENCY_STRATEGIES.join(', ')}; got ${JSON.stringify(strategy)}`,
      );
    }
    effects[name] = strategy;
  }
  return { default: config.default, effects };
}

/** The strategy configured for an effect, or the default. */
export function strategyFor(config: StrategyConfig, effect: string): IdempotencyStrategy {
  return Object.hasOwn(config.effects, effect) ? config.effects[effect]! : config.default;
}
