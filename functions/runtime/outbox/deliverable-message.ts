import { ReliableMessagingError } from '../errors';
import { isTraceparent } from '../trace-context';

/**
 * What a message must be for the relay to send it and the consumer to accept it — checked by the producers before
 * anything is written, so that no commit answers "done" for a message nothing can deliver:
 * - the relay sends `groupKey` as the SQS `MessageGroupId` and `messageId` as the `MessageDeduplicationId` (1 to 128
 *   alphanumerics and punctuation); the consumer re-sends a message under `<messageId>:replay:<ms>` and
 *   `<messageId>:continue:<uuid>`, so a message id keeps 64 characters of room;
 * - the consumer's envelope check wants a non-empty `type` and an integer `sequence` ≥ 1 (the sweep's index pads it
 *   to 15 digits);
 * - the envelope (the queue message's body) and its `type` attribute are at most 256 KiB, the limit of SQS and SNS,
 *   and only of the characters SQS accepts;
 * - a `traceparent` given is a W3C trace context (`00-<32 hex>-<16 hex>-<2 hex>`).
 */

/** SQS's `MessageGroupId`: 1 to 128 characters. */
export const MAX_GROUP_KEY_LENGTH = 128;
/** Room for the consumer's longest suffix (`:continue:<uuid>`, 46 characters) within SQS's 128. */
export const MAX_MESSAGE_ID_LENGTH = 64;
export const MAX_TYPE_LENGTH = 256;
/** The largest sequence the sweep's index orders correctly (15 digits). */
export const MAX_SEQUENCE = 999_999_999_999_999;
/** SQS's (and SNS's) largest message: 256 KiB, body and attributes (the relay sends one: `type`). */
export const MAX_ENVELOPE_BYTES = 256 * 1024;

/** Alphanumerics and punctuation, as SQS allows in `MessageGroupId` and `MessageDeduplicationId`. */
const SQS_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]+$/;
/** A character SQS refuses in a message body (it takes #x9, #xA, #xD, #x20 to #xD7FF, #xE000 to #xFFFD, #x10000 up). */
const NOT_SQS_TEXT = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
/** Control characters (C0, DEL, C1). */
const CONTROL = /\p{Cc}/u;
/** A createdAt as the producers write it (ISO-8601, 24 characters): its room in the envelope. */
const CREATED_AT_ROOM = '2026-01-01T00:00:00.000Z';
/** A traceparent's room in the envelope (every message carries one, 55 characters). */
const TRACEPARENT_ROOM = `00-${'0'.repeat(32)}-${'0'.repeat(16)}-00`;
/** The `type` attribute's name and data type, counted in the message's size by SQS and SNS. */
const TYPE_ATTRIBUTE_ROOM = Buffer.byteLength('type') + Buffer.byteLength('String');
/** How much of an invalid traceparent an error shows. */
const SHOWN_CHARACTERS = 64;

/** The field of a message that no queue or consumer could take. */
export type UndeliverableField =
  | 'groupKey'
  | 'messageId'
  | 'type'
  | 'sequence'
  | 'payload'
  | 'envelope'
  | 'traceparent';

/** A message the relay could not send or the consumer could not accept: refused before anything was written. */
export class InvalidOutboxMessageError extends ReliableMessagingError {
  constructor(
    public readonly field: UndeliverableField,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${field} ${message}; nothing was written`, options);
    this.name = 'InvalidOutboxMessageError';
  }
}

export interface DeliverableMessageFields {
  readonly groupKey: string;
  readonly messageId: string;
  readonly type: string;
  /** Unknown until a half message commits: checked then, and counted at its largest for the envelope's size. */
  readonly sequence?: number;
  readonly payload: unknown;
  /** The W3C trace context the producer gives the message, if it gives one (else the producers derive one). */
  readonly traceparent?: string;
}

function checkSqsId(field: 'groupKey' | 'messageId', value: unknown, max: number): void {
  if (typeof value !== 'string' || value.length < 1 || value.length > max) {
    throw new InvalidOutboxMessageError(field, `must be 1 to ${max} characters; got ${lengthOf(value)}`);
  }
  if (!SQS_ID.test(value)) {
    throw new InvalidOutboxMessageError(
      field,
      'must be only letters, digits and ASCII punctuation (as SQS ids)',
    );
  }
}

function lengthOf(value: unknown): string {
  return typeof value === 'string' ? `${value.length} characters` : typeof value;
}

/**
 * Checks every field the relay and the consumer need; answers the payload's JSON text (what the outbox stores).
 * @throws InvalidOutboxMessageError naming the first field that cannot be delivered
 */
export function checkDeliverable(message: DeliverableMessageFields): string {
  checkSqsId('groupKey', message.groupKey, MAX_GROUP_KEY_LENGTH);
  checkSqsId('messageId', message.messageId, MAX_MESSAGE_ID_LENGTH);
  const { type } = message;
  if (typeof type !== 'string' || type.trim() === '' || type.length > MAX_TYPE_LENGTH) {
    throw new InvalidOutboxMessageError('type', `must be 1 to ${MAX_TYPE_LENGTH} characters, not blank`);
  }
  if (CONTROL.test(type) || NOT_SQS_TEXT.test(type)) {
    throw new InvalidOutboxMessageError('type', 'must be well-formed text without control characters');
  }
  const { traceparent } = message;
  if (traceparent !== undefined && !isTraceparent(traceparent)) {
    const shown =
      typeof traceparent === 'string'
        ? JSON.stringify(traceparent.slice(0, SHOWN_CHARACTERS))
        : typeof traceparent;
    throw new InvalidOutboxMessageError(
      'traceparent',
      `must be a W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>, lower case, ids not all zeros; got ${shown}`,
    );
  }
  const sequence = message.sequence ?? MAX_SEQUENCE;
  if (!Number.isInteger(sequence) || sequence < 1 || sequence > MAX_SEQUENCE) {
    throw new InvalidOutboxMessageError(
      'sequence',
      `must be an integer from 1 to ${MAX_SEQUENCE}; got ${sequence}`,
    );
  }
  let payload: string | undefined;
  try {
    payload = JSON.stringify(message.payload ?? null) as string | undefined;
  } catch (error) {
    throw new InvalidOutboxMessageError('payload', 'must be JSON-serializable', { cause: error });
  }
  if (typeof payload !== 'string')
    throw new InvalidOutboxMessageError('payload', 'must be JSON-serializable');
  if (NOT_SQS_TEXT.test(payload)) {
    throw new InvalidOutboxMessageError('payload', 'holds a character SQS refuses (U+FFFE or U+FFFF)');
  }
  const { groupKey, messageId } = message;
  const rest = JSON.stringify({
    messageId,
    groupKey,
    sequence,
    type,
    payload: 0,
    createdAt: CREATED_AT_ROOM,
    traceparent: TRACEPARENT_ROOM,
  });
  const bytes =
    Buffer.byteLength(rest, 'utf8') -
    1 +
    Buffer.byteLength(payload, 'utf8') +
    TYPE_ATTRIBUTE_ROOM +
    Buffer.byteLength(type, 'utf8');
  if (bytes > MAX_ENVELOPE_BYTES) {
    throw new InvalidOutboxMessageError(
      'envelope',
      `would be ${bytes} bytes with its type attribute; a queue or topic message is at most ${MAX_ENVELOPE_BYTES}`,
    );
  }
  return payload;
}
