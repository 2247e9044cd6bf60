import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  boundedClientConfig,
  CONSUMER_METRICS_SERVICE,
  documentClient,
  fifoConsumerHandler,
  guardedEffectsFromEnvironment,
  metricsOptionsFromEnvironment,
  requiredEnv,
  unitAccountantFromEnvironment,
} from 'reliable-messaging-serverless/runtime';
import {
  type FaultSource,
  failIfPoison,
  faultSourceFromEnvironment,
  injectAmbiguousWrites,
  injectServiceFaults,
  injectThrottling,
  maybeCrashAfterEffect,
} from 'reliable-messaging-serverless/runtime/testing';
import { ProjectionService } from './projection/projection-service';

const logger = new Logger({ serviceName: 'orders-consumer' });
// The handler's counts (UnreadableMessages, KeysParked) through Powertools, where the library's alarms look.
const metrics = new Metrics(metricsOptionsFromEnvironment(CONSUMER_METRICS_SERVICE));
// Every SDK call ends within the batch's time reserve (boundedClientConfig: request timeouts, 2 attempts).
const dynamodbClient = new DynamoDBClient(boundedClientConfig());
const accountant = unitAccountantFromEnvironment('consumer');
accountant?.instrumentDynamoDb(dynamodbClient);
// Fault injection exists only in test builds (see the relay's handler).
let faults: FaultSource | undefined;
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  faults = faultSourceFromEnvironment();
  injectThrottling(dynamodbClient, faults);
  injectServiceFaults(dynamodbClient, faults);
  injectAmbiguousWrites(dynamodbClient, faults);
}
const dynamodb = documentClient(dynamodbClient);
const sns = new SNSClient(boundedClientConfig());
accountant?.instrumentSns(sns);
const projection = new ProjectionService(dynamodb, requiredEnv('PROJECTION_TABLE_NAME'));

/** FIFO queue → projection, once per message and in order per key; failures via partial batch response. */
const consumeBatch = fifoConsumerHandler<SQSRecord>({
  dynamodb,
  sns,
  effects: guardedEffectsFromEnvironment([projection.view, projection.inventory, projection.notifications]),
  transientRetry: {
    onRetry: (error, attempt, delayMs) =>
      logger.warn('transient failure; retrying in-process', { attempt, delayMs, error: error as Error }),
  },
  beforeEffects: async (message) => {
    if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
      await failIfPoison(faults, message);
    }
  },
  metrics: {
    add: (name, count) => metrics.addMetric(name, MetricUnit.Count, count),
    publish: () => metrics.publishStoredMetrics(),
  },
  onConsumed: async (_record, result) => {
    const { message } = result;
    logger.info('consumed', {
      messageId: message.messageId,
      groupKey: message.groupKey,
      sequence: message.sequence,
      type: message.type,
      outcome: result.outcome,
      released: result.released,
    });
    if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
      await maybeCrashAfterEffect(faults);
    }
  },
  onFailure: (record, error) =>
    logger.warn('record failed; it and the rest of its group will be redelivered', {
      messageId: record.messageId,
      error: error as Error,
    }),
  onUnreadable: (record, error) =>
    logger.error('unreadable message: neither parked nor applied; it goes to the dead-letter queue', {
      messageId: record.messageId,
      error,
    }),
  onParked: (parked) =>
    logger.error('key parked: a message keeps failing; the key waits for a replay', { ...parked }),
});

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const response = await consumeBatch(event, context);
  if (accountant !== undefined) {
    // The queue's ReceiveMessage and DeleteMessageBatch are made by the Lambda service: one each per invocation.
    logger.info('unit accounting', { unitAccounting: accountant.take(), records: event.Records.length });
  }
  return response;
};
