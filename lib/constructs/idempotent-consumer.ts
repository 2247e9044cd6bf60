import { Duration, Stack, Validations } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ATTENTION_INDEX } from '../../functions/runtime/consumer/attention-index';
import {
  IDEMPOTENCY_STRATEGIES,
  type IdempotencyStrategy,
} from '../../functions/runtime/consumer/effect-strategies';
import { Env } from '../../functions/runtime/environment';
import {
  CONSUMER_METRICS_SERVICE,
  INBOX_MONITOR_COMPLETED_METRIC,
  InboxMonitorMetric,
  MetricsService,
  UNREADABLE_MESSAGES_METRIC,
} from '../../functions/runtime/metric-names';
import { BundledFunction } from './bundled-function';
import { acknowledgeCfnLint } from './cfn-lint-acknowledgment';
import { type CursorTable, declareCursorTable } from './cursor-table';
import { type DurabilityProps, DurableTable } from './durable-table';
import { keyOrNew } from './encryption-key';
import type { FaultInjection } from './fault-injection';
import { libraryHandler } from './library-handlers';
import { libraryMetric, publishLibraryMetrics } from './library-metric';
import { markGroup, markRole } from './resource-role';
import { runOnSchedule } from './scheduled-run';
import { grantIndexQuery, grantItemActions } from './table-grants';
import { validateDuration, validateGroupName, validateMessageTypes, validateRange } from './validation';

export type { IdempotencyStrategy };

export interface IdempotentConsumerProps extends DurabilityProps {
  /** The FIFO queue to consume. */
  readonly queue: sqs.IQueue;
  /**
   * The consumer function. It uses the runtime's `IdempotentConsumer`; this construct puts in its environment
   * the inbox table (`INBOX_TABLE_NAME`), the retention (`INBOX_RETENTION_SECONDS`), the claim time
   * (`INBOX_CLAIM_SECONDS`), the strategies (`IDEMPOTENCY_STRATEGIES`), when to park (`PARK_AFTER_FAILURES`),
   * where to alert (`ALERT_TOPIC_ARN`) and the queue (`QUEUE_URL`, which it may send to, to continue a release).
   */
  readonly handler: lambda.Function;
  /** Where a parked key is announced. */
  readonly alertTopic: sns.ITopic;
  /**
   * Your table that keeps the consumer's cursors, one item per key (`{ [keyAttribute]: groupKey, lastSequence, … }`),
   * e.g. a per-key view that a `cursorEffect` writes in the same write as the cursor. The handler is granted read
   * and write on it and gets `CURSOR_TABLE_NAME` and `CURSOR_KEY_ATTRIBUTE` (`fifoConsumerHandler` and
   * `consumerOptionsFromEnvironment` use them as the consumer's `cursor`), and the table is declared to the ops CLI
   * (`reconcile` reads each key's last applied sequence there).
   * @default the cursors are in the inbox table
   */
  readonly cursorTable?: CursorTable;
  /**
   * The strategy of every effect not named in `effectStrategies`:
   * - `unique`: a conditional put of the messageId claims the effect for this delivery; the effect and its mark are
   *   then one TransactWriteItems conditioned on the claim (exactly once for DynamoDB effects, whatever answers are
   *   lost; a claim is released only when DynamoDB said nothing was written);
   * - `version`: the effect is conditional on its target's version being `sequence − 1` (no inbox write at all;
   *   needs an effect that writes a versioned item);
   * - `transaction`: inbox mark + effect in one TransactWriteItems (exactly once for DynamoDB effects).
   * @default 'transaction'
   */
  readonly strategy?: IdempotencyStrategy;
  /**
   * The strategy of individual effects, by the name the consumer gives them.
   * @default every effect uses `strategy`
   */
  readonly effectStrategies?: Readonly<Record<string, IdempotencyStrategy>>;
  /**
   * How long a consumed messageId is remembered (the replay horizon), 1 to 365 days. Keep it above the
   * queue's retention plus the stream's 24 hours so that any replay is recognised.
   * @default Duration.days(15)
   */
  readonly retention?: Duration;
  /**
   * Failed attempts of one message after which its key is parked (1 to 100); keep it below the queue's
   * maxReceiveCount so the key is parked rather than the message dead-lettered.
   * @default 3
   */
  readonly parkAfterFailures?: number;
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
  /**
   * Builds the inbox monitor with its fault-injection code (the consumer function is yours: build it with the same
   * `FaultInjection`). For test stacks only.
   * @default no fault injection
   */
  readonly faultInjection?: FaultInjection;
  /**
   * The consumer group this consumer is the consumer of (a queue subscribed to an `EventsTopic`, see `ConsumerGroup`):
   * its function gets `CONSUMER_GROUP` (its logs and alerts name the group) and the group's resources (inbox table,
   * consumer function, cursor table) carry the group metadata the ops CLI picks a group by (`ops --group <name>`).
   * 1 to 40 lowercase letters, digits and hyphens, starting with a letter.
   * @default the stack's one unnamed group (a pipeline with a single queue)
   */
  readonly groupName?: string;
  /**
   * The message types this consumer applies (`CONSUMER_MESSAGE_TYPES`, JSON): any other message of a key advances
   * the key's cursor with no effect, so the key's order and gap detection stay exact (every message is delivered;
   * none is filtered out before the consumer). Non-empty, no blank or repeated type.
   * @default every type is applied
   */
  readonly messageTypes?: readonly string[];
}

/** The props of a consumer of a given queue (`FifoChannel.addConsumer`): all but the queue. */
export interface ChannelConsumerProps extends Omit<IdempotentConsumerProps, 'queue'> {}

/**
 * Consumes a FIFO queue so that each message's effects are applied once and in order per key: an SQS event source
 * with partial batch responses; an inbox table (TTL `expiresAt`) with each key's cursor, the strategies' records,
 * messages held back by a gap and parked keys, plus a sparse index of what needs attention; and a monitor that
 * publishes the age of the oldest gap and the parked keys every minute.
 */
export class IdempotentConsumer extends Construct {
  public readonly inboxTable: dynamodb.Table;
  public readonly eventSource: sources.SqsEventSource;
  /** Publishes the inbox's held and parked messages as metrics. */
  public readonly monitor: lambda.Function;
  /** How often the monitor inspects the inbox. */
  public readonly monitorSchedule: Duration = Duration.minutes(1);
  /** The consumer function (`props.handler`). */
  public readonly handler: lambda.Function;

  constructor(scope: Construct, id: string, props: IdempotentConsumerProps) {
    super(scope, id);
    validateRange('batchSize', props.batchSize, 1, 10);
    validateRange('maxConcurrency', props.maxConcurrency, 2, 1000);
    validateRange('parkAfterFailures', props.parkAfterFailures, 1, 100);
    validateDuration('retention', props.retention, Duration.days(1), Duration.days(365));
    validateGroupName('groupName', props.groupName);
    validateMessageTypes('messageTypes', props.messageTypes);
    const strategies = { default: props.strategy ?? 'transaction', effects: { ...props.effectStrategies } };
    for (const [name, strategy] of [
      ['strategy', strategies.default],
      ...Object.entries(strategies.effects),
    ]) {
      if (!(IDEMPOTENCY_STRATEGIES as readonly string[]).includes(strategy as string)) {
        throw new Error(
          `${name === 'strategy' ? 'strategy' : `effectStrategies.${name}`} must be one of ${IDEMPOTENCY_STRATEGIES.join(', ')}; got '${strategy}'`,
        );
      }
    }
    this.handler = props.handler;

    const key = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the consumer inbox');
    this.inboxTable = new DurableTable(this, 'Inbox', {
      ...props,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      encryptionKey: key,
    }).table;
    markRole(this.inboxTable, 'inbox-table');
    markRole(props.handler, 'consumer-function');
    // Sparse: only HELD and PARKED items carry `attention`, so reading it costs O(held + parked); its values are
    // sharded by key hash (`HELD#07`), so no one partition takes every hold and release (attention-index.ts).
    this.inboxTable.addGlobalSecondaryIndex({
      indexName: ATTENTION_INDEX,
      partitionKey: { name: 'attention', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'since', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.KEYS_ONLY,
    });
    // What the runtime's consumer calls on its inbox: no Query, no Scan, no batch writes.
    grantItemActions(this.inboxTable, props.handler, 'GetItem', 'PutItem', 'UpdateItem', 'DeleteItem');
    props.alertTopic.grantPublish(props.handler);

    const retention = props.retention ?? Duration.days(15);
    // A claim must outlive the invocation that holds it, or a second delivery could run the effect concurrently.
    const claimSeconds = props.handler.timeout === undefined ? 60 : props.handler.timeout.toSeconds() + 30;
    props.handler.addEnvironment(Env.INBOX_TABLE_NAME, this.inboxTable.tableName);
    props.handler.addEnvironment(Env.INBOX_RETENTION_SECONDS, String(retention.toSeconds()));
    props.handler.addEnvironment(Env.INBOX_CLAIM_SECONDS, String(claimSeconds));
    props.handler.addEnvironment(Env.IDEMPOTENCY_STRATEGIES, JSON.stringify(strategies));
    props.handler.addEnvironment(Env.PARK_AFTER_FAILURES, String(props.parkAfterFailures ?? 3));
    props.handler.addEnvironment(Env.ALERT_TOPIC_ARN, props.alertTopic.topicArn);
    if (props.groupName !== undefined) {
      markGroup(this.inboxTable, props.groupName);
      markGroup(props.handler, props.groupName);
      props.handler.addEnvironment(Env.CONSUMER_GROUP, props.groupName);
    }
    if (props.messageTypes !== undefined) {
      props.handler.addEnvironment(Env.CONSUMER_MESSAGE_TYPES, JSON.stringify(props.messageTypes));
    }
    if (props.cursorTable !== undefined) {
      declareCursorTable(this, props.cursorTable, props.groupName);
      props.cursorTable.table.grantReadWriteData(props.handler);
      props.handler.addEnvironment(Env.CURSOR_TABLE_NAME, props.cursorTable.table.tableName);
      props.handler.addEnvironment(Env.CURSOR_KEY_ATTRIBUTE, props.cursorTable.keyAttribute);
    }
    publishLibraryMetrics(props.handler);
    // A long held chain is released in bounded steps, each continued by putting the next held message back on the
    // queue (`resendToContinue`).
    props.handler.addEnvironment(Env.QUEUE_URL, props.queue.queueUrl);
    props.queue.grantSendMessages(props.handler);
    // That hand-over is SQS → consumer → the same queue: Lambda's recursive-loop detection would stop a chain of more
    // than about 16 hops (dropping the message, and stalling its key). The consumer is allowed to loop; dropped
    // recursive invocations still alarm (metricRecursiveInvocationsDropped, MessagingAlarms).
    allowRecursiveLoop(props.handler);

    this.eventSource = new sources.SqsEventSource(props.queue, {
      batchSize: props.batchSize ?? 10,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency ?? 10,
    });
    props.handler.addEventSource(this.eventSource);
    for (const mapping of props.handler.node.findAll()) {
      if (
        !(mapping instanceof lambda.CfnEventSourceMapping) ||
        mapping.eventSourceArn !== props.queue.queueArn
      )
        continue;
      acknowledgeCfnLint(
        mapping,
        'ES1001',
        "An SQS mapping takes no on-failure destination: the queue's redrive policy moves a failing message to its dead-letter queue",
      );
    }

    this.monitor = new BundledFunction(this, 'Monitor', {
      ...libraryHandler('inbox-monitor'),
      timeout: Duration.minutes(1),
      faultInjection: props.faultInjection,
      environment: {
        [Env.INBOX_TABLE_NAME]: this.inboxTable.tableName,
        [Env.POWERTOOLS_SERVICE_NAME]: MetricsService.INBOX_MONITOR,
      },
    }).function;
    // The monitor reads the sparse attention index only.
    grantIndexQuery(this.inboxTable, ATTENTION_INDEX, this.monitor);
    // CDK's table grants cover `<table>/index/*`; this table has one index, the sparse, keys-only attention index.
    const inboxIndexes = `Resource::<${Stack.of(this).getLogicalId(this.inboxTable.node.defaultChild as dynamodb.CfnTable)}.Arn>/index/*`;
    const role = props.handler.role;
    if (role !== undefined) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[${inboxIndexes}]`,
        reason:
          "The inbox table's indexes only: its one index (attention) is sparse and keys-only, of the same table",
      });
    }
    runOnSchedule(this, 'MonitorSchedule', this.monitor, {
      every: this.monitorSchedule,
      description: 'Publishes the inbox gaps and parked keys',
    });
  }

  /** How long the oldest gap has been open (seconds): a message waiting for its predecessor. */
  metricOldestHeldAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(
      this,
      MetricsService.INBOX_MONITOR,
      InboxMonitorMetric.OLDEST_HELD_AGE_SECONDS,
      props,
    );
  }

  /** Keys parked and waiting for a replay. */
  metricParkedKeys(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(this, MetricsService.INBOX_MONITOR, InboxMonitorMetric.PARKED_KEYS, props);
  }

  /** Inbox inspections that ended without an error (the monitor's heartbeat), summed per schedule period. */
  metricMonitorPassesCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(this, MetricsService.INBOX_MONITOR, INBOX_MONITOR_COMPLETED_METRIC, {
      statistic: 'Sum',
      period: this.monitorSchedule,
      ...props,
    });
  }

  /**
   * Messages whose body was not even a readable envelope (not sent by a relay of this library, or damaged): the
   * consumer parks them with their reason instead of applying them. Summed per minute by default.
   */
  metricUnreadableMessages(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(this, CONSUMER_METRICS_SERVICE, UNREADABLE_MESSAGES_METRIC, {
      statistic: 'Sum',
      ...props,
    });
  }

  metricErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metricErrors(props);
  }

  /** Invocations of the consumer Lambda stopped as a recursive loop (AWS/Lambda `RecursiveInvocationsDropped`). */
  metricRecursiveInvocationsDropped(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.handler.metric('RecursiveInvocationsDropped', { statistic: 'Sum', ...props });
  }
}

/** Sets the function's recursive-loop setting to Allow (CloudFormation `RecursiveLoop`). */
function allowRecursiveLoop(fn: lambda.Function): void {
  (fn.node.defaultChild as lambda.CfnFunction).recursiveLoop = lambda.RecursiveLoop.ALLOW;
}
