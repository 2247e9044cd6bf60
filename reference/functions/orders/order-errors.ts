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
