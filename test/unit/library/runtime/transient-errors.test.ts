import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import {
  isOutcomeUnknown,
  isTransientCancellation,
  isTransientError,
  retryTransient,
  TransientFailureError,
} from '../../../../functions/runtime/transient-errors';

const conflict = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
  });
const conditionFailed = () =>
  new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: [{ Code: 'ConditionalCheckFailed' }, { Code: 'TransactionConflict' }],
  });
const serviceError = () =>
  Object.assign(new Error('Internal server error'), {
    name: 'InternalServerError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
const timeout = () => Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
const throttled = () =>
  Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });

describe('isTransientError', () => {
  it('calls a transaction cancelled only for conflicts transient', () => {
    expect(isTransientError(conflict())).toBe(true);
  });

  it('calls a cancellation with a failed condition deterministic', () => {
    expect(isTransientError(conditionFailed())).toBe(false);
  });

  it('calls throttling, 5xx, timeouts and network errors transient', () => {
    expect(isTransientError(throttled())).toBe(true);
    expect(isTransientError(serviceError())).toBe(true);
    expect(isTransientError(timeout())).toBe(true);
    expect(isTransientError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('calls a failed condition, a plain error and non-errors deterministic', () => {
    expect(
      isTransientError(
        new ConditionalCheckFailedException({ message: 'no', $metadata: { httpStatusCode: 400 } }),
      ),
    ).toBe(false);
    expect(isTransientError(new Error('bug'))).toBe(false);
    expect(isTransientError('text')).toBe(false);
    expect(isTransientError(undefined)).toBe(false);
  });

  it('follows the cause chain', () => {
    expect(isTransientError(new Error('wrapped', { cause: conflict() }))).toBe(true);
    expect(isTransientError(new TransientFailureError('gave up', 3, { cause: new Error('x') }))).toBe(true);
  });
});

describe('isOutcomeUnknown', () => {
  it('is true for a timeout, a dropped connection and a 5xx', () => {
    expect(isOutcomeUnknown(timeout())).toBe(true);
    expect(isOutcomeUnknown(serviceError())).toBe(true);
    expect(isOutcomeUnknown(Object.assign(new Error('reset'), { code: 'ECONNRESET' }))).toBe(true);
  });

  it('is false for answers that say nothing was written', () => {
    expect(isOutcomeUnknown(conflict())).toBe(false);
    expect(isOutcomeUnknown(conditionFailed())).toBe(false);
    expect(isOutcomeUnknown(throttled())).toBe(false);
    expect(isOutcomeUnknown(new Error('bug'))).toBe(false);
  });
});

/** An error that carries only what is given: no name the classification knows. */
const bare = (fields: Record<string, unknown>) =>
  Object.assign(new Error('bare'), { name: 'SomeError' }, fields);
const status = (httpStatusCode: number) => bare({ $metadata: { httpStatusCode } });
const cancelled = (codes: readonly (string | undefined)[] | undefined) =>
  Object.assign(new Error('Transaction cancelled'), {
    name: 'TransactionCanceledException',
    ...(codes === undefined
      ? {}
      : { CancellationReasons: codes.map((Code) => (Code === undefined ? undefined : { Code })) }),
  });
/** `error` wrapped `depth` times in plain errors (its cause chain). */
const wrapped = (error: unknown, depth: number): unknown =>
  depth === 0 ? error : new Error(`wrapper ${depth}`, { cause: wrapped(error, depth - 1) });

const THROTTLING = [
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
];
const SERVICE_FAILURES = [
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
];
const NETWORK = [
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
];

describe('the classification, field by field', () => {
  it.each(THROTTLING)('calls %s transient, and an answer that nothing was written', (name) => {
    // GIVEN a throttling error, even one that carries a 5xx status
    const error = bare({ name, $metadata: { httpStatusCode: 503 }, $fault: 'server' });
    // THEN
    expect(isTransientError(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(false);
  });

  it.each(SERVICE_FAILURES)('calls %s transient, and its outcome unknown', (name) => {
    // GIVEN only the name (no status, no fault)
    const error = bare({ name });
    // THEN
    expect(isTransientError(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(true);
  });

  it.each(NETWORK)('calls %s (as a name or as a code) transient, and its outcome unknown', (name) => {
    expect(isTransientError(bare({ name }))).toBe(true);
    expect(isOutcomeUnknown(bare({ name }))).toBe(true);
    expect(isTransientError(bare({ code: name }))).toBe(true);
    expect(isOutcomeUnknown(bare({ code: name }))).toBe(true);
  });

  it('reads a TransactionInProgressException as an unknown outcome: the same transaction may still commit', () => {
    // GIVEN DynamoDB's answer to a repeat of a transaction (same ClientRequestToken) that is still running
    const error = bare({
      name: 'TransactionInProgressException',
      $fault: 'client',
      $metadata: { httpStatusCode: 400 },
    });
    // THEN it may be retried (with the same token), but never read as "nothing written"
    expect(isTransientError(error)).toBe(true);
    expect(isOutcomeUnknown(error)).toBe(true);
  });

  it.each([500, 502, 503, 504, 599])(
    'reads an unnamed %i as transient and its outcome as unknown',
    (code) => {
      expect(isTransientError(status(code))).toBe(true);
      expect(isOutcomeUnknown(status(code))).toBe(true);
    },
  );

  it('reads an unnamed 429 as transient, and as an answer that nothing was written', () => {
    expect(isTransientError(status(429))).toBe(true);
    expect(isOutcomeUnknown(status(429))).toBe(false);
  });

  it.each([200, 400, 403, 404, 428, 430, 499])(
    'never reads an unnamed %i as transient or unknown',
    (code) => {
      expect(isTransientError(status(code))).toBe(false);
      expect(isOutcomeUnknown(status(code))).toBe(false);
    },
  );

  it('ignores a status that is not a number', () => {
    expect(isTransientError(bare({ $metadata: { httpStatusCode: '503' } }))).toBe(false);
    expect(isOutcomeUnknown(bare({ $metadata: { httpStatusCode: '503' } }))).toBe(false);
  });

  it('reads $fault "server" alone as transient and unknown, and $fault "client" as neither', () => {
    expect(isTransientError(bare({ $fault: 'server' }))).toBe(true);
    expect(isOutcomeUnknown(bare({ $fault: 'server' }))).toBe(true);
    expect(isTransientError(bare({ $fault: 'client' }))).toBe(false);
    expect(isOutcomeUnknown(bare({ $fault: 'client' }))).toBe(false);
  });

  it('reads the SDK’s $retryable mark as transient, but never as an unknown outcome', () => {
    // GIVEN errors the SDK marked retryable (an empty mark included), and unmarked ones
    for (const $retryable of [{}, { throttling: true }, { throttling: false }]) {
      expect(isTransientError(bare({ $retryable }))).toBe(true);
      expect(isOutcomeUnknown(bare({ $retryable }))).toBe(false);
    }
    expect(isTransientError(bare({ $retryable: undefined }))).toBe(false);
    expect(isTransientError(bare({ $retryable: null }))).toBe(false);
  });

  it('reads a network code even when the name is not a string', () => {
    expect(isTransientError(bare({ name: 42, code: 'ECONNRESET' }))).toBe(true);
    expect(isOutcomeUnknown(bare({ name: 42, code: 'ECONNRESET' }))).toBe(true);
    expect(isTransientError(bare({ code: 42 }))).toBe(false);
  });

  it('follows the cause chain five errors deep, and no deeper', () => {
    // GIVEN a 5xx as the fifth error of its chain, and as the sixth
    expect(isTransientError(wrapped(serviceError(), 4))).toBe(true);
    expect(isOutcomeUnknown(wrapped(serviceError(), 4))).toBe(true);
    expect(isTransientError(wrapped(serviceError(), 5))).toBe(false);
    expect(isOutcomeUnknown(wrapped(serviceError(), 5))).toBe(false);
  });

  it('stops at the first error that answers: a wrapped throttling is not unknown, a wrapped timeout is', () => {
    expect(isOutcomeUnknown(wrapped(throttled(), 1))).toBe(false);
    expect(isOutcomeUnknown(new Error('x', { cause: conflict() }))).toBe(false);
    expect(isOutcomeUnknown(wrapped(timeout(), 2))).toBe(true);
    // a throttling answer ends the search even when a 5xx lies further down its chain
    expect(isOutcomeUnknown(Object.assign(throttled(), { cause: serviceError() }))).toBe(false);
    expect(isOutcomeUnknown(Object.assign(conflict(), { cause: serviceError() }))).toBe(false);
  });

  it('stops at a cause that is not an object', () => {
    expect(isTransientError(new Error('x', { cause: 'ECONNRESET' }))).toBe(false);
    expect(isOutcomeUnknown(new Error('x', { cause: 'ECONNRESET' }))).toBe(false);
    expect(isOutcomeUnknown(null)).toBe(false);
  });
});

describe('isTransientCancellation', () => {
  it.each([
    [['TransactionConflict']],
    [['ThrottlingError']],
    [['ProvisionedThroughputExceeded']],
    [['None', 'TransactionConflict', 'None']],
    [[undefined, 'ThrottlingError']],
  ])('is true for reasons %j', (codes) => {
    expect(isTransientCancellation(cancelled(codes))).toBe(true);
    expect(isTransientError(cancelled(codes))).toBe(true);
    expect(isOutcomeUnknown(cancelled(codes))).toBe(false);
  });

  it.each([
    [['None']],
    [[]],
    [undefined],
    [['ConditionalCheckFailed', 'TransactionConflict']],
    [['TransactionConflict', 'ValidationError']],
    [['ItemCollectionSizeLimitExceeded']],
  ])('is false for reasons %j', (codes) => {
    expect(isTransientCancellation(cancelled(codes))).toBe(false);
    expect(isTransientError(cancelled(codes))).toBe(false);
  });

  it('is false for another error with the same reasons', () => {
    const other = Object.assign(cancelled(['TransactionConflict']), { name: 'SomethingElse' });
    expect(isTransientCancellation(other)).toBe(false);
    expect(isTransientCancellation('TransactionCanceledException')).toBe(false);
  });
});

describe('retryTransient', () => {
  const noSleep = async () => {};

  it('retries a transient error and returns the result', async () => {
    // GIVEN an operation that conflicts twice
    const operation = vi
      .fn()
      .mockRejectedValueOnce(conflict())
      .mockRejectedValueOnce(conflict())
      .mockResolvedValue('ok');
    // WHEN it is retried
    const result = await retryTransient(operation, { sleep: noSleep });
    // THEN it ran three times
    expect(result).toBe('ok');
    expect(operation).toHaveBeenCalledTimes(3);
  });

  it('rethrows a deterministic error at once, unchanged', async () => {
    const error = conditionFailed();
    const operation = vi.fn().mockRejectedValue(error);
    await expect(retryTransient(operation, { sleep: noSleep })).rejects.toBe(error);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('fails with TransientFailureError after maxAttempts, keeping the cause', async () => {
    const last = conflict();
    const operation = vi.fn().mockRejectedValue(last);
    const failure = await retryTransient(operation, { sleep: noSleep, maxAttempts: 3 }).catch(
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(TransientFailureError);
    expect((failure as TransientFailureError).cause).toBe(last);
    expect((failure as TransientFailureError).attempts).toBe(3);
    expect(operation).toHaveBeenCalledTimes(3);
  });

  it('does not start a retry that would run past the time left', async () => {
    const operation = vi.fn().mockRejectedValue(conflict());
    const failure = await retryTransient(operation, {
      sleep: noSleep,
      remainingTimeMs: () => 500,
      reserveMs: 1000,
    }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TransientFailureError);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('makes 5 attempts by default, backing off from 50 ms, doubled, full jitter', async () => {
    // GIVEN an operation that always conflicts
    const delays: number[] = [];
    const operation = vi.fn().mockRejectedValue(conflict());
    // WHEN
    const failure = await retryTransient(operation, {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.999,
    }).catch((e: unknown) => e);
    // THEN
    expect(operation).toHaveBeenCalledTimes(5);
    expect(failure).toMatchObject({ name: 'TransientFailureError', attempts: 5 });
    expect(delays).toEqual([49, 99, 199, 399]);
  });

  it('caps a backoff at 2 s by default', async () => {
    const delays: number[] = [];
    await retryTransient(vi.fn().mockRejectedValue(conflict()), {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.9999,
      maxAttempts: 8,
    }).catch(() => undefined);
    expect(delays).toEqual([49, 99, 199, 399, 799, 1599, 1999]);
  });

  it('keeps 1 s in reserve by default: a retry starts only while more than that is left after its backoff', async () => {
    // GIVEN no backoff (random 0) and exactly 1 s left: the retry may start
    const atReserve = vi.fn().mockRejectedValueOnce(conflict()).mockResolvedValue('ok');
    expect(
      await retryTransient(atReserve, {
        sleep: async () => {},
        random: () => 0,
        remainingTimeMs: () => 1000,
      }),
    ).toBe('ok');
    // AND with 1 ms less, it may not
    const belowReserve = vi.fn().mockRejectedValue(conflict());
    await expect(
      retryTransient(belowReserve, { sleep: async () => {}, random: () => 0, remainingTimeMs: () => 999 }),
    ).rejects.toBeInstanceOf(TransientFailureError);
    expect(belowReserve).toHaveBeenCalledTimes(1);
  });

  it('counts the backoff against the time left', async () => {
    // GIVEN a backoff of 99 ms and 1,098 ms left: 999 ms would remain, under the reserve
    const operation = vi.fn().mockRejectedValue(throttled());
    await expect(
      retryTransient(operation, {
        sleep: async () => {},
        random: () => 0.999,
        baseDelayMs: 100,
        remainingTimeMs: () => 1098,
      }),
    ).rejects.toBeInstanceOf(TransientFailureError);
    expect(operation).toHaveBeenCalledTimes(1);
  });

  it('tells onRetry of each retry: the error, the attempt and the backoff', async () => {
    const error = conflict();
    const onRetry = vi.fn();
    await retryTransient(vi.fn().mockRejectedValueOnce(error).mockResolvedValue('ok'), {
      sleep: async () => {},
      random: () => 0.5,
      onRetry,
    });
    expect(onRetry).toHaveBeenCalledExactlyOnceWith(error, 1, 25);
  });

  it('rethrows at once, unchanged, a transient error the caller does not want retried', async () => {
    const error = serviceError();
    const operation = vi.fn().mockRejectedValue(error);
    await expect(
      retryTransient(operation, { sleep: async () => {}, retryable: (e) => !isOutcomeUnknown(e) }),
    ).rejects.toBe(error);
    expect(operation).toHaveBeenCalledTimes(1);
    // AND one it does want retried is retried
    const conflicting = vi.fn().mockRejectedValueOnce(conflict()).mockResolvedValue('ok');
    expect(await retryTransient(conflicting, { sleep: async () => {}, retryable: () => true })).toBe('ok');
  });

  it('says what it gave up on: the last error’s name and message, or the thrown value', async () => {
    const named = await retryTransient(vi.fn().mockRejectedValue(throttled()), {
      sleep: async () => {},
      maxAttempts: 2,
    }).catch((e: unknown) => e);
    expect(named).toMatchObject({
      name: 'TransientFailureError',
      message: 'transient failure after 2 attempt(s): ThrottlingException: Rate exceeded',
    });
    const plain = { name: 'ThrottlingException' };
    const unnamed = await retryTransient(vi.fn().mockRejectedValue(plain), {
      sleep: async () => {},
      maxAttempts: 1,
    }).catch((e: unknown) => e);
    expect(unnamed).toMatchObject({
      message: 'transient failure after 1 attempt(s): [object Object]',
      cause: plain,
    });
  });

  it('sleeps with setTimeout when given no sleep', async () => {
    // GIVEN a first attempt that conflicts, and no backoff to wait
    const operation = vi.fn().mockRejectedValueOnce(conflict()).mockResolvedValue('ok');
    // WHEN / THEN
    expect(await retryTransient(operation, { random: () => 0 })).toBe('ok');
    expect(operation).toHaveBeenCalledTimes(2);
  });

  it('backs off exponentially with full jitter, capped', async () => {
    const delays: number[] = [];
    const operation = vi.fn().mockRejectedValue(throttled());
    await retryTransient(operation, {
      sleep: async (ms) => {
        delays.push(ms);
      },
      random: () => 0.999,
      baseDelayMs: 100,
      maxDelayMs: 300,
      maxAttempts: 5,
    }).catch(() => undefined);
    expect(delays).toEqual([99, 199, 299, 299]);
  });
});
