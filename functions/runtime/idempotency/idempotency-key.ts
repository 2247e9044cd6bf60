import { createHash } from 'node:crypto';
import { ReliableMessagingError } from '../errors';

/** The longest `Idempotency-Key` accepted (IETF httpapi draft; design.md "Retries"). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

/** Printable ASCII: space (0x20) to tilde (0x7e). */
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** An `Idempotency-Key` that is empty, too long, or not printable ASCII. Nothing is written. */
export class InvalidIdempotencyKeyError extends ReliableMessagingError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidIdempotencyKeyError';
  }
}

/** The key was first used for another request (another body, method or path). Nothing is written. */
export class IdempotencyKeyReusedError extends ReliableMessagingError {
  constructor(public readonly idempotencyKey: string) {
    super('this Idempotency-Key was used for another request (another body, method or path)');
    this.name = 'IdempotencyKeyReusedError';
  }
}

/** The key's first request is still running (or its outcome is still being decided). Retry later. */
export class IdempotencyKeyInProgressError extends ReliableMessagingError {
  constructor(
    public readonly idempotencyKey: string,
    options?: { cause?: unknown },
  ) {
    super('a request with this Idempotency-Key is still in progress; retry later with the same key', options);
    this.name = 'IdempotencyKeyInProgressError';
  }
}

/** Checks an `Idempotency-Key`: 1 to 255 characters of printable ASCII. */
export function validateIdempotencyKey(key: string): string {
  if (key.length === 0) throw new InvalidIdempotencyKeyError('Idempotency-Key must not be empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new InvalidIdempotencyKeyError(
      `Idempotency-Key has ${key.length} characters; at most ${MAX_IDEMPOTENCY_KEY_LENGTH} are allowed`,
    );
  }
  if (!PRINTABLE_ASCII.test(key)) {
    throw new InvalidIdempotencyKeyError('Idempotency-Key must be printable ASCII (0x20 to 0x7E)');
  }
  return key;
}

/** What identifies "the same request" for a key: method, path and body, hashed (SHA-256, hex). */
export function requestFingerprint(method: string, path: string, body: string): string {
  return createHash('sha256').update(`${method.toUpperCase()}\u0000${path}\u0000`).update(body).digest('hex');
}

/**
 * The `ClientRequestToken` of one TransactWriteItems call made under an idempotency key: derived from the key and
 * the call's own unique id (so a repeat of the same call — the SDK's retry — is answered from DynamoDB's 10-minute
 * token cache, while another call under the same key, e.g. after a version race, is not mistaken for it). 36
 * characters at most, as DynamoDB requires.
 */
export function clientRequestToken(idempotencyKey: string, callId: string): string {
  return createHash('sha256').update(`${idempotencyKey}\u0000${callId}`).digest('hex').slice(0, 36);
}
