import { InvalidEnvelopeError, ReliableMessagingError } from '../errors';
import { type MessageEnvelope, parseEnvelope } from '../outbox/outbox-message';

/**
 * A queue message body as the consumer reads it: an envelope, or — when the body is not a valid envelope but its
 * key, sequence and message id can still be read — that identity and why it cannot be applied. The consumer parks
 * such a message with its reason (it can never be applied, so it is no transient failure) rather than failing it
 * into the dead-letter queue, where it would block its key for good with no parked item to show for it.
 */
export interface ReadBody {
  readonly message: MessageEnvelope;
  /** Why the message cannot be applied (its body is no valid envelope); absent for a valid envelope. */
  readonly unreadable?: string;
}

/** A message whose key, sequence or message id cannot be read: it cannot be parked, held or ordered. */
export class UnreadableMessageError extends ReliableMessagingError {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(
      `unreadable message, not parked (its key, sequence or message id cannot be read): ${reason}; it is redelivered until the queue moves it to its dead-letter queue`,
      options,
    );
    this.name = 'UnreadableMessageError';
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads a body: the envelope when it is one; else its identity (groupKey, sequence, messageId) and the reason it is
 * unreadable; else throws {@link UnreadableMessageError}.
 */
export function readBody(body: string): ReadBody {
  try {
    return { message: parseEnvelope(body) };
  } catch (error) {
    if (!(error instanceof InvalidEnvelopeError)) throw error;
    const reason = `${error.name}: ${error.message}`;
    const json = jsonOf(body);
    const { groupKey, sequence, messageId } = isRecord(json) ? json : {};
    if (
      typeof groupKey !== 'string' ||
      groupKey === '' ||
      typeof messageId !== 'string' ||
      messageId === '' ||
      typeof sequence !== 'number' ||
      !Number.isInteger(sequence) ||
      sequence < 1
    ) {
      throw new UnreadableMessageError(reason, { cause: error });
    }
    // The body as it came (its other fields kept as they are, for the operator who fixes it).
    return { message: json as unknown as MessageEnvelope, unreadable: reason };
  }
}

function jsonOf(body: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return undefined;
  }
}
