import { type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { TransactionalProducer } from '../../runtime/half/transactional-producer';
import { newMessageId } from '../../runtime/ids';
import { OrderConflictError, OrderNotFoundError } from '../orders/order-errors';
import type { Order } from '../orders/order-service';

/** Points where a test stack injects producer crashes. */
export interface PaymentHooks {
  beforeLocalStep?(): Promise<void>;
  beforeCommit?(): Promise<void>;
}

/** The message a captured payment announces (a half message until the payment is recorded). */
export interface PaymentCaptured {
  readonly orderId: string;
  readonly transactionId: string;
  readonly amount: number;
}

/** A payment as the local step records it, in the payments table (key `transactionId`). */
export interface PaymentRecord {
  readonly transactionId: string;
  readonly orderId: string;
  readonly amount: number;
  readonly capturedAt: string;
}

export interface PaymentAccepted {
  readonly orderId: string;
  readonly transactionId: string;
  readonly messageId: string;
}

/**
 * The reference use of transactional messages: `PaymentCaptured` is prepared (invisible), the payment is recorded
 * in the payments table — a write that is not part of any outbox transaction, standing for a call to a payment
 * provider — and then the message is committed, bumping the order's version and marking it paid. If the producer
 * dies in between, the check-back asks `checkPayment`, which looks the payment up.
 */
export class PaymentService {
  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly ordersTableName: string,
    private readonly paymentsTableName: string,
    private readonly producer: TransactionalProducer,
    private readonly hooks: PaymentHooks = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async capture(orderId: string, amount: number): Promise<PaymentAccepted> {
    const order = await this.dynamodb.send(
      new GetCommand({ TableName: this.ordersTableName, Key: { orderId }, ConsistentRead: true }),
    );
    if (order.Item === undefined) throw new OrderNotFoundError(orderId);
    if ((order.Item as Order).status === 'CANCELLED')
      throw new OrderConflictError(`order ${orderId} is cancelled`);

    const transactionId = newMessageId();
    const payload: PaymentCaptured = { orderId, transactionId, amount };
    const prepared = await this.producer.prepare({
      transactionId,
      groupKey: orderId,
      type: 'PaymentCaptured',
      payload,
      aggregate: { tableName: this.ordersTableName, key: { orderId }, set: { paid: true } },
    });

    await this.hooks.beforeLocalStep?.();
    try {
      const record: PaymentRecord = {
        transactionId,
        orderId,
        amount,
        capturedAt: this.clock().toISOString(),
      };
      await this.dynamodb.send(
        new PutCommand({
          TableName: this.paymentsTableName,
          Item: { ...record },
          ConditionExpression: 'attribute_not_exists(transactionId)',
        }),
      );
    } catch (error) {
      await this.producer.rollback(transactionId).catch(() => undefined); // the check-back rolls back otherwise
      throw error;
    }

    await this.hooks.beforeCommit?.();
    await this.producer.commit(transactionId);
    return { orderId, transactionId, messageId: prepared.messageId };
  }

  /** The checker's answer: a recorded payment commits, no payment (after the prepare timeout) rolls back. */
  async checkPayment(transactionId: string): Promise<'COMMIT' | 'ROLLBACK'> {
    const payment = await this.dynamodb.send(
      new GetCommand({ TableName: this.paymentsTableName, Key: { transactionId }, ConsistentRead: true }),
    );
    return payment.Item === undefined ? 'ROLLBACK' : 'COMMIT';
  }
}
