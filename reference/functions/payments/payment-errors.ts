import { ReliableMessagingError } from 'reliable-messaging-serverless/runtime';

/**
 * The payment was not recorded and never will be under this transaction: it was rolled back (by the check-back,
 * after the prepare timeout) before the local step could run. Nothing was written; a retry starts afresh.
 */
export class PaymentNotRecordedError extends ReliableMessagingError {
  constructor(
    public readonly transactionId: string,
    options?: { cause?: unknown },
  ) {
    super(`payment ${transactionId} was not recorded: its transaction was rolled back meanwhile`, options);
    this.name = 'PaymentNotRecordedError';
  }
}

/**
 * The payment's outcome is not known yet: the local step's write or the commit failed without saying whether it
 * happened. The transaction stays open and the check-back settles it (commit if the payment was recorded); a retry
 * under the same Idempotency-Key gets 409 until then, and the settled answer after.
 */
export class PaymentOutcomeUnknownError extends ReliableMessagingError {
  constructor(
    public readonly transactionId: string,
    options?: { cause?: unknown },
  ) {
    super(`payment ${transactionId}: outcome unknown (the check-back settles it)`, options);
    this.name = 'PaymentOutcomeUnknownError';
  }
}
