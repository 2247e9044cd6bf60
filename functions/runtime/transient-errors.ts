import { ReliableMessagingError } from './errors';

/**
 * One classification of errors for the whole runtime (consumer, relay, sweeper, check-back, producer):
 * - **transient**: the same call may well succeed if made again — a transaction cancelled only for a
 *   `TransactionConflict`, throttling that outlasted the SDK's own retries, a 5xx, a timeout or a network error.
 *   Retried in-process (jittered exponential backoff within the time left); if it still fails, the caller's unit
 *   of work fails and is retried later, and it never counts toward parking a key.
 * - **deterministic**: everything else (a failed condition, a validation error, a bug). Only these park a key.
 *
 * Ambiguity is a separate question: a transient error of a *write* may have been raised after the write landed
 * (a timeout, a 5xx, a dropped connection). {@link isOutcomeUnknown} says when "nothing was written" may not be
 * claimed.
 */

/** Error names of AWS services whose meaning is "try again": throttling and capacity. */
const THROTTLING_NAMES: ReadonlySet<string> = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestThrottledException',
  'RequestLimitExceeded',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'SlowDown',
  'KMSThrottlingException',
  'EC2ThrottledException',
]);

/** Error names of AWS services that mean the service (not the request) failed: 5xx-like and in-flight conflicts. */
const SERVICE_FAILURE_NAMES: ReadonlySet<string> = new Set([
  'InternalServerError',
  'InternalServerException',
  'InternalFailure',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'TransactionInProgressException',
  'RequestTimeout',
  'RequestTimeoutException',
  'KMSInternalException',
]);

/** Node and SDK error codes/names of a request that timed out or lost its connection. */
const NETWORK_NAMES: ReadonlySet<string> = new Set([
  'TimeoutError',
  'AbortError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'NetworkingError',
]);

interface ErrorShape {
  readonly name?: unknown;
  readonly code?: unknown;
  readonly $fault?: unknown;
  readonly $metadata?: { readonly httpStatusCode?: unknown };
  readonly $retryable?: unknown;
  readonly CancellationReasons?: ReadonlyArray<{ readonly Code?: unknown } | undefined>;
  readonly cause?: unknown;
}

function shapeOf(error: unknown): ErrorShape | undefined {
  return typeof error === 'object' && error !== null ? (error as ErrorShape) : undefined;
}

/**
 * A `TransactionCanceledException` whose every reason is either `None` (the item was fine) or a transient one
 * (`TransactionConflict`, `ThrottlingError`, `ProvisionedThroughputExceeded`) — and at least one of them is.
 * A reason such as `ConditionalCheckFailed` or `ValidationError` makes the cancellation deterministic.
 */
export function isTransientCancellation(error: unknown): boolean {
  const shape = shapeOf(error);
  if (shape?.name !== 'TransactionCanceledException') return false;
  const codes = (shape.CancellationReasons ?? []).map((reason) => reason?.Code ?? 'None');
  const transient = new Set(['TransactionConflict', 'ThrottlingError', 'ProvisionedThroughputExceeded']);
  return (
    codes.some((code) => transient.has(String(code))) &&
    codes.every((code) => code === 'None' || transient.has(String(code)))
  );
}

/** True when the error (or an error in its `cause` chain) is transient: retrying the same call may succeed. */
export function isTransientError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const shape = shapeOf(current);
    if (shape === undefined) return false;
    const name = typeof shape.name === 'string' ? shape.name : '';
    const code = typeof shape.code === 'string' ? shape.code : '';
    if (name === 'TransientFailureError') return true;
    if (THROTTLING_NAMES.has(name) || SERVICE_FAILURE_NAMES.has(name)) return true;
    if (NETWORK_NAMES.has(name) || NETWORK_NAMES.has(code)) return true;
    if (isTransientCancellation(current)) return true;
    if (shape.$retryable !== undefined && shape.$retryable !== null) return true;
    const status = shape.$metadata?.httpStatusCode;
    if (typeof status === 'number' && (status >= 500 || status === 429)) return true;
    if (shape.$fault === 'server') return true;
    current = shape.cause;
  }
  return false;
}

/**
 * True when a failed *write* may nevertheless have been applied: the request was sent and no answer says it was
 * not (a timeout, a dropped connection, a 5xx — named or not — or a `TransactionInProgressException`: the same
 * transaction, sent earlier under the same `ClientRequestToken`, is still running and may yet commit). Throttling,
 * conflicts and client errors are answers that say nothing was written.
 */
export function isOutcomeUnknown(error: unknown): boolean {
  for (let current = error, depth = 0; current !== undefined && depth < 5; depth++) {
    const shape = shapeOf(current);
    if (shape === undefined) return false;
    const name = typeof shape.name === 'string' ? shape.name : '';
    const code = typeof shape.code === 'string' ? shape.code : '';
    if (THROTTLING_NAMES.has(name) || isTransientCancellation(current)) return false;
    if (NETWORK_NAMES.has(name) || NETWORK_NAMES.has(code)) return true;
    if (SERVICE_FAILURE_NAMES.has(name)) return true;
    const status = shape.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500) return true;
    if (shape.$fault === 'server') return true;
    current = shape.cause;
  }
  return false;
}

/** A transient error that outlasted in-process retries: the unit of work fails, and is retried later. */
export class TransientFailureError extends ReliableMessagingError {
  /** How many attempts were made before giving up. */
  public readonly attempts: number;

  constructor(message: string, attempts: number, options: { cause: unknown }) {
    super(message, options);
    this.name = 'TransientFailureError';
    this.attempts = attempts;
  }
}

export interface RetryTransientOptions {
  /**
   * Milliseconds left for the whole unit of work (e.g. `context.getRemainingTimeInMillis()`); no retry is
   * started that could not finish before it, less `reserveMs`.
   * @default no deadline (only `maxAttempts` bounds the retries)
   */
  readonly remainingTimeMs?: () => number;
  /**
   * Milliseconds kept in reserve for the caller after the last attempt.
   * @default 1000
   */
  readonly reserveMs?: number;
  /** @default 5 */
  readonly maxAttempts?: number;
  /** First backoff, doubled each attempt, full jitter. @default 50 */
  readonly baseDelayMs?: number;
  /** @default 2000 */
  readonly maxDelayMs?: number;
  /** @default Math.random */
  readonly random?: () => number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
  /** Called before each retry (for a log line or a metric). */
  readonly onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /**
   * Which transient errors to retry; the others are rethrown at once, unchanged (e.g. a write whose outcome is
   * unknown, when the caller would rather answer than repeat it).
   * @default every transient error
   */
  readonly retryable?: (error: unknown) => boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `operation`, retrying it while it fails with a transient error, with jittered exponential backoff,
 * within `maxAttempts` and the time left. A deterministic error is rethrown at once, unchanged. A transient
 * error that outlasts the retries is rethrown as a {@link TransientFailureError} whose `cause` is the last error.
 *
 * Only wrap operations that are safe to repeat: idempotent reads, conditional writes whose condition makes a
 * repeat harmless, and transactions carrying a `ClientRequestToken`.
 */
export async function retryTransient<T>(
  operation: () => Promise<T>,
  options: RetryTransientOptions = {},
): Promise<T> {
  const maxAttempts = options.maxAttempts ?? 5;
  const baseDelayMs = options.baseDelayMs ?? 50;
  const maxDelayMs = options.maxDelayMs ?? 2000;
  const reserveMs = options.reserveMs ?? 1000;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? defaultSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isTransientError(error) || options.retryable?.(error) === false) throw error;
      const delayMs = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)));
      const timeLeft = options.remainingTimeMs?.() ?? Number.POSITIVE_INFINITY;
      if (attempt >= maxAttempts || timeLeft - delayMs < reserveMs) {
        const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        throw new TransientFailureError(`transient failure after ${attempt} attempt(s): ${reason}`, attempt, {
          cause: error,
        });
      }
      options.onRetry?.(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
