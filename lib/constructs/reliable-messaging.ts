import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { AlertTopic, type AlertTopicProps } from './alert-topic';
import { CompensationSweeper, type CompensationSweeperProps } from './compensation-sweeper';
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
  readonly relay?: Omit<OutboxRelayProps, 'outbox' | 'channel'>;
  /** @default CompensationSweeper's defaults */
  readonly sweeper?: Omit<CompensationSweeperProps, 'outbox' | 'channel' | 'alertTopic'>;
  /** @default MessagingAlarms' defaults */
  readonly alarms?: Pick<MessagingAlarmsProps, 'thresholds' | 'functions'>;
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
 * Transactional (half) messages are not built here: add a `TransactionCheckBack` of `messaging.outbox` and its
 * alarms (`MessagingAlarms` with `checkBack`) beside it.
 */
export class ReliableMessaging extends Construct {
  public readonly alertTopic: AlertTopic;
  public readonly outbox: TransactionalOutbox;
  public readonly channel: FifoChannel;
  public readonly relay: OutboxRelay;
  public readonly sweeper: CompensationSweeper;
  public readonly alarms: MessagingAlarms;
  private readonly encryptionKey?: kms.IKey;
  private readonly addedConsumers: IdempotentConsumer[] = [];

  constructor(scope: Construct, id: string, props: ReliableMessagingProps = {}) {
    super(scope, id);
    const key = props.encryptionKey;
    this.encryptionKey = key;
    this.alertTopic = new AlertTopic(this, 'Alerts', { encryptionKey: key, ...props.alertTopic });
    this.outbox = new TransactionalOutbox(this, 'Outbox', { encryptionKey: key, ...props.outbox });
    this.channel = new FifoChannel(this, 'Channel', { encryptionKey: key, ...props.channel });
    this.relay = new OutboxRelay(this, 'Relay', {
      ...props.relay,
      outbox: this.outbox,
      channel: this.channel,
    });
    this.sweeper = new CompensationSweeper(this, 'Sweeper', {
      ...props.sweeper,
      outbox: this.outbox,
      channel: this.channel,
      alertTopic: this.alertTopic.topic,
    });
    this.alarms = new MessagingAlarms(this, 'Alarms', {
      ...props.alarms,
      alertTopic: this.alertTopic.topic,
      channel: this.channel,
      relay: this.relay,
      sweeper: this.sweeper,
    });
  }

  /** The consumers added with `addConsumer`, in order. */
  get consumers(): readonly IdempotentConsumer[] {
    return [...this.addedConsumers];
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
      ...props,
      alertTopic: props.alertTopic ?? this.alertTopic.topic,
    });
    this.alarms.addConsumer(consumer, { name: id });
    this.addedConsumers.push(consumer);
    return consumer;
  }
}
