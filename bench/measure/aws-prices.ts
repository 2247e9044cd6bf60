/**
 * AWS list prices used by `npm run bench` (us-east-1, on-demand, as published on the date below). Change them
 * here, in one place, when AWS changes them.
 */
export const PRICES_AS_OF = '2026-11-01';

/** When the SNS FIFO prices below were looked up. */
export const SNS_FIFO_PRICES_AS_OF = '2026-12-07';

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
  /*
   * SNS FIFO topics (us-east-1): the prices of https://aws.amazon.com/sns/pricing/ ("FIFO topics"), looked up on
   * 2026-12-07 as quoted by https://dev.to/aws-builders/standard-vs-fifo-sns-sqs-38ld and
   * https://www.factualminds.com/blog/amazon-sns-pricing-publishes-fanout-protocols/ (2026-06-13): publish and
   * publish batch API requests $0.30 per million plus $0.017 per GB of payload; subscription messages (published
   * messages × subscriptions, filtered out or not) $0.01 per million plus $0.001 per GB of payload. SNS bills each
   * 64 KiB chunk of a request's payload as one request; a PublishBatch of up to 10 messages is one request.
   */
  /** SNS FIFO, per million Publish / PublishBatch requests (64 KiB chunks). */
  snsFifoPublishRequestPerMillion: 0.3,
  /** SNS FIFO, per GB of published payload. */
  snsFifoPublishPayloadPerGb: 0.017,
  /** SNS FIFO, per million subscription messages (one per message per subscription, e.g. an SQS FIFO queue). */
  snsFifoSubscriptionMessagePerMillion: 0.01,
  /** SNS FIFO, per GB of payload delivered to subscriptions. */
  snsFifoSubscriptionPayloadPerGb: 0.001,
} as const;
