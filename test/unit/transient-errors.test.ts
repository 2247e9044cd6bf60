import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { describe, expect, it, vi } from 'vitest';
import {
  isOutcomeUnknown,
  isTransientError,
  retryTransient,
  TransientFailureError,
} from '../../functions/runtime/transient-errors';

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
