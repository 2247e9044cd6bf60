import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  boundedClientConfig,
  CONSUMER_METRICS_SERVICE,
  documentClient,
  metricsOptionsFromEnvironment,
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
import { type ConsumerHandler, unitAccounted } from './unit-accounted-handler';

/** What every consumer of the reference application is built with (`consumerWiring`). */
export interface ConsumerWiring {
  readonly logger: Logger;
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sns: SNSClient;
  /** The options every consumer handler shares: log lines with the correlation fields, metrics, test faults. */
  readonly hooks: ReturnType<typeof groupConsumerHooks>;
  /** The handler, logging its unit accounting per invocation in a stack built for the bench. */
  readonly accounted: (handler: ConsumerHandler) => ConsumerHandler;
}

/**
 * The module-scope wiring of a reference consumer (projection, audit, shipping): SDK clients whose calls end within
 * the batch's time reserve, the Powertools logger and metrics, unit accounting for the bench, and — in a test build
 * only (`FAULT_INJECTION_ENABLED`, so a production bundle carries no fault code) — the fault kit.
 */
export function consumerWiring(serviceName: string): ConsumerWiring {
  const logger = new Logger({ serviceName });
  // The handler's counts (UnreadableMessages, KeysParked) through Powertools, where the library's alarms look.
  const metrics = new Metrics(metricsOptionsFromEnvironment(CONSUMER_METRICS_SERVICE));
  const dynamodbClient = new DynamoDBClient(boundedClientConfig());
  const sns = new SNSClient(boundedClientConfig());
  const accountant = unitAccountantFromEnvironment('consumer');
  accountant?.instrumentDynamoDb(dynamodbClient);
  accountant?.instrumentSns(sns);
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
  return {
    logger,
    dynamodb: documentClient(dynamodbClient),
    sns,
    hooks: groupConsumerHooks(logger, metrics, faults),
    accounted: (handler) => unitAccounted(handler, accountant, logger),
  };
}
