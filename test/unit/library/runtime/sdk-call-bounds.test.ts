import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  boundedClientConfig,
  DEFAULT_SDK_CALL_BOUNDS,
  documentClient,
  sdkCallBoundsFromEnvironment,
  worstCaseCallMs,
} from '../../../../functions/runtime/clients';
import { DEFAULT_TIME_RESERVE_MS } from '../../../../functions/runtime/consumer/idempotent-consumer';
import { ConfigurationError } from '../../../../functions/runtime/errors';

describe('SDK call bounds', () => {
  it('ends a call, by default, within the consumer’s time reserve: no in-process retry can outlast it', () => {
    expect(DEFAULT_SDK_CALL_BOUNDS).toEqual({
      connectionTimeoutMs: 1000,
      requestTimeoutMs: 1000,
      maxAttempts: 2,
    });
    expect(worstCaseCallMs()).toBe(4500);
    expect(worstCaseCallMs()).toBeLessThanOrEqual(DEFAULT_TIME_RESERVE_MS);
  });

  it('counts every attempt’s whole time and the SDK’s longest backoff before each retry', () => {
    expect(worstCaseCallMs({ connectionTimeoutMs: 100, requestTimeoutMs: 200, maxAttempts: 1 })).toBe(300);
    expect(worstCaseCallMs({ connectionTimeoutMs: 100, requestTimeoutMs: 200, maxAttempts: 3 })).toBe(
      900 + 500 + 1000,
    );
  });

  it('reads the bounds from the environment, each falling back to its default', () => {
    expect(sdkCallBoundsFromEnvironment({})).toEqual(DEFAULT_SDK_CALL_BOUNDS);
    expect(
      sdkCallBoundsFromEnvironment({
        SDK_CONNECTION_TIMEOUT_MS: '300',
        SDK_REQUEST_TIMEOUT_MS: '700',
        SDK_MAX_ATTEMPTS: '3',
      }),
    ).toEqual({ connectionTimeoutMs: 300, requestTimeoutMs: 700, maxAttempts: 3 });
    expect(sdkCallBoundsFromEnvironment({ SDK_REQUEST_TIMEOUT_MS: '' })).toEqual(DEFAULT_SDK_CALL_BOUNDS);
    expect(sdkCallBoundsFromEnvironment({ SDK_MAX_ATTEMPTS: '1' }).maxAttempts).toBe(1);
  });

  it.each(['0', '-1', '1.5', 'soon'])('fails if a bound is %s: not a positive integer', (text) => {
    expect(() => sdkCallBoundsFromEnvironment({ SDK_CONNECTION_TIMEOUT_MS: text })).toThrow(
      new ConfigurationError(
        `environment variable SDK_CONNECTION_TIMEOUT_MS must be a positive integer; got '${text}'`,
      ),
    );
  });

  it('configures a client whose requests time out (and throw) and whose attempts are bounded', async () => {
    // WHEN
    const config = boundedClientConfig({ connectionTimeoutMs: 250, requestTimeoutMs: 750, maxAttempts: 3 });
    const client = new DynamoDBClient({ ...config, region: 'us-east-1' });

    // THEN
    expect(config).toEqual({
      maxAttempts: 3,
      requestHandler: { connectionTimeout: 250, requestTimeout: 750, throwOnRequestTimeout: true },
    });
    expect(await client.config.maxAttempts()).toBe(3);
    // (the Node handler resolves its options lazily, from this promise)
    const handler = client.config.requestHandler as unknown as { configProvider: Promise<unknown> };
    expect(await handler.configProvider).toMatchObject({
      connectionTimeout: 250,
      requestTimeout: 750,
      throwOnRequestTimeout: true,
    });
  });

  it('makes document clients that drop undefined attributes', () => {
    // WHEN
    const client = documentClient(new DynamoDBClient({ region: 'us-east-1' }));

    // THEN
    expect(client.config.translateConfig?.marshallOptions).toEqual({ removeUndefinedValues: true });
  });

  it('reads the environment by default', () => {
    expect(boundedClientConfig().maxAttempts).toBe(sdkCallBoundsFromEnvironment(process.env).maxAttempts);
  });
});
