import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import {
  CommitOutcomeUnknownError,
  type IdempotentRequest,
  isOutcomeUnknown,
  isTransientError,
  newMessageId,
  type TransactionalProducer,
  type TransactionCheckRequest,
} from 'reliable-messaging-serverless/runtime';
import { requestTrace } from '../http/request-trace';
import { OrderConflictError, OrderNotFoundError } from '../orders/order-errors';
import type { Order } from '../orders/order-service';
import { PaymentNotRecordedError, PaymentOutcomeUnknownError } from './payment-errors';

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

/** What the checker knows about the producer. */
export interface PaymentCheckerOptions {
  /**
   * The producer's maximum lifetime (its function's timeout): a transaction younger than this may still have a
   * producer about to record its payment, so the checker answers UNKNOWN rather than ROLLBACK.
   * @default 15
   */
  readonly producerLifetimeSeconds?: number;
}

/**
 * The reference use of transactional messages: `PaymentCaptured` is prepared (invisible), the payment is recorded
 * in the payments table — a write that is not part of any outbox transaction, standing for a call to a payment
 * provider — and then the message is committed, bumping the order's version and marking it paid. If the producer
 * dies in between, the check-back asks `checkPayment`, which looks the payment up.
 *
 * The local step is fenced against the transaction: the payment's write carries a ConditionCheck that the
 * transaction is still PREPARED, and the transaction names the payment's item, so a rollback is conditional on no
 * payment existing. Whichever of the two lands first, the other cannot follow: every payment ends paid with its
 * message, or not paid without a payment. A failure whose outcome is unknown never rolls back: the check-back decides.
 */
export class PaymentService {
  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly ordersTableName: string,
    private readonly paymentsTableName: string,
    private readonly producer: TransactionalProducer,
    private readonly hooks: PaymentHooks = {},
    private readonly clock: () => Date = () => new Date(),
    private readonly checker: PaymentCheckerOptions = {},
  ) {}

  /**
   * @throws PaymentNotRecordedError when the transaction was rolled back before the payment could be recorded
   * @throws PaymentOutcomeUnknownError when the payment may or may not have been recorded, or recorded and not yet
   *   committed (the check-back settles it)
   */
  async capture(
    orderId: string,
    amount: number,
    idempotency?: IdempotentRequest<PaymentAccepted>,
  ): Promise<PaymentAccepted> {
    const order = await this.dynamodb.send(
      new GetCommand({ TableName: this.ordersTableName, Key: { orderId }, ConsistentRead: true }),
    );
    if (order.Item === undefined) throw new OrderNotFoundError(orderId);
    if ((order.Item as Order).status === 'CANCELLED')
      throw new OrderConflictError(`order ${orderId} is cancelled`);

    const transactionId = newMessageId();
    const payload: PaymentCaptured = { orderId, transactionId, amount };
    const accepted = (messageId: string): PaymentAccepted => ({ orderId, transactionId, messageId });
    const prepared = await this.producer.prepare(
      {
        transactionId,
        groupKey: orderId,
        type: 'PaymentCaptured',
        payload,
        aggregate: { tableName: this.ordersTableName, key: { orderId }, set: { paid: true } },
        localStep: { tableName: this.paymentsTableName, key: { transactionId } },
        ...requestTrace(),
      },
      idempotency === undefined
        ? {}
        : {
            idempotency: {
              claim: idempotency.claim,
              response: (half) => idempotency.response(accepted(half.messageId)),
            },
          },
    );

    await this.hooks.beforeLocalStep?.();
    await this.recordPayment({ transactionId, orderId, amount, capturedAt: this.clock().toISOString() });

    await this.hooks.beforeCommit?.();
    try {
      await this.producer.commit(transactionId);
    } catch (error) {
      // The payment is recorded: the check-back will commit it if this commit did not land.
      if (error instanceof CommitOutcomeUnknownError || isTransientError(error)) {
        throw new PaymentOutcomeUnknownError(transactionId, { cause: error });
      }
      throw error;
    }
    return accepted(prepared.messageId);
  }

  /** The local step, fenced: it happens only while the transaction is PREPARED. */
  private async recordPayment(record: PaymentRecord): Promise<void> {
    const { transactionId } = record;
    try {
      await this.dynamodb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: this.paymentsTableName,
                Item: { ...record },
                ConditionExpression: 'attribute_not_exists(transactionId)',
              },
            },
            this.producer.localStepFence(transactionId),
          ],
          // The SDK's retry of a write that landed is answered "done", not cancelled by its own conditions.
          ClientRequestToken: transactionId,
        }),
      );
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      // The transaction is no longer PREPARED: it was rolled back (or given up on) while we were slow. Nothing written.
      if (reasons[1]?.Code === 'ConditionalCheckFailed') {
        throw new PaymentNotRecordedError(transactionId, { cause: error });
      }
      // The payment exists already: an earlier attempt of this very write landed. The step happened.
      if (reasons[0]?.Code === 'ConditionalCheckFailed') return;
      // It may have landed: rolling back now could strand a recorded payment. If the payment reads as recorded, the
      // step happened (go on to commit); if not, it may still land: the check-back decides.
      if (isOutcomeUnknown(error)) {
        if (await this.paymentRecorded(transactionId)) return;
        throw new PaymentOutcomeUnknownError(transactionId, { cause: error });
      }
      // DynamoDB said it was not written: roll back now rather than after the prepare timeout. The rollback is
      // conditional on no payment existing, so it cannot undo a payment that was recorded after all.
      await this.producer.rollback(transactionId).catch(() => undefined);
      throw error;
    }
  }

  private async paymentRecorded(transactionId: string): Promise<boolean> {
    const payment = await this.dynamodb.send(
      new GetCommand({ TableName: this.paymentsTableName, Key: { transactionId }, ConsistentRead: true }),
    );
    return payment.Item !== undefined;
  }

  /**
   * The checker's answer. A recorded payment: COMMIT. No payment, and the transaction older than the producer's
   * lifetime — so no producer is still about to record it, and the fence refuses one that tries after the
   * rollback: ROLLBACK. Otherwise (no payment yet, but a producer may still be running): UNKNOWN.
   */
  async checkPayment(
    request: Pick<TransactionCheckRequest, 'transactionId' | 'preparedAt'>,
  ): Promise<'COMMIT' | 'ROLLBACK' | 'UNKNOWN'> {
    if (await this.paymentRecorded(request.transactionId)) return 'COMMIT';
    const lifetimeMs = (this.checker.producerLifetimeSeconds ?? 15) * 1000;
    const preparedAt = Date.parse(request.preparedAt);
    if (Number.isNaN(preparedAt)) return 'UNKNOWN';
    return this.clock().getTime() - preparedAt >= lifetimeMs ? 'ROLLBACK' : 'UNKNOWN';
  }
}
