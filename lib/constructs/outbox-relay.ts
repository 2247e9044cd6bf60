import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import { MetricsService } from '../../functions/runtime/metric-names';
import { BundledFunction } from './bundled-function';
import { acknowledgeCfnLint } from './cfn-lint-acknowledgment';
import type { EventsTopic } from './events-topic';
import type { FaultInjection } from './fault-injection';
import type { FifoChannel } from './fifo-channel';
import { libraryHandler } from './library-handlers';
import { destinationOf } from './publish-destination';
import { markRole } from './resource-role';
import type { TransactionalOutbox } from './transactional-outbox';
import { validateDuration, validateRange } from './validation';

export interface OutboxRelayProps {
  readonly outbox: TransactionalOutbox;
  /**
   * The FIFO queue the relay sends to (`QUEUE_URL`, `sqs:SendMessage`): the single-queue pipeline. Give exactly one
   * of `channel` and `topic`.
   * @default none: `topic` is given
   */
  readonly channel?: FifoChannel;
  /**
   * The SNS FIFO topic the relay publishes to (`TOPIC_ARN`, `EventsTopic.grantPublish`), when messages fan out to
   * consumer groups. Give exactly one of `channel` and `topic`.
   * @default none: `channel` is given
   */
  readonly topic?: EventsTopic;
  /**
   * Stream records per invocation (1 to 10,000); the relay sends them 10 per SendMessageBatch.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * How long to gather records before invoking (0 to 300 s): trades latency for fewer invocations.
   * @default Duration.seconds(0)
   */
  readonly maxBatchingWindow?: Duration;
  /**
   * Retries of a failed batch before its records go to the on-failure queue (0 to 10,000). The messages
   * stay in the outbox either way, so the compensation sweep re-sends them.
   * @default 10
   */
  readonly retryAttempts?: number;
  /**
   * Records older than this are not retried (60 s to 7 days).
   * @default Duration.hours(6)
   */
  readonly maxRecordAge?: Duration;
  /**
   * Concurrent batches per stream shard (1 to 10); order per key is kept at any setting.
   * @default 1
   */
  readonly parallelizationFactor?: number;
  /** @default Duration.minutes(1) */
  readonly timeout?: Duration;
  /** @default no fault injection */
  readonly faultInjection?: FaultInjection;
}

/**
 * Publishes the outbox to the FIFO channel (or the events topic of consumer groups): a function fed by the outbox stream, filtered to INSERTs of
 * PENDING messages, starting at TRIM_HORIZON, with bisect on error, bounded retries and record age, partial
 * batch responses, and an on-failure queue (encrypted, TLS-only, 14 days) for records it gave up on. It deletes
 * what it sent and marks for the compensation sweep what it could not send (`grantRemoveSent`, `grantMarkForSweep`).
 */
export class OutboxRelay extends Construct {
  public readonly function: lambda.Function;
  /** Stream batches the relay gave up on (metadata only: the messages themselves stay in the outbox). */
  public readonly failureQueue: sqs.Queue;
  public readonly eventSource: sources.DynamoEventSource;

  constructor(scope: Construct, id: string, props: OutboxRelayProps) {
    super(scope, id);
    validateRange('batchSize', props.batchSize, 1, 10_000);
    validateRange('retryAttempts', props.retryAttempts, 0, 10_000);
    validateRange('parallelizationFactor', props.parallelizationFactor, 1, 10);
    validateDuration(
      'maxBatchingWindow',
      props.maxBatchingWindow,
      Duration.seconds(0),
      Duration.seconds(300),
    );
    validateDuration('maxRecordAge', props.maxRecordAge, Duration.seconds(60), Duration.days(7));
    const destination = destinationOf('OutboxRelay', props);

    this.function = new BundledFunction(this, 'Handler', {
      ...libraryHandler('relay'),
      timeout: props.timeout ?? Duration.minutes(1),
      faultInjection: props.faultInjection,
      environment: {
        [Env.OUTBOX_TABLE_NAME]: props.outbox.table.tableName,
        ...destination.environment,
        [Env.POWERTOOLS_SERVICE_NAME]: MetricsService.RELAY,
      },
    }).function;
    markRole(this.function, 'relay-function');
    destination.grantSend(this.function);
    props.outbox.grantRemoveSent(this.function);
    props.outbox.grantMarkForSweep(this.function);

    this.failureQueue = new sqs.Queue(this, 'FailureQueue', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: destination.encryptionKey,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.RETAIN,
    });
    markRole(this.failureQueue, 'relay-failure-queue');
    Validations.of(this.failureQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        "It is itself a dead-letter destination (the stream mapping's on-failure queue); nothing consumes it automatically",
    });

    acknowledgeCfnLint(
      this.failureQueue.node.defaultChild as sqs.CfnQueue,
      'ES6000',
      "It is itself a dead-letter destination (the stream mapping's on-failure queue); its messages stay for an operator",
    );

    this.eventSource = new sources.DynamoEventSource(props.outbox.table, {
      startingPosition: lambda.StartingPosition.TRIM_HORIZON,
      batchSize: props.batchSize ?? 100,
      maxBatchingWindow: props.maxBatchingWindow,
      bisectBatchOnError: true,
      retryAttempts: props.retryAttempts ?? 10,
      maxRecordAge: props.maxRecordAge ?? Duration.hours(6),
      parallelizationFactor: props.parallelizationFactor ?? 1,
      reportBatchItemFailures: true,
      onFailure: new sources.SqsDlq(this.failureQueue),
      filters: [
        lambda.FilterCriteria.filter({
          eventName: lambda.FilterRule.isEqual('INSERT'),
          dynamodb: { NewImage: { status: { S: lambda.FilterRule.isEqual('PENDING') } } },
        }),
      ],
    });
    this.function.addEventSource(this.eventSource);
    if (this.function.role !== undefined) {
      Validations.of(this.function.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'Besides X-Ray, dynamodb:ListStreams, which the stream event source grants on * (it lists streams, reads none)',
      });
    }
  }

  /** How far behind the stream the relay is (milliseconds). */
  metricIteratorAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metric('IteratorAge', { statistic: 'Maximum', ...props });
  }

  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.function.metricErrors(props);
  }
}
