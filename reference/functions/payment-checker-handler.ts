import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  documentClient,
  Env,
  requiredEnv,
  TransactionalProducer,
  type TransactionCheckRequest,
  type TransactionCheckResponse,
} from 'reliable-messaging-serverless/runtime';
import {
  type FaultSource,
  faultSourceFromEnvironment,
  injectAmbiguousWrites,
} from 'reliable-messaging-serverless/runtime/testing';
import { PaymentService } from './payments/payment-service';

const logger = new Logger({ serviceName: 'payment-checker' });
const dynamodbClient = new DynamoDBClient({});
// Fault injection exists only in test builds (see the relay's handler).
let faults: FaultSource | undefined;
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  faults = faultSourceFromEnvironment();
  injectAmbiguousWrites(dynamodbClient, faults);
}
const dynamodb = documentClient(dynamodbClient);
const payments = new PaymentService(
  dynamodb,
  requiredEnv('ORDERS_TABLE_NAME'),
  requiredEnv('PAYMENTS_TABLE_NAME'),
  new TransactionalProducer({
    dynamodb,
    outboxTableName: requiredEnv('OUTBOX_TABLE_NAME'),
    transactionTableName: process.env[Env.TRANSACTION_TABLE_NAME] || undefined,
  }),
  {},
  undefined,
  { producerLifetimeSeconds: Number(requiredEnv('PRODUCER_LIFETIME_SECONDS')) },
);

/** The reference producer's checker: asked by the check-back about a payment transaction left open. */
export const handler = async (request: TransactionCheckRequest): Promise<TransactionCheckResponse> => {
  if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
    if ((await faults.current()).checkerAlwaysUnknown) return { status: 'UNKNOWN' };
  }
  const status = await payments.checkPayment(request);
  logger.info('checked', { transactionId: request.transactionId, status });
  return { status };
};
