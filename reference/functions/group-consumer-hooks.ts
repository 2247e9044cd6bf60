import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import {
  type CountMetrics,
  consumerGroupFromEnvironment,
  type FifoConsumerHandlerOptions,
  messageCorrelation,
  recordCorrelation,
} from 'reliable-messaging-serverless/runtime';
import {
  type FaultSource,
  failIfPoison,
  maybeCrashAfterEffect,
} from 'reliable-messaging-serverless/runtime/testing';

/**
 * The hooks of a consumer group's handler (audit, shipping): Powertools log lines that carry the message's
 * correlation fields (`messageId`, `groupKey`, `sequence`, `traceparent`) and the group (`CONSUMER_GROUP`), the
 * handler's counts through Powertools metrics, and, in a test build, the consumer faults (a poison key — of this
 * group only, with `poisonGroup` — and a crash after the effect).
 */
export function groupConsumerHooks(
  logger: Logger,
  metrics: Metrics,
  faults: FaultSource | undefined,
): Pick<
  FifoConsumerHandlerOptions<SQSRecord>,
  'beforeEffects' | 'onConsumed' | 'onFailure' | 'onUnreadable' | 'onParked' | 'transientRetry'
> & { readonly metrics: CountMetrics } {
  const { group } = consumerGroupFromEnvironment();
  return {
    beforeEffects: async (message) => {
      if (faults !== undefined) await failIfPoison(faults, message, group);
    },
    transientRetry: {
      onRetry: (error, attempt, delayMs) =>
        logger.warn('transient failure; retrying in-process', { attempt, delayMs, error: error as Error }),
    },
    metrics: {
      add: (name, count) => metrics.addMetric(name, MetricUnit.Count, count),
      publish: () => metrics.publishStoredMetrics(),
    },
    onConsumed: async (_record, result) => {
      const { message } = result;
      logger.info('consumed', {
        ...messageCorrelation(message, group),
        type: message.type,
        outcome: result.outcome,
        released: result.released,
      });
      if (faults !== undefined) await maybeCrashAfterEffect(faults);
    },
    onFailure: (record, error) =>
      logger.warn('record failed; it and the rest of its group will be redelivered', {
        sqsMessageId: record.messageId,
        ...recordCorrelation(record, group),
        error: error as Error,
      }),
    onUnreadable: (record, error) =>
      logger.error('unreadable message: neither parked nor applied; it goes to the dead-letter queue', {
        sqsMessageId: record.messageId,
        ...recordCorrelation(record, group),
        error,
      }),
    onParked: (parked) =>
      logger.error('key parked: a message keeps failing; the key waits for a replay', {
        ...parked,
        ...(group === undefined ? {} : { group }),
      }),
  };
}
