import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { TransactionalProducer } from '../../../../functions/runtime/half/transactional-producer';
import { IdempotencyStore } from '../../../../functions/runtime/idempotency/idempotency-store';
import { OutboxWriter } from '../../../../functions/runtime/outbox/outbox-writer';
import { AuditService } from '../../../../reference/functions/audit/audit-service';
import { OrdersApi } from '../../../../reference/functions/http/orders-api';
import { OrderService } from '../../../../reference/functions/orders/order-service';
import { PaymentService } from '../../../../reference/functions/payments/payment-service';
import { ProjectionService } from '../../../../reference/functions/projection/projection-service';
import { ShippingService } from '../../../../reference/functions/shipping/shipping-service';
import { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';

export const ORDERS_TABLE = 'orders-table';
export const OUTBOX_TABLE = 'outbox-table';
export const PROJECTION_TABLE = 'projection-table';
export const PAYMENTS_TABLE = 'payments-table';
export const IDEMPOTENCY_TABLE = 'idempotency-table';
export const AUDIT_TABLE = 'audit-table';
export const SHIPPING_TABLE = 'shipping-table';

/**
 * The reference API wired as its handler wires it, over a DynamoDB client the test mocks (aws-sdk-client-mock on
 * DynamoDBDocumentClient), at a fixed time; unexpected errors go to `onError`.
 */
export function ordersApiAt(now: Date | (() => Date), onError: (error: unknown) => void): OrdersApi {
  const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const clock = typeof now === 'function' ? now : () => now;
  return new OrdersApi({
    orders: new OrderService(dynamodb, ORDERS_TABLE, new OutboxWriter(dynamodb, OUTBOX_TABLE, clock), clock),
    projection: new ProjectionService(dynamodb, PROJECTION_TABLE),
    audit: new AuditService(dynamodb, AUDIT_TABLE),
    shipping: new ShippingService(dynamodb, SHIPPING_TABLE),
    payments: new PaymentService(
      dynamodb,
      ORDERS_TABLE,
      PAYMENTS_TABLE,
      new TransactionalProducer({ dynamodb, outboxTableName: OUTBOX_TABLE, clock }),
      {},
      clock,
    ),
    idempotency: new IdempotencyStore({ dynamodb, tableName: IDEMPOTENCY_TABLE, clock }),
    onError,
  });
}

/** The tables the API's writes go to: orders, outbox, payments, projection and idempotency keys, empty. */
export function producerTables(): InMemoryDynamoDb {
  return new InMemoryDynamoDb({
    [ORDERS_TABLE]: ['orderId'],
    [OUTBOX_TABLE]: ['groupKey', 'sequence'],
    [PAYMENTS_TABLE]: ['transactionId'],
    [PROJECTION_TABLE]: ['pk', 'sk'],
    [IDEMPOTENCY_TABLE]: ['idempotencyKey'],
  });
}

/** What a request to the API carries besides its method and path, as API Gateway hands it over. */
export interface ApiRequest {
  readonly headers?: Readonly<Record<string, string>>;
  /** The body as received: base64 when `isBase64Encoded`; none when undefined. */
  readonly body?: string | undefined;
  readonly isBase64Encoded?: boolean;
  readonly stage?: string;
}

/** The HTTP API (payload format 2.0) event of a request to the orders API, received at 2026-03-01T12:00:00Z. */
export function apiEvent(method: string, path: string, request: ApiRequest = {}): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: { ...request.headers },
    requestContext: {
      accountId: '123456789012',
      apiId: 'api-id',
      domainName: 'api-id.execute-api.us-east-1.amazonaws.com',
      domainPrefix: 'api-id',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'vitest' },
      requestId: 'request-1',
      routeKey: '$default',
      stage: request.stage ?? '$default',
      time: '01/Mar/2026:12:00:00 +0000',
      timeEpoch: Date.parse('2026-03-01T12:00:00.000Z'),
    },
    isBase64Encoded: request.isBase64Encoded ?? false,
    ...(request.body === undefined ? {} : { body: request.body }),
  };
}

/** A JSON body's headers, with the request's Idempotency-Key when it has one. */
export const jsonHeaders = (idempotencyKey?: string): Record<string, string> => ({
  'content-type': 'application/json',
  ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
});
