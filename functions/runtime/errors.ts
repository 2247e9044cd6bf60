/** Base class of every error the runtime library throws on purpose. */
export class ReliableMessagingError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ReliableMessagingError';
  }
}

/** A conditional write of a transaction did not hold: `reason` names the item whose condition failed. */
export class TransactionConflictError extends ReliableMessagingError {
  /** Index, in the transaction's items, of each item whose condition failed. */
  public readonly failedItemIndexes: readonly number[];

  constructor(message: string, failedItemIndexes: readonly number[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransactionConflictError';
    this.failedItemIndexes = failedItemIndexes;
  }
}

/** A queue message does not have the envelope every relayed message has. */
export class InvalidEnvelopeError extends ReliableMessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'InvalidEnvelopeError';
  }
}

/** Another delivery of the same message is being processed right now; retry later. */
export class MessageInProgressError extends ReliableMessagingError {
  constructor(messageId: string) {
    super(`message ${messageId} is being processed by another delivery; it will be retried`);
    this.name = 'MessageInProgressError';
  }
}

/** A required environment variable is missing, or a setting is out of range. */
export class ConfigurationError extends ReliableMessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/** Reads a required environment variable, failing with a clear message when it is absent. */
export function requiredEnv(
  name: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new ConfigurationError(`environment variable ${name} is required but not set`);
  }
  return value;
}
