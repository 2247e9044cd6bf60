import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  documentClient,
  Env,
  IdempotencyStore,
  OutboxWriter,
  requiredEnv,
  TransactionalProducer,
  unitAccountantFromEnvironment,
} from 'reliable-messaging-serverless/runtime';
import {
  faultSourceFromEnvironment,
  injectAmbiguousCommits,
  injectAmbiguousWrites,
  injectServiceFaults,
  injectThrottling,
} from 'reliable-messaging-serverless/runtime/testing';
import { AuditService } from './audit/audit-service';
import { OrdersApi } from './http/orders-api';
import { requestTraceparentOf } from './http/request-trace';
import { OrderService } from './orders/order-service';
import { paymentFaultHooks } from './payments/payment-fault-hooks';
import { type PaymentHooks, PaymentService } from './payments/payment-service';
import { ProjectionService } from './projection/projection-service';
import { ShippingService } from './shipping/shipping-service';

const logger = new Logger({ serviceName: 'orders-api' });
const dynamodbClient = new DynamoDBClient({});
const accountant = unitAccountantFromEnvironment('producer');
accountant?.instrumentDynamoDb(dynamodbClient);
let paymentHooks: PaymentHooks = {};
// Fault injection exists only in test builds (see the relay's handler).
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  const faults = faultSourceFromEnvironment();
  injectThrottling(dynamodbClient, faults);
  injectServiceFaults(dynamodbClient, faults);
  injectAmbiguousCommits(dynamodbClient, faults);
  injectAmbiguousWrites(dynamodbClient, faults);
  paymentHooks = paymentFaultHooks(faults);
}
const dynamodb = documentClient(dynamodbClient);
const ordersTableName = requiredEnv('ORDERS_TABLE_NAME');
const outboxTableName = requiredEnv('OUTBOX_TABLE_NAME');
/** This function's timeout: a request's claim on its idempotency key lasts as long as the request can. */
const lifetimeSeconds = Number(requiredEnv('PRODUCER_LIFETIME_SECONDS'));
const api = new OrdersApi({
  orders: new OrderService(dynamodb, ordersTableName, new OutboxWriter(dynamodb, outboxTableName)),
  projection: new ProjectionService(dynamodb, requiredEnv('PROJECTION_TABLE_NAME')),
  // The consumer groups' tables, read only.
  audit: new AuditService(dynamodb, requiredEnv('AUDIT_TABLE_NAME')),
  shipping: new ShippingService(dynamodb, requiredEnv('SHIPPING_TABLE_NAME')),
  payments: new PaymentService(
    dynamodb,
    ordersTableName,
    requiredEnv('PAYMENTS_TABLE_NAME'),
    new TransactionalProducer({
      dynamodb,
      outboxTableName,
      // Set by TransactionalOutbox when half messages live in a table of their own (else: the outbox table).
      transactionTableName: process.env[Env.TRANSACTION_TABLE_NAME] || undefined,
      prepareTimeoutSeconds: Number(requiredEnv(Env.PREPARE_TIMEOUT_SECONDS)),
    }),
    paymentHooks,
  ),
  idempotency: new IdempotencyStore({
    dynamodb,
    tableName: requiredEnv('IDEMPOTENCY_TABLE_NAME'),
    leaseSeconds: lifetimeSeconds,
  }),
  onError: (error) => logger.error('request failed', { error: error as Error }),
});

export const handler = async (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> => {
  // The request's correlation id: on every log line of this request, and carried by every message it commits.
  const traceparent = requestTraceparentOf(event);
  logger.appendKeys({ traceparent });
  try {
    const response = await api.handle(event, traceparent);
    logRequest(event, response);
    return accounted(event, response);
  } finally {
    logger.removeKeys(['traceparent']);
  }
};

/** One line per change: its route, its answer and, when it committed one, the message's id. */
function logRequest(event: APIGatewayProxyEventV2, response: APIGatewayProxyStructuredResultV2): void {
  const method = event.requestContext.http.method;
  if (method === 'GET') return;
  let messageId: unknown;
  try {
    messageId = (JSON.parse(response.body ?? '{}') as { messageId?: unknown }).messageId;
  } catch {
    messageId = undefined;
  }
  logger.info('answered', {
    method,
    path: event.rawPath,
    statusCode: response.statusCode,
    ...(typeof messageId === 'string' ? { messageId } : {}),
  });
}

function accounted(
  event: APIGatewayProxyEventV2,
  response: APIGatewayProxyStructuredResultV2,
): APIGatewayProxyStructuredResultV2 {
  if (accountant !== undefined) {
    logger.info('unit accounting', {
      unitAccounting: accountant.take(),
      route: event.requestContext.http.method,
    });
  }
  return response;
}
