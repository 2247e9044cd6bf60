import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlertTopic, type AlertTopicProps } from './alert-topic';
import { CompensationSweeper, type CompensationSweeperProps } from './compensation-sweeper';
import type { ConsumerGroup, ConsumerGroupProps } from './consumer-group';
import { EventsTopic, type EventsTopicProps } from './events-topic';
import { FifoChannel, type FifoChannelProps } from './fifo-channel';
import type { ChannelConsumerProps, IdempotentConsumer } from './idempotent-consumer';
import { MessagingAlarms, type MessagingAlarmsProps } from './messaging-alarms';
import { OutboxRelay, type OutboxRelayProps } from './outbox-relay';
import {
  type AddProducerOptions,
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from './transactional-outbox';

export interface ReliableMessagingProps {
  /**
   * One key for every part (outbox, channel, alert topic, and the inboxes of `addConsumer`), unless that part's own
   * props give one.
   * @default each part creates its own customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /** @default AlertTopic's defaults (no subscription: the synth warns) */
  readonly alertTopic?: AlertTopicProps;
  /** @default TransactionalOutbox's defaults */
  readonly outbox?: TransactionalOutboxProps;
  /** @default FifoChannel's defaults */
  readonly channel?: FifoChannelProps;
  /** @default OutboxRelay's defaults */
  readonly relay?: Omit<OutboxRelayProps, 'outbox' | 'channel' | 'topic'>;
  /** @default CompensationSweeper's defaults */
  readonly sweeper?: Omit<CompensationSweeperProps, 'outbox' | 'channel' | 'topic' | 'alertTopic'>;
  /**
   * Fan out to consumer groups: the relay and the sweeper publish to an SNS FIFO topic (`topic`, an `EventsTopic`),
   * the pipeline's `channel` is subscribed to it as the first group (`fanOut.channelGroupName`; its consumers are
   * those of `addConsumer`), and `addConsumerGroup` adds further groups, each with its own queue and consumer.
   * @default no fan-out: the relay sends to the one queue, `channel`
   */
  readonly fanOut?: FanOutProps;
  /** @default MessagingAlarms' defaults */
  readonly alarms?: Pick<MessagingAlarmsProps, 'thresholds' | 'functions'>;
}

/** The events topic of a `ReliableMessaging` that fans out to consumer groups, and the name of its first group. */
export interface FanOutProps extends EventsTopicProps {
  /**
   * The group name of the pipeline's own `channel`, the first group (its consumers added with `addConsumer` get it
   * as their `groupName`).
   * @default 'main'
   */
  readonly channelGroupName?: string;
}

/** What `ReliableMessaging.addProducer` wires: the outbox's options, and the name of the function's alarms. */
export interface ReliableMessagingProducerOptions extends AddProducerOptions {
  /**
   * The prefix of the function's errors and throttles alarms (`<name>Errors`, `<name>Throttles`).
   * @default the function's construct id
   */
  readonly name?: string;
}

/** A consumer of the pipeline's channel: `IdempotentConsumer`'s props but the queue; the alert topic is optional. */
export interface ReliableMessagingConsumerProps extends Omit<ChannelConsumerProps, 'alertTopic'> {
  /** @default the pipeline's alert topic */
  readonly alertTopic?: sns.ITopic;
}

/** A consumer group of the pipeline's events topic: `ConsumerGroupProps`; the alert topic is optional. */
export interface ReliableMessagingConsumerGroupProps extends Omit<ConsumerGroupProps, 'alertTopic'> {
  /** @default the pipeline's alert topic */
  readonly alertTopic?: sns.ITopic;
}

/**
 * The whole reliable-messaging pipeline in one construct: an alert topic, a transactional outbox, a FIFO channel,
 * the relay between them, the compensation sweeper, and the alarms and dashboard of them all. Every part is public
 * and takes its own props; producers and consumers join with one call each:
 *
 * ```ts
 * const messaging = new ReliableMessaging(stack, 'Messaging');
 * messaging.addProducer(producer, { producerTable: { table: accounts, keyAttribute: 'pk', sequenceAttribute: 'version' } });
 * messaging.addConsumer('Consumer', { handler: consumer });
 * ```
 *
 * Fan-out to consumer groups (`fanOut`): the relay publishes to an SNS FIFO topic instead of the channel; `channel`
 * stays, subscribed to the topic as the first group, so code written for one queue keeps working; further groups:
 *
 * ```ts
 * const messaging = new ReliableMessaging(stack, 'Messaging', { fanOut: {} });
 * messaging.addConsumer('Projection', { handler: projection }); // the first group ('main'): messaging.channel
 * messaging.addConsumerGroup('Audit', { handler: audit }); // group 'audit': its own queue, DLQ, inbox and alarms
 * ```
 *
 * Transactional (half) messages are not built here: add a `TransactionCheckBack` of `messaging.outbox` and its
 * alarms (`MessagingAlarms` with `checkBack`) beside it.
 */
export class ReliableMessaging extends Construct {
  public readonly alertTopic: AlertTopic;
  public readonly outbox: TransactionalOutbox;
  /**
   * The pipeline's queue. With `fanOut`, the first consumer group's queue (subscribed to `topic`, group
   * `fanOut.channelGroupName`); without, the queue the relay sends to.
   */
  public readonly channel: FifoChannel;
  /** The SNS FIFO topic the relay and the sweeper publish to; set only with `fanOut`. */
  public readonly topic?: EventsTopic;
  /** The group name of `channel` and of the consumers of `addConsumer`; set only with `fanOut`. */
  public readonly channelGroupName?: string;
  public readonly relay: OutboxRelay;
  public readonly sweeper: CompensationSweeper;
  public readonly alarms: MessagingAlarms;
  private readonly encryptionKey?: kms.IKey;
  private readonly addedConsumers: IdempotentConsumer[] = [];
  private readonly addedGroups: ConsumerGroup[] = [];

  constructor(scope: Construct, id: string, props: ReliableMessagingProps = {}) {
    super(scope, id);
    const key = props.encryptionKey;
    this.encryptionKey = key;
    this.alertTopic = new AlertTopic(this, 'Alerts', { encryptionKey: key, ...props.alertTopic });
    this.outbox = new TransactionalOutbox(this, 'Outbox', { encryptionKey: key, ...props.outbox });
    this.channel = new FifoChannel(this, 'Channel', { encryptionKey: key, ...props.channel });
    let destination: { channel: FifoChannel } | { topic: EventsTopic } = { channel: this.channel };
    if (props.fanOut !== undefined) {
      const { channelGroupName, ...topicProps } = props.fanOut;
      this.channelGroupName = channelGroupName ?? 'main';
      this.topic = new EventsTopic(this, 'Events', { encryptionKey: key, ...topicProps });
      this.topic.subscribeChannel(this.channel, { groupName: this.channelGroupName });
      destination = { topic: this.topic };
    }
    this.relay = new OutboxRelay(this, 'Relay', {
      ...props.relay,
      outbox: this.outbox,
      ...destination,
    });
    this.sweeper = new CompensationSweeper(this, 'Sweeper', {
      ...props.sweeper,
      outbox: this.outbox,
      ...destination,
      alertTopic: this.alertTopic.topic,
    });
    this.alarms = new MessagingAlarms(this, 'Alarms', {
      ...props.alarms,
      alertTopic: this.alertTopic.topic,
      topic: this.topic,
      channel: this.channel,
      relay: this.relay,
      sweeper: this.sweeper,
    });
  }

  /** The consumers added with `addConsumer`, in order. */
  get consumers(): readonly IdempotentConsumer[] {
    return [...this.addedConsumers];
  }

  /** The consumer groups added with `addConsumerGroup`, in order (the first group, `channel`, is not one of them). */
  get consumerGroups(): readonly ConsumerGroup[] {
    return [...this.addedGroups];
  }

  /**
   * Wires a producer (`TransactionalOutbox.addProducer`: grants, `OUTBOX_TABLE_NAME`, and its table declared for the
   * ops CLI) and alarms on its errors and throttles.
   */
  addProducer(producer: lambda.Function, options: ReliableMessagingProducerOptions = {}): void {
    const { name, ...outboxOptions } = options;
    this.outbox.addProducer(producer, outboxOptions);
    this.alarms.addFunction(name ?? producer.node.id, producer);
  }

  /**
   * Adds an idempotent consumer of the channel (`FifoChannel.addConsumer`; its inbox encrypted with the pipeline's
   * key when one was given, its parked keys announced on the pipeline's alert topic) and its alarms
   * (`MessagingAlarms.addConsumer`, named after `id`).
   */
  addConsumer(id: string, props: ReliableMessagingConsumerProps): IdempotentConsumer {
    const consumer = this.channel.addConsumer(id, {
      encryptionKey: this.encryptionKey,
      groupName: this.channelGroupName,
      ...props,
      alertTopic: props.alertTopic ?? this.alertTopic.topic,
    });
    this.alarms.addConsumer(consumer, { name: id });
    this.addedConsumers.push(consumer);
    return consumer;
  }

  /**
   * Adds a consumer group of the pipeline's events topic (`EventsTopic.addGroup`: its own queue, dead-letter queue,
   * inbox and consumer; its queues and inbox encrypted with the pipeline's key when one was given, its parked keys
   * announced on the pipeline's alert topic) and its alarms (`MessagingAlarms.addConsumerGroup`, named after `id`).
   * Fails if the pipeline was built without `fanOut`.
   */
  addConsumerGroup(id: string, props: ReliableMessagingConsumerGroupProps): ConsumerGroup {
    if (this.topic === undefined) {
      throw new Error(
        `${this.node.path} has no events topic, so no consumer groups: build it with fanOut (e.g. new ReliableMessaging(scope, id, { fanOut: {} })) to add group ${id}`,
      );
    }
    const group = this.topic.addGroup(id, {
      encryptionKey: this.encryptionKey,
      ...props,
      alertTopic: props.alertTopic ?? this.alertTopic.topic,
    });
    this.alarms.addConsumerGroup(group, { name: id });
    this.addedGroups.push(group);
    return group;
  }
}
