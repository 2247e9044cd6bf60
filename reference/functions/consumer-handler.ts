import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { SQSRecord } from 'aws-lambda';
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
  failIfPoison,
  faultSourceFromEnvironment,
  injectAmbiguousWrites,
  injectServiceFaults,
  injectThrottling,
  maybeCrashAfterEffect,
} from 'reliable-messaging-serverless/runtime/testing';
import { type ConsumerFaultHooks, groupConsumerHooks } from './group-consumer-hooks';
import { ProjectionService } from './projection/projection-service';
import { unitAccounted } from './unit-accounted-handler';

const logger = new Logger({ serviceName: 'orders-consumer' });
// The handler's counts (UnreadableMessages, KeysParked) through Powertools, where the library's alarms look.
const metrics = new Metrics(metricsOptionsFromEnvironment(CONSUMER_METRICS_SERVICE));
// Every SDK call ends within the batch's time reserve (boundedClientConfig: request timeouts, 2 attempts).
const dynamodbClient = new DynamoDBClient(boundedClientConfig());
const accountant = unitAccountantFromEnvironment('consumer');
accountant?.instrumentDynamoDb(dynamodbClient);
// Fault injection exists only in test builds (see the relay's handler).
let faults: ConsumerFaultHooks | undefined;
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  const source = faultSourceFromEnvironment();
  faults = {
    beforeEffects: (message, group) => failIfPoison(source, message, group),
    afterConsumed: () => maybeCrashAfterEffect(source),
  };
  injectThrottling(dynamodbClient, source);
  injectServiceFaults(dynamodbClient, source);
  injectAmbiguousWrites(dynamodbClient, source);
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
  ...groupConsumerHooks(logger, metrics, faults),
});

export const handler = unitAccounted(consumeBatch, accountant, logger);
