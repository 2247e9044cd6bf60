import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  boundedClientConfig,
  documentClient,
  sdkCallBoundsFromEnvironment,
  worstCaseCallMs,
} from '../clients';
import type { CountMetrics } from '../count-metrics';
import { ConfigurationError } from '../errors';
import { KEYS_PARKED_METRIC, UNREADABLE_MESSAGES_METRIC } from '../metric-names';
import { consumerGroupFromEnvironment, consumerOptionsFromEnvironment } from './consumer-environment';
import { type ConsumerHandlerHooks, jsonLineHooks, type OnParked } from './consumer-handler-hooks';
import { consumerMetricsFromEnvironment } from './consumer-metrics';
import { processFifoBatch } from './fifo-batch';
import type { FifoBatchEvent, FifoBatchResponse, FifoRecord } from './fifo-records';
import {
  DEFAULT_TIME_RESERVE_MS,
  type GuardedEffect,
  IdempotentConsumer,
  type IdempotentConsumerOptions,
} from './idempotent-consumer';
import { UnreadableMessageError } from './unreadable-message';

type Environment = Readonly<Record<string, string | undefined>>;

/** The part of the Lambda context a consumer handler reads (the `Context` of `@types/aws-lambda` fits it). */
export interface LambdaTimeContext {
  /** Milliseconds the invocation has left. */
  getRemainingTimeInMillis(): number;
}

/**
 * A Lambda handler of an SQS FIFO event source with partial batch responses (`ReportBatchItemFailures`, which the
 * `IdempotentConsumer` construct turns on). `SQSEvent`, `Context` and `SQSBatchResponse` of `@types/aws-lambda`
 * fit its types.
 */
export type FifoConsumerHandler<TRecord extends FifoRecord = FifoRecord> = (
  event: FifoBatchEvent<TRecord>,
  context: LambdaTimeContext,
) => Promise<FifoBatchResponse>;

/** How a consumer handler runs a batch of an `IdempotentConsumer` you built ({@link fifoConsumerHandlerOf}). */
export interface ConsumerHandlerOptions<TRecord extends FifoRecord = FifoRecord>
  extends ConsumerHandlerHooks<TRecord> {
  /**
   * No record starts, and no in-process retry of one, with less than this many milliseconds of the invocation
   * left: it and the rest of its group are redelivered instead, so the invocation ends before its timeout (a
   * timeout would fail the whole batch, the records already applied included). Keep it above the longest SDK call
   * (`worstCaseCallMs`: 4.5 s with the default bounds).
   * @default 5000 (`DEFAULT_TIME_RESERVE_MS`)
   */
  readonly reserveMs?: number;
  /**
   * Where `UnreadableMessages` and `KeysParked` are counted, published once per batch.
   * @default EMF lines on standard output, where the stack's alarms look (`consumerMetricsFromEnvironment`)
   */
  readonly metrics?: CountMetrics;
  /**
   * The environment the defaults are read from.
   * @default process.env
   */
  readonly env?: Environment;
}

/** What `fifoConsumerHandler` builds its `IdempotentConsumer` with, beyond what the environment gives. */
export interface FifoConsumerHandlerOptions<TRecord extends FifoRecord = FifoRecord>
  extends ConsumerHandlerOptions<TRecord>,
    Pick<
      IdempotentConsumerOptions,
      | 'cursor'
      | 'cursorEffect'
      | 'beforeEffects'
      | 'transientRetry'
      | 'maxReleasePerDelivery'
      | 'releaseTimeReserveMs'
      | 'claimOwner'
      | 'clock'
      | 'messageTypes'
    > {
  /**
   * The effects of every message, applied in this order, each under its strategy (`guardedEffectsFromEnvironment`
   * gives each the strategy the construct configured).
   * @default none: only the `cursorEffect`, if any (the lean path)
   */
  readonly effects?: readonly GuardedEffect[];
  /**
   * Told when a key becomes parked, after its `KeyParked` alert went to the construct's alert topic (the alert and
   * the `KeysParked` count happen whatever this does). If it throws, the record fails and its redelivery tells again.
   * @default a JSON line `key parked` (level ERROR) with the key, the message and the reason
   */
  readonly onParked?: OnParked;
  /**
   * The client of the inbox and of your tables.
   * @default a document client whose calls end within the reserve (`boundedClientConfig`, bounds from the environment)
   */
  readonly dynamodb?: DynamoDBDocumentClient;
  /**
   * The client that sends the `KeyParked` alert.
   * @default an SNS client whose calls end within the reserve (`boundedClientConfig`)
   */
  readonly sns?: SNSClient;
  /**
   * The client that puts a long held chain's next message back on the queue.
   * @default an SQS client whose calls end within the reserve (`boundedClientConfig`)
   */
  readonly sqs?: SQSClient;
}

/** Runs `read` and says, of a missing or malformed variable, who sets it. */
function fromConstruct<T>(entry: string, read: () => T): T {
  try {
    return read();
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    throw new ConfigurationError(
      `${entry}: ${error.message}. The IdempotentConsumer construct sets it on the function it is given as ` +
        '`handler`: give this function to an IdempotentConsumer (or pass `env`)',
      { cause: error },
    );
  }
}

function validReserve(reserveMs: number): number {
  if (!(Number.isFinite(reserveMs) && reserveMs >= 0)) {
    throw new ConfigurationError(`reserveMs must be a number of milliseconds ≥ 0; got ${reserveMs}`);
  }
  return reserveMs;
}

/**
 * The handler of a consumer Lambda function: call it at module scope and export what it returns,
 * `export const handler = fifoConsumerHandler({ cursor, cursorEffect, effects })`. Right without options:
 *
 * - the runtime's `IdempotentConsumer` gets what the `IdempotentConsumer` construct put in the environment (inbox,
 *   retention, claim, parking, the `KeyParked` alert, the continuation of a long release): a missing variable fails
 *   here, at the function's start, naming it;
 * - its SDK clients end every call within the time reserve (`boundedClientConfig`), built once per container;
 * - no record (and no retry of one) starts with less than `reserveMs` of the invocation left
 *   (`getRemainingTimeInMillis`): it and the rest of its group are redelivered, and the invocation never runs into
 *   its timeout, which would fail the whole batch;
 * - each record is consumed with `consumeBody`: a body that is no valid envelope is PARKED with its reason; one
 *   whose key cannot even be read is told to `onUnreadable`, counted (`UnreadableMessages`) and failed;
 * - one JSON line per consumed message, failure, unreadable message and parked key (the hooks), each with the
 *   message's `messageId`, `groupKey`, `sequence`, `traceparent` and the consumer's `group` (`CONSUMER_GROUP`);
 *   parked keys counted (`KeysParked`);
 * - the message types the construct declared (`CONSUMER_MESSAGE_TYPES`): any other message only moves its key's
 *   cursor (SKIPPED);
 * - the partial batch response of `processFifoBatch`: a failed record fails the rest of its group, never other groups.
 *
 * Throws a `ConfigurationError` when the environment lacks a variable the construct sets, or when `reserveMs` is
 * below the longest call of the clients it builds.
 */
export function fifoConsumerHandler<TRecord extends FifoRecord = FifoRecord>(
  options: FifoConsumerHandlerOptions<TRecord> = {},
): FifoConsumerHandler<TRecord> {
  const env = options.env ?? process.env;
  const entry = 'fifoConsumerHandler';
  const reserveMs = validReserve(options.reserveMs ?? DEFAULT_TIME_RESERVE_MS);
  const bounds = fromConstruct(entry, () => sdkCallBoundsFromEnvironment(env));
  if (options.dynamodb === undefined || options.sns === undefined || options.sqs === undefined) {
    const longestCallMs = worstCaseCallMs(bounds);
    if (reserveMs < longestCallMs) {
      throw new ConfigurationError(
        `reserveMs (${reserveMs}) is below the longest SDK call of the consumer's clients (${longestCallMs} ms): ` +
          'a call started just above the reserve could run into the timeout; raise reserveMs or lower the SDK bounds',
      );
    }
  }
  const clientConfig = boundedClientConfig(bounds);
  const fromEnvironment = fromConstruct(entry, () =>
    consumerOptionsFromEnvironment({
      env,
      sns: options.sns ?? new SNSClient(clientConfig),
      sqs: options.sqs ?? new SQSClient(clientConfig),
    }),
  );
  const metrics = options.metrics ?? fromConstruct(entry, () => consumerMetricsFromEnvironment(env));
  const tellParked = options.onParked ?? jsonLineHooks(undefined, { group: fromEnvironment.group }).onParked;
  const consumer = new IdempotentConsumer({
    ...fromEnvironment,
    dynamodb: options.dynamodb ?? documentClient(new DynamoDBClient(clientConfig)),
    effects: options.effects ?? [],
    // The cursor table the construct declared (`cursorTable`), unless the app names one itself.
    cursor: options.cursor ?? fromEnvironment.cursor,
    cursorEffect: options.cursorEffect,
    beforeEffects: options.beforeEffects,
    transientRetry: options.transientRetry,
    maxReleasePerDelivery: options.maxReleasePerDelivery,
    releaseTimeReserveMs: options.releaseTimeReserveMs,
    claimOwner: options.claimOwner,
    clock: options.clock,
    // The types the construct's `messageTypes` declared (CONSUMER_MESSAGE_TYPES), unless the app names them itself.
    messageTypes: options.messageTypes ?? fromEnvironment.messageTypes,
    // The handler reports an unreadable body itself (onUnreadable, counted): the consumer need not.
    onUnreadable: () => {},
    onParked: async (parked) => {
      await fromEnvironment.onParked(parked);
      metrics.add(KEYS_PARKED_METRIC, 1);
      await tellParked(parked);
    },
  });
  return fifoConsumerHandlerOf(consumer, { ...options, reserveMs, metrics });
}

/**
 * The same handler as {@link fifoConsumerHandler}, for an `IdempotentConsumer` you built yourself: the
 * Lambda context's time and the reserve, `consumeBody`, the hooks' log lines, unreadable messages counted, the
 * partial batch response. Your consumer's own `onParked` sends its alert (spread `consumerOptionsFromEnvironment()`
 * into its options) — count `KEYS_PARKED_METRIC` there on the same `metrics` if you want it counted — and give it
 * `onUnreadable: () => {}`: this handler reports those.
 * Throws a `ConfigurationError` when `metrics` is not given and `METRICS_STACK_NAME` is not set.
 */
export function fifoConsumerHandlerOf<TRecord extends FifoRecord = FifoRecord>(
  consumer: IdempotentConsumer,
  options: ConsumerHandlerOptions<TRecord> = {},
): FifoConsumerHandler<TRecord> {
  const reserveMs = validReserve(options.reserveMs ?? DEFAULT_TIME_RESERVE_MS);
  const metrics =
    options.metrics ??
    fromConstruct('fifoConsumerHandlerOf', () => consumerMetricsFromEnvironment(options.env));
  const defaults = jsonLineHooks<TRecord>(undefined, consumerGroupFromEnvironment(options.env));
  const onConsumed = options.onConsumed ?? defaults.onConsumed;
  const onFailure = options.onFailure ?? defaults.onFailure;
  const onUnreadable = options.onUnreadable ?? defaults.onUnreadable;
  return async (event, context) => {
    try {
      return await processFifoBatch(
        event,
        async (record, time) => {
          const result = await consumer.consumeBody(record.body, time);
          await onConsumed(record, result);
        },
        {
          remainingTimeMs: () => context.getRemainingTimeInMillis(),
          reserveMs,
          onFailed: (record, error) => {
            if (error instanceof UnreadableMessageError) {
              metrics.add(UNREADABLE_MESSAGES_METRIC, 1);
              onUnreadable(record, error);
            } else {
              onFailure(record, error);
            }
          },
        },
      );
    } finally {
      metrics.publish();
    }
  };
}
