import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { SQSRecord } from 'aws-lambda';
import {
  type CountMetrics,
  consumerGroupFromEnvironment,
  type FifoConsumerHandlerOptions,
  type MessageEnvelope,
  messageCorrelation,
  recordCorrelation,
} from 'reliable-messaging-serverless/runtime';

/**
 * A test build's consumer faults (the handler builds them under `FAULT_INJECTION_ENABLED`, so a production bundle
 * carries no fault code): a poison key — of this group only, with `poisonGroup` — and a crash after the effect.
 */
export interface ConsumerFaultHooks {
  beforeEffects(message: MessageEnvelope, group: string | undefined): Promise<void>;
  afterConsumed(): Promise<void>;
}

/**
 * The hooks of a consumer group's handler (audit, shipping): Powertools log lines that carry the message's
 * correlation fields (`messageId`, `groupKey`, `sequence`, `traceparent`) and the group (`CONSUMER_GROUP`), the
 * handler's counts through Powertools metrics, and, in a test build, the consumer faults (a poison key — of this
 * group only, with `poisonGroup` — and a crash after the effect).
 */
export function groupConsumerHooks(
  logger: Logger,
  metrics: Metrics,
  faults: ConsumerFaultHooks | undefined,
): Pick<
  FifoConsumerHandlerOptions<SQSRecord>,
  'beforeEffects' | 'onConsumed' | 'onFailure' | 'onUnreadable' | 'onParked' | 'transientRetry'
> & { readonly metrics: CountMetrics } {
  const { group } = consumerGroupFromEnvironment();
  return {
    beforeEffects: async (message) => {
      await faults?.beforeEffects(message, group);
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
      await faults?.afterConsumed();
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
