/**
 * AWS list prices used by `npm run bench` (us-east-1, on-demand, as published on the date below). Change them
 * here, in one place, when AWS changes them.
 */
export const PRICES_AS_OF = '2026-11-01';

export const AWS_PRICES_USD = {
  /** DynamoDB on-demand, per million write request units. */
  dynamodbWriteUnitPerMillion: 0.625,
  /** DynamoDB on-demand, per million read request units. */
  dynamodbReadUnitPerMillion: 0.125,
  /** SQS FIFO, per million requests (64 KiB chunks). */
  sqsFifoRequestPerMillion: 0.5,
  /** Lambda, per million requests. */
  lambdaRequestPerMillion: 0.2,
  /** Lambda duration on arm64, per GB-second (first 7.5 billion GB-s a month). */
  lambdaArmGbSecond: 0.0000133334,
  /** API Gateway HTTP API, per million requests (first 300 million). */
  httpApiRequestPerMillion: 1.0,
} as const;
