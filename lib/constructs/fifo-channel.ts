import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledgeCfnLint } from './cfn-lint-acknowledgment';
import { keyOrNew } from './encryption-key';
import { type ChannelConsumerProps, IdempotentConsumer } from './idempotent-consumer';
import { opsCommand } from './ops-command';
import { markRole } from './resource-role';
import { validateDuration, validateRange } from './validation';

export interface FifoChannelProps {
  /**
   * Key that encrypts both queues.
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Deliveries of a message before it moves to the dead-letter queue (1 to 1,000).
   * @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long a received message stays invisible; AWS advises 6 × the consumer function's timeout.
   * @default Duration.minutes(3)
   */
  readonly visibilityTimeout?: Duration;
  /**
   * How long the queue keeps a message (1 minute to 14 days).
   * @default Duration.days(14)
   */
  readonly retentionPeriod?: Duration;
  /**
   * High-throughput FIFO: deduplication and throughput limit per message group, not per queue.
   * @default false
   */
  readonly highThroughput?: boolean;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * An SQS FIFO queue (group = ordering key, deduplication id = messageId, no content-based deduplication)
 * with a FIFO dead-letter queue, both encrypted with KMS, TLS-only, and keeping messages 14 days.
 */
export class FifoChannel extends Construct {
  public readonly queue: sqs.Queue;
  public readonly deadLetterQueue: sqs.Queue;
  public readonly encryptionKey: kms.IKey;
  public readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: FifoChannelProps = {}) {
    super(scope, id);
    validateRange('maxReceiveCount', props.maxReceiveCount, 1, 1000);
    validateDuration('visibilityTimeout', props.visibilityTimeout, Duration.seconds(0), Duration.hours(12));
    validateDuration('retentionPeriod', props.retentionPeriod, Duration.minutes(1), Duration.days(14));

    this.encryptionKey = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the FIFO channel');
    this.maxReceiveCount = props.maxReceiveCount ?? 5;
    const common = {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.encryptionKey,
      enforceSSL: true,
      retentionPeriod: props.retentionPeriod ?? Duration.days(14),
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.highThroughput
        ? {
            deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
            fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
          }
        : {}),
    };
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...common,
      retentionPeriod: Duration.days(14),
    });
    acknowledgeCfnLint(
      this.deadLetterQueue.node.defaultChild as sqs.CfnQueue,
      'ES6000',
      `It is the dead-letter queue: its messages wait for an operator (alarm DeadLetterMessages, ${opsCommand(this, 'redrive')})`,
    );
    this.queue = new sqs.Queue(this, 'Queue', {
      ...common,
      visibilityTimeout: props.visibilityTimeout ?? Duration.minutes(3),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
    markRole(this.queue, 'queue');
    markRole(this.deadLetterQueue, 'dead-letter-queue');
  }

  /**
   * Wires a consumer in one call: an `IdempotentConsumer` of this channel's queue (event source, inbox, monitor, and
   * the consumer function's environment, read by the runtime's `consumerOptionsFromEnvironment`). The producer
   * side's one call is `TransactionalOutbox.addProducer`.
   */
  addConsumer(id: string, props: ChannelConsumerProps): IdempotentConsumer {
    return new IdempotentConsumer(this, id, { ...props, queue: this.queue });
  }

  grantSendMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantSendMessages(grantee);
  }

  grantConsumeMessages(grantee: iam.IGrantable): iam.Grant {
    return this.queue.grantConsumeMessages(grantee);
  }

  /** Messages waiting in the dead-letter queue: anything above 0 needs an operator. */
  metricDeadLetterMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }

  /** Age of the oldest message in the queue: how far consumers lag. */
  metricOldestMessageAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', ...props });
  }

  /** Messages waiting in the queue: the backlog. */
  metricBacklog(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.queue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', ...props });
  }
}
