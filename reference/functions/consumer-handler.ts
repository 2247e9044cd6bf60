import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  boundedClientConfig,
  consumerOptionsFromEnvironment,
  documentClient,
  type FifoRecordContext,
  guardedEffectsFromEnvironment,
  IdempotentOrderedConsumer,
  metricsOptionsFromEnvironment,
  type ParkedKey,
  processFifoBatch,
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
const metrics = new Metrics(metricsOptionsFromEnvironment('orders-consumer'));
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
const fromEnvironment = consumerOptionsFromEnvironment({ sns });
const projection = new ProjectionService(dynamodb, requiredEnv('PROJECTION_TABLE_NAME'));

const consumer = new IdempotentOrderedConsumer({
  ...fromEnvironment,
  dynamodb,
  transientRetry: {
    onRetry: (error, attempt, delayMs) =>
      logger.warn('transient failure; retrying in-process', { attempt, delayMs, error: error as Error }),
  },
  effects: guardedEffectsFromEnvironment([projection.view, projection.inventory, projection.notifications]),
  beforeEffects: async (message) => {
    if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
      await failIfPoison(faults, message);
    }
  },
  onUnreadable: (error) => {
    logger.error('unreadable message: neither parked nor applied; it goes to the dead-letter queue', {
      error,
    });
    metrics.addMetric('UnreadableMessages', MetricUnit.Count, 1);
  },
  onParked: async (parked: ParkedKey) => {
    logger.error('key parked: a message keeps failing; the key waits for a replay', { ...parked });
    metrics.addMetric('KeysParked', MetricUnit.Count, 1);
    await fromEnvironment.onParked(parked);
  },
});

async function consumeRecord(record: SQSRecord, time: FifoRecordContext): Promise<void> {
  // Transient failures are retried in-process, within the batch's time reserve; a body that is no valid envelope
  // is parked with its reason (or, if not even its key can be read, reported through onUnreadable).
  const result = await consumer.consumeBody(record.body, time);
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
}

/** FIFO queue → projection, once per message and in order per key; failures via partial batch response. */
export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const response = await processFifoBatch(
    event,
    (record, time) => consumeRecord(record, time),
    (record, error) =>
      logger.warn('record failed; it and the rest of its group will be redelivered', {
        messageId: record.messageId,
        error: error as Error,
      }),
    // No record starts that could run into the timeout: a timeout would fail the records already done too.
    { remainingTimeMs: () => context.getRemainingTimeInMillis() },
  );
  metrics.publishStoredMetrics();
  if (accountant !== undefined) {
    // The queue's ReceiveMessage and DeleteMessageBatch are made by the Lambda service: one each per invocation.
    logger.info('unit accounting', { unitAccounting: accountant.take(), records: event.Records.length });
  }
  return response;
};
