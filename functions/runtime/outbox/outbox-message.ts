import { InvalidEnvelopeError } from '../errors';

/** Status of an item in the outbox table. Sent messages are deleted, so there is no SENT status. */
export type OutboxStatus = 'PENDING' | 'PREPARED' | 'FAILED';

/** An outbox item as stored in the outbox table (design.md, "Outbox table"). */
export interface OutboxItem {
  /** Ordering key: all messages of one key are delivered in `sequence` order. */
  readonly groupKey: string;
  /** The aggregate's version that this message announces; gap-free per key for committed messages. */
  readonly sequence: number;
  /** UUIDv7; the idempotency key end to end (SQS deduplication id, consumer inbox key). */
  readonly messageId: string;
  readonly type: string;
  /** JSON text of the message payload. */
  readonly payload: string;
  readonly status: OutboxStatus;
  readonly attempts: number;
  /** ISO-8601 time of the commit. */
  readonly createdAt: string;
  readonly lastAttemptAt?: string;
  readonly lastError?: string;
  /** ISO-8601 time an operator last put it back from FAILED (`retryFailed`); its maximum age counts from then. */
  readonly retriedAt?: string;
  /**
   * The W3C trace context (`traceparent`, `00-<trace-id>-<span-id>-<flags>`) of the request that committed the
   * message: the correlation id every function logs for it, from the producer to every consumer group's effect.
   */
  readonly traceparent?: string;
  /** The sparse `unsent` index's partition key (see unsent-index.ts); every unsent message carries it. */
  readonly sweepShard?: string;
  /** The sparse `unsent` index's sort key: the key, then the zero-padded sequence. */
  readonly sweepOrder?: string;
}

/** The body of every message the relay puts on the queue. */
export interface MessageEnvelope<TPayload = unknown> {
  readonly messageId: string;
  readonly groupKey: string;
  readonly sequence: number;
  readonly type: string;
  readonly payload: TPayload;
  readonly createdAt: string;
  /** The W3C `traceparent` of the request that committed the message (absent in envelopes of older producers). */
  readonly traceparent?: string;
}

/**
 * What is wrong with each field of a would-be envelope (none: it is one). Checked by hand, not with a schema
 * library: this runs in every bundled handler, where a schema library would be most of the bundle.
 */
function envelopeProblems(json: unknown): string[] {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return ['(body): expected an object'];
  const fields = json as Record<string, unknown>;
  const nonEmptyString = (name: string) =>
    typeof fields[name] === 'string' && fields[name] !== '' ? [] : [`${name}: expected a non-empty string`];
  const sequence = fields.sequence;
  return [
    ...nonEmptyString('messageId'),
    ...nonEmptyString('groupKey'),
    ...(typeof sequence === 'number' && Number.isInteger(sequence) && sequence >= 1
      ? []
      : ['sequence: expected an integer ≥ 1']),
    ...nonEmptyString('type'),
    ...nonEmptyString('createdAt'),
    ...(fields.traceparent === undefined || typeof fields.traceparent === 'string'
      ? []
      : ['traceparent: expected a string']),
  ];
}

/** The queue message body for an outbox item. */
export function toEnvelope(item: OutboxItem): MessageEnvelope {
  return {
    messageId: item.messageId,
    groupKey: item.groupKey,
    sequence: item.sequence,
    type: item.type,
    payload: JSON.parse(item.payload) as unknown,
    createdAt: item.createdAt,
    ...(item.traceparent === undefined ? {} : { traceparent: item.traceparent }),
  };
}

/** Parses and checks a queue message body; throws InvalidEnvelopeError when it is not an envelope. */
export function parseEnvelope(body: string): MessageEnvelope {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (error) {
    throw new InvalidEnvelopeError('message body is not JSON', { cause: error });
  }
  const problems = envelopeProblems(json);
  if (problems.length > 0) {
    throw new InvalidEnvelopeError(`message body is not an envelope: ${problems.join('; ')}`);
  }
  const { messageId, groupKey, sequence, type, payload, createdAt, traceparent } = json as MessageEnvelope;
  return {
    messageId,
    groupKey,
    sequence,
    type,
    payload,
    createdAt,
    ...(traceparent === undefined ? {} : { traceparent }),
  };
}
