import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { TransactionalProducer } from '../../../../functions/runtime/half/transactional-producer';
import { IdempotencyStore } from '../../../../functions/runtime/idempotency/idempotency-store';
import { OutboxWriter } from '../../../../functions/runtime/outbox/outbox-writer';
import { AuditService } from '../../../../reference/functions/audit/audit-service';
import { OrdersApi } from '../../../../reference/functions/http/orders-api';
import { OrderService } from '../../../../reference/functions/orders/order-service';
import { PaymentService } from '../../../../reference/functions/payments/payment-service';
import { ProjectionService } from '../../../../reference/functions/projection/projection-service';
import { ShippingService } from '../../../../reference/functions/shipping/shipping-service';

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
