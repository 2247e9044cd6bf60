import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { boundedClientConfig, sdkCallBoundsFromEnvironment } from '../clients';
import { Env } from '../environment';
import { ConfigurationError, requiredEnv } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import type { CursorLocation } from './cursor-location';
import type { DynamoEffect } from './effect-strategies';
import type { GuardedEffect, ParkedKey } from './idempotent-consumer';
import { keyParkedAlert } from './key-parked-alert';
import { resendToContinue } from './release-continuation';
import { parseStrategyConfig, strategyFor } from './strategy-config';

/** The options of the runtime's `IdempotentConsumer` that the `IdempotentConsumer` construct deploys. */
export interface ConsumerEnvironment {
  readonly inboxTableName: string;
  readonly retentionSeconds: number;
  readonly claimSeconds: number;
  readonly parkAfterFailures: number;
  /**
   * Where the cursors are: the table `IdempotentConsumer`'s `cursorTable` declared (its items keyed by the key
   * attribute, whose value is the message's `groupKey`). Absent: the inbox table (the consumer's default).
   */
  readonly cursor?: CursorLocation;
  /**
   * The message types the consumer applies (`CONSUMER_MESSAGE_TYPES`, the construct's `messageTypes`); any other
   * message of a key only moves its cursor. Absent: every type.
   */
  readonly messageTypes?: readonly string[];
  /** The consumer group the consumer belongs to (`CONSUMER_GROUP`): in its log lines and its `KeyParked` alert. */
  readonly group?: string;
  /** Publishes the `KeyParked` alert (naming the group, when there is one) to the construct's alert topic. */
  readonly onParked: (parked: ParkedKey) => Promise<void>;
  /** Continues a long held chain's bounded release by putting its next held message back on the construct's queue. */
  readonly continueRelease: (next: MessageEnvelope) => Promise<void>;
}

export interface ConsumerEnvironmentOptions {
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * The client that publishes the alert.
   * @default a new SNSClient whose calls end in bounded time (`boundedClientConfig`)
   */
  readonly sns?: SNSClient;
  /**
   * The client that puts a held message back on the queue to continue a release.
   * @default a new SQSClient whose calls end in bounded time (`boundedClientConfig`)
   */
  readonly sqs?: SQSClient;
}

function positiveInteger(name: string, env: Readonly<Record<string, string | undefined>>): number {
  const text = requiredEnv(name, env);
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(`environment variable ${name} must be a positive integer; got '${text}'`);
  }
  return value;
}

/** The cursor table the construct declared (both variables), or nothing (neither); one without the other fails. */
function cursorFromEnvironment(env: Readonly<Record<string, string | undefined>>): {
  cursor?: CursorLocation;
} {
  const tableName = env[Env.CURSOR_TABLE_NAME];
  const keyAttribute = env[Env.CURSOR_KEY_ATTRIBUTE];
  if (tableName === undefined && keyAttribute === undefined) return {};
  const table = requiredEnv(Env.CURSOR_TABLE_NAME, env);
  const attribute = requiredEnv(Env.CURSOR_KEY_ATTRIBUTE, env);
  return { cursor: { tableName: table, key: (groupKey) => ({ [attribute]: groupKey }) } };
}

/**
 * The message types of `CONSUMER_MESSAGE_TYPES`: a JSON array of at least one non-empty string, or nothing when the
 * variable is unset (or empty). Throws a `ConfigurationError` naming the variable when it is anything else.
 */
export function messageTypesFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): { messageTypes?: readonly string[] } {
  const text = env[Env.CONSUMER_MESSAGE_TYPES];
  if (text === undefined || text === '') return {};
  const malformed = (why: string) =>
    new ConfigurationError(
      `environment variable ${Env.CONSUMER_MESSAGE_TYPES} must be a JSON array of at least one non-empty string ` +
        `(the message types the consumer applies); ${why}: '${text.slice(0, 200)}'`,
    );
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw malformed('it is not JSON');
  }
  if (!Array.isArray(json)) throw malformed('it is not an array');
  if (json.length === 0) throw malformed('it is empty');
  if (!json.every((type): type is string => typeof type === 'string' && type !== '')) {
    throw malformed('not every entry is a non-empty string');
  }
  return { messageTypes: json };
}

/** The consumer group of `CONSUMER_GROUP`, or nothing when it is unset (or empty). */
export function consumerGroupFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): { group?: string } {
  const group = env[Env.CONSUMER_GROUP];
  return group === undefined || group === '' ? {} : { group };
}

/**
 * Reads what the `IdempotentConsumer` construct put in the function's environment (the inbox table, retention,
 * claim time, when to park, the message types it applies, its consumer group) and sends the `KeyParked` alert to its alert topic when a key parks; a long held chain's
 * release continues through the construct's queue (`resendToContinue`). Spread it into
 * the consumer's options: `new IdempotentConsumer({ ...consumerOptionsFromEnvironment(), dynamodb, effects })`.
 * Throws a `ConfigurationError` naming the variable when one is missing or malformed (the function is not the
 * construct's `handler`).
 */
export function consumerOptionsFromEnvironment(
  options: ConsumerEnvironmentOptions = {},
): ConsumerEnvironment {
  const env = options.env ?? process.env;
  const alertTopicArn = requiredEnv(Env.ALERT_TOPIC_ARN, env);
  let sns = options.sns;
  const queueUrl = requiredEnv(Env.QUEUE_URL, env);
  const { group } = consumerGroupFromEnvironment(env);
  const bounds = sdkCallBoundsFromEnvironment(env);
  let continueWith: ((next: MessageEnvelope) => Promise<void>) | undefined;
  return {
    inboxTableName: requiredEnv(Env.INBOX_TABLE_NAME, env),
    retentionSeconds: positiveInteger(Env.INBOX_RETENTION_SECONDS, env),
    claimSeconds: positiveInteger(Env.INBOX_CLAIM_SECONDS, env),
    parkAfterFailures: positiveInteger(Env.PARK_AFTER_FAILURES, env),
    ...cursorFromEnvironment(env),
    ...messageTypesFromEnvironment(env),
    ...consumerGroupFromEnvironment(env),
    onParked: async (parked) => {
      sns ??= new SNSClient(boundedClientConfig(bounds));
      await sns.send(new PublishCommand(keyParkedAlert(alertTopicArn, parked, group)));
    },
    continueRelease: async (next) => {
      continueWith ??= resendToContinue(options.sqs ?? new SQSClient(boundedClientConfig(bounds)), queueUrl);
      await continueWith(next);
    },
  };
}

/**
 * The effects, each under the strategy the construct's `strategy` / `effectStrategies` give it by its name
 * (`IDEMPOTENCY_STRATEGIES`).
 */
export function guardedEffectsFromEnvironment(
  effects: readonly DynamoEffect[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): GuardedEffect[] {
  const strategies = parseStrategyConfig(requiredEnv(Env.IDEMPOTENCY_STRATEGIES, env));
  return effects.map((effect) => ({ effect, strategy: strategyFor(strategies, effect.name) }));
}
