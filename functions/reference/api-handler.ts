import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { documentClient } from '../runtime/clients';
import { requiredEnv } from '../runtime/errors';
import { faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { injectThrottling } from '../runtime/faults/service-faults';
import { OutboxWriter } from '../runtime/outbox/outbox-writer';
import { OrdersApi } from './http/orders-api';
import { OrderService } from './orders/order-service';
import { ProjectionService } from './projection/projection-service';

const logger = new Logger({ serviceName: 'orders-api' });
const dynamodbClient = new DynamoDBClient({});
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  injectThrottling(dynamodbClient, faultSourceFromEnvironment());
}
const dynamodb = documentClient(dynamodbClient);
const api = new OrdersApi({
  orders: new OrderService(
    dynamodb,
    requiredEnv('ORDERS_TABLE_NAME'),
    new OutboxWriter(dynamodb, requiredEnv('OUTBOX_TABLE_NAME')),
  ),
  projection: new ProjectionService(dynamodb, requiredEnv('PROJECTION_TABLE_NAME')),
  onError: (error) => logger.error('request failed', { error: error as Error }),
});

export const handler = (event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> =>
  api.handle(event);
