import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { type DurabilityProps, DurableTable } from './durable-table';
import { keyOrNew } from './encryption-key';
import { validateDuration, validateRange } from './validation';

/** How a consumer makes sure a message's effect happens once. */
export type IdempotencyStrategy = 'unique';

export interface IdempotentConsumerProps extends DurabilityProps {
  /** The FIFO queue to consume. */
  readonly queue: sqs.IQueue;
  /**
   * The consumer function: it uses the runtime's `IdempotentOrderedConsumer` with the inbox table whose
   * name, retention and claim time this construct puts in its environment (`INBOX_TABLE_NAME`,
   * `INBOX_RETENTION_SECONDS`, `INBOX_CLAIM_SECONDS`).
   */
  readonly handler: lambda.Function;
  /**
   * How the effect is made to happen once per messageId.
   * @default 'unique'
   */
  readonly strategy?: IdempotencyStrategy;
  /**
   * How long a consumed messageId is remembered (the replay horizon), 1 to 365 days. Keep it above the
   * queue's retention plus the stream's 24 hours so that any replay is recognised.
   * @default Duration.days(15)
   */
  readonly retention?: Duration;
  /**
   * Records per invocation (1 to 10 on FIFO queues).
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Most concurrent invocations the queue may cause (2 to 1,000). FIFO message groups are the unit of
   * parallelism: concurrency beyond the number of active keys buys nothing.
   * @default 10
   */
  readonly maxConcurrency?: number;
  /**
   * Key that encrypts the inbox table.
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * Consumes a FIFO queue so that each message's effect is applied once per messageId and in order per key:
 * an SQS event source with partial batch responses, and an inbox table (TTL `expiresAt`) holding idempotency
 * records, each key's last applied sequence, and messages held back by a gap.
 */
export class IdempotentConsumer extends Construct {
  public readonly inboxTable: dynamodb.Table;
  public readonly eventSource: sources.SqsEventSource;
  public readonly strategy: IdempotencyStrategy;
  private readonly handler: lambda.Function;

  constructor(scope: Construct, id: string, props: IdempotentConsumerProps) {
    super(scope, id);
    validateRange('batchSize', props.batchSize, 1, 10);
    validateRange('maxConcurrency', props.maxConcurrency, 2, 1000);
    validateDuration('retention', props.retention, Duration.days(1), Duration.days(365));
    if (props.strategy !== undefined && props.strategy !== 'unique') {
      throw new Error(`strategy must be 'unique'; got '${props.strategy}'`);
    }
    this.strategy = props.strategy ?? 'unique';
    this.handler = props.handler;

    const key = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the consumer inbox');
    this.inboxTable = new DurableTable(this, 'Inbox', {
      ...props,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      encryptionKey: key,
    }).table;
    this.inboxTable.grantReadWriteData(props.handler);

    const retention = props.retention ?? Duration.days(15);
    // A claim must outlive the invocation that holds it, or a second delivery could run the effect concurrently.
    const claimSeconds = props.handler.timeout === undefined ? 60 : props.handler.timeout.toSeconds() + 30;
    props.handler.addEnvironment('INBOX_TABLE_NAME', this.inboxTable.tableName);
    props.handler.addEnvironment('INBOX_RETENTION_SECONDS', String(retention.toSeconds()));
    props.handler.addEnvironment('INBOX_CLAIM_SECONDS', String(claimSeconds));
    props.handler.addEnvironment('IDEMPOTENCY_STRATEGY', this.strategy);

    this.eventSource = new sources.SqsEventSource(props.queue, {
      batchSize: props.batchSize ?? 10,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency ?? 10,
    });
    props.handler.addEventSource(this.eventSource);
  }

  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metricErrors(props);
  }
}
