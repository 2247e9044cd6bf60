import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from './errors';

/** The document client every function uses: plain JS values in and out, undefined attributes dropped. */
export function documentClient(client: DynamoDBClient = new DynamoDBClient({})): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/**
 * How long one SDK call (its own retries included) may take. The SDK's defaults bound nothing — no connection or
 * request timeout, and its retries wait out throttling — so a call can outlast any time reserve a caller keeps, and
 * a Lambda invocation then runs into its timeout, which fails its whole batch. With these bounds a call ends, with
 * an answer or an error, within {@link worstCaseCallMs}.
 */
export interface SdkCallBounds {
  /** Milliseconds to set up a connection before the attempt fails. @default 1000 */
  readonly connectionTimeoutMs: number;
  /** Milliseconds an attempt's request and response may take before it fails with a `TimeoutError`. @default 1000 */
  readonly requestTimeoutMs: number;
  /** Attempts of one call, the first and the SDK's own retries. @default 2 */
  readonly maxAttempts: number;
}

/**
 * The defaults: a call ends within 4.5 s ({@link worstCaseCallMs}), inside the consumer's 5 s time reserve
 * (`processFifoBatch`'s `reserveMs`, the consumer's `DEFAULT_TIME_RESERVE_MS`). A DynamoDB, SQS or SNS call normally
 * answers in milliseconds; what fails here is retried by the caller's own bounded, time-aware retries.
 */
export const DEFAULT_SDK_CALL_BOUNDS: SdkCallBounds = {
  connectionTimeoutMs: 1000,
  requestTimeoutMs: 1000,
  maxAttempts: 2,
};

/** Environment variables that override {@link DEFAULT_SDK_CALL_BOUNDS} (positive integers). */
export const SDK_CALL_BOUNDS_ENV = {
  connectionTimeoutMs: 'SDK_CONNECTION_TIMEOUT_MS',
  requestTimeoutMs: 'SDK_REQUEST_TIMEOUT_MS',
  maxAttempts: 'SDK_MAX_ATTEMPTS',
} as const satisfies Record<keyof SdkCallBounds, string>;

/** The SDK's standard retry strategy waits at most this × 2^k before its retry k (k from 0) of a throttled call. */
const SDK_THROTTLING_DELAY_BASE_MS = 500;

/**
 * The longest one call can take under `bounds`: every attempt spends its whole connection and request time, and the
 * SDK waits the longest backoff (the throttling one) before each retry.
 */
export function worstCaseCallMs(bounds: SdkCallBounds = DEFAULT_SDK_CALL_BOUNDS): number {
  let backoff = 0;
  for (let retry = 0; retry < bounds.maxAttempts - 1; retry++)
    backoff += SDK_THROTTLING_DELAY_BASE_MS * 2 ** retry;
  return bounds.maxAttempts * (bounds.connectionTimeoutMs + bounds.requestTimeoutMs) + backoff;
}

/**
 * {@link DEFAULT_SDK_CALL_BOUNDS}, with any of `SDK_CONNECTION_TIMEOUT_MS`, `SDK_REQUEST_TIMEOUT_MS` and
 * `SDK_MAX_ATTEMPTS` set in `env` instead. Throws a `ConfigurationError` naming a variable that is not a positive
 * integer.
 */
export function sdkCallBoundsFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
): SdkCallBounds {
  const read = (field: keyof SdkCallBounds): number => {
    const name = SDK_CALL_BOUNDS_ENV[field];
    const text = env[name];
    if (text === undefined || text === '') return DEFAULT_SDK_CALL_BOUNDS[field];
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) {
      throw new ConfigurationError(`environment variable ${name} must be a positive integer; got '${text}'`);
    }
    return value;
  };
  return {
    connectionTimeoutMs: read('connectionTimeoutMs'),
    requestTimeoutMs: read('requestTimeoutMs'),
    maxAttempts: read('maxAttempts'),
  };
}

/** The part of an SDK client's configuration that applies `bounds`. */
export interface BoundedClientConfig {
  readonly maxAttempts: number;
  readonly requestHandler: {
    readonly connectionTimeout: number;
    readonly requestTimeout: number;
    /** Without it the SDK only logs a request that outlasts `requestTimeout`. */
    readonly throwOnRequestTimeout: true;
  };
}

/**
 * A client configuration whose calls end within {@link worstCaseCallMs}: spread it into any SDK v3 client's
 * constructor, e.g. `new DynamoDBClient(boundedClientConfig())`.
 * @default bounds from the environment ({@link sdkCallBoundsFromEnvironment})
 */
export function boundedClientConfig(
  bounds: SdkCallBounds = sdkCallBoundsFromEnvironment(),
): BoundedClientConfig {
  return {
    maxAttempts: bounds.maxAttempts,
    requestHandler: {
      connectionTimeout: bounds.connectionTimeoutMs,
      requestTimeout: bounds.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}
