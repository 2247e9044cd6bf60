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
import { ShippingService } from './shipping/shipping-service';
import { unitAccounted } from './unit-accounted-handler';

const logger = new Logger({ serviceName: 'shipping-consumer' });
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
const shipping = new ShippingService(dynamodb, requiredEnv('SHIPPING_TABLE_NAME'));

/**
 * The shipping group's consumer, in the lean configuration: each order's shipping item is its cursor, and the
 * status and count ride on the cursor's write (one conditional write per message, no read). It applies the types
 * the construct's `messageTypes` set (`CONSUMER_MESSAGE_TYPES`: OrderPlaced, PaymentCaptured, OrderCancelled) and
 * skips the others, moving the cursor only.
 */
const consumeBatch = fifoConsumerHandler<SQSRecord>({
  dynamodb,
  sns: new SNSClient(boundedClientConfig()),
  cursor: shipping.cursor,
  cursorEffect: shipping.status,
  ...groupConsumerHooks(logger, metrics, faults),
});

export const handler = unitAccounted(consumeBatch, accountant, logger);
