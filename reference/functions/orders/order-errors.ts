import { ReliableMessagingError } from 'reliable-messaging-serverless/runtime';

export class OrderNotFoundError extends ReliableMessagingError {
  constructor(orderId: string) {
    super(`order ${orderId} does not exist`);
    this.name = 'OrderNotFoundError';
  }
}

/** The request conflicts with the order's current state (exists already, cancelled, or another version). */
export class OrderConflictError extends ReliableMessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OrderConflictError';
  }
}

/**
 * The change would take the order past one of its bounds (e.g. its number of notes): refused, nothing written.
 * Retrying the same request cannot succeed.
 */
export class OrderLimitError extends ReliableMessagingError {
  constructor(
    /** The request field the limit is about (e.g. `text`). */
    public readonly path: string,
    message: string,
    /** What the limit is, for the answer's details. */
    public readonly detail: string,
  ) {
    super(message);
    this.name = 'OrderLimitError';
  }
}
