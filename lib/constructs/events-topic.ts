import { Annotations, RemovalPolicy, Stack, Token } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { ConsumerGroup, type ConsumerGroupProps } from './consumer-group';
import { keyOrNew } from './encryption-key';
import type { FifoChannel } from './fifo-channel';
import { markGroup, markRole } from './resource-role';
import { validateGroupName } from './validation';

export interface EventsTopicProps {
  /**
   * Key that encrypts the topic. Publishers (`grantPublish`) are granted its use.
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * High-throughput FIFO: deduplication and the throughput quota per message group (`FifoThroughputScope`
   * `MessageGroup`), not per topic. Each message's group is its key and its deduplication id its messageId, so
   * deduplication per group loses nothing.
   * @default false: SNS's default scope, the topic
   */
  readonly highThroughput?: boolean;
  /**
   * The topic keeps no message (every message is delivered to the groups' queues at once), so it is destroyed with
   * the stack by default; the groups' queues keep their own removal policy.
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** How `EventsTopic.subscribeChannel` subscribes a channel. */
export interface SubscribeChannelOptions {
  /** The consumer group the channel is the queue of (see `ConsumerGroupProps.groupName`). */
  readonly groupName: string;
}

const SNS = new iam.ServicePrincipal('sns.amazonaws.com');

/**
 * The SNS FIFO topic a relay and a sweeper publish the outbox to when messages fan out to several consumer groups
 * (`OutboxRelayProps.topic`, `CompensationSweeperProps.topic`): FIFO (group = the message's key, deduplication id =
 * its messageId, no content-based deduplication), KMS-encrypted, TLS-only publishing. Each group is an SQS FIFO
 * queue subscribed with raw delivery and its own consumer: `addGroup`.
 */
export class EventsTopic extends Construct {
  public readonly topic: sns.Topic;
  public readonly encryptionKey: kms.IKey;
  /**
   * The topic's ARN as a key policy names it: built from the topic's name CDK generates at synth (no reference to
   * the topic), so a key that encrypts both the topic and a group's queue can name the topic in its own policy without
   * a circular dependency (topic → key → topic).
   */
  private readonly arnForKeyPolicies: string;
  private readonly groupNames = new Set<string>();
  private readonly subscribedChannels = new Set<FifoChannel>();

  constructor(scope: Construct, id: string, props: EventsTopicProps = {}) {
    super(scope, id);
    this.encryptionKey = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the events topic');
    this.topic = new sns.Topic(this, 'Topic', {
      fifo: true,
      contentBasedDeduplication: false,
      masterKey: this.encryptionKey,
      enforceSSL: true,
      fifoThroughputScope: props.highThroughput ? sns.FifoThroughputScope.MESSAGE_GROUP : undefined,
    });
    const resource = this.topic.node.defaultChild as sns.CfnTopic;
    // Said in the template, not left to a default: a message's deduplication id is always its messageId.
    resource.contentBasedDeduplication = false;
    this.topic.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.DESTROY);
    const name = resource.topicName;
    this.arnForKeyPolicies =
      name !== undefined && !Token.isUnresolved(name)
        ? Stack.of(this).formatArn({ service: 'sns', resource: name })
        : this.topic.topicArn;
    markRole(this.topic, 'events-topic');
  }

  /** The topic's ARN (what `TOPIC_ARN` holds). */
  get topicArn(): string {
    return this.topic.topicArn;
  }

  /**
   * Lets `grantee` publish to the topic (`sns:Publish`) and use its key to encrypt what it publishes
   * (`kms:Decrypt`, `kms:GenerateDataKey*`).
   */
  grantPublish(grantee: iam.IGrantable): iam.Grant {
    return this.topic.grantPublish(grantee);
  }

  /**
   * Adds a consumer group: a `FifoChannel` subscribed to this topic, with its consumer (`ConsumerGroup`).
   * Fails if the topic has a group of that name already.
   */
  addGroup(id: string, props: ConsumerGroupProps): ConsumerGroup {
    return new ConsumerGroup(this, id, { ...props, topic: this });
  }

  /**
   * Subscribes `channel`'s queue as the queue of the consumer group `options.groupName` (what `ConsumerGroup` does
   * for its channel; for a channel built on its own, e.g. `ReliableMessaging`'s): raw delivery (the queue gets the
   * envelope as published, with its message group and deduplication id), and a delivery SNS cannot make (the queue's
   * key or policy refused it) goes to the channel's dead-letter queue instead of being lost. The queue's and the
   * dead-letter queue's policies let SNS send for this topic only (`aws:SourceArn`), and the channel key's policy lets
   * SNS use the key for this topic only. Marks the channel's queues with the group's name. Fails if the group name
   * is not valid, is taken on this topic, or if the channel is subscribed already.
   */
  subscribeChannel(channel: FifoChannel, options: SubscribeChannelOptions): sns.Subscription {
    const { groupName } = options;
    validateGroupName('groupName', groupName);
    if (this.groupNames.has(groupName)) {
      throw new Error(
        `${this.node.path} already has a consumer group named '${groupName}': give each group of a topic its own groupName`,
      );
    }
    if (this.subscribedChannels.has(channel)) {
      throw new Error(
        `${channel.node.path} is subscribed to ${this.node.path} already; got it again for group '${groupName}'`,
      );
    }
    this.groupNames.add(groupName);
    this.subscribedChannels.add(channel);

    const fromThisTopic = { ArnEquals: { 'aws:SourceArn': this.topic.topicArn } };
    const { policyDependable } = channel.queue.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheEventsTopicToSend',
        principals: [SNS],
        actions: ['sqs:SendMessage'],
        resources: [channel.queue.queueArn],
        conditions: fromThisTopic,
      }),
    );
    // SNS encrypts what it sends to the queue (and to the dead-letter queue, same key) with the channel's key.
    const { statementAdded } = channel.encryptionKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowTheEventsTopicToEncryptForItsQueues',
        principals: [SNS],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { ArnEquals: { 'aws:SourceArn': this.arnForKeyPolicies } },
      }),
    );
    if (!statementAdded) {
      Annotations.of(channel).addWarningV2(
        'reliable-messaging:groupKeyPolicy',
        `The key of ${channel.node.path} is imported: its key policy must let sns.amazonaws.com kms:Decrypt and kms:GenerateDataKey for the topic ${this.node.path} (aws:SourceArn), or SNS delivers nothing to group '${groupName}'`,
      );
    }
    // The subscription's own dead-letter queue: sns.Subscription adds its queue policy (sns.amazonaws.com,
    // sqs:SendMessage, aws:SourceArn = this topic).
    const subscription = new sns.Subscription(channel, 'Subscription', {
      topic: this.topic,
      protocol: sns.SubscriptionProtocol.SQS,
      endpoint: channel.queue.queueArn,
      rawMessageDelivery: true,
      deadLetterQueue: channel.deadLetterQueue,
    });
    // SNS checks that it may send when the subscription is made: the policy first.
    if (policyDependable !== undefined) subscription.node.addDependency(policyDependable);
    markGroup(channel.queue, groupName);
    markGroup(channel.deadLetterQueue, groupName);
    return subscription;
  }

  /** Group names subscribed to this topic, in order. */
  get groups(): readonly string[] {
    return [...this.groupNames];
  }

  /**
   * Deliveries SNS failed to make to a subscribed queue (each then goes to the group's dead-letter queue). Summed per
   * 5 minutes by default.
   */
  metricNumberOfNotificationsFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.topic.metricNumberOfNotificationsFailed({ statistic: 'Sum', ...props });
  }

  /** Failed deliveries SNS could not even put in the group's dead-letter queue: those messages are lost to the group. */
  metricNumberOfNotificationsFailedToRedriveToDlq(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.topic.metric('NumberOfNotificationsFailedToRedriveToDlq', { statistic: 'Sum', ...props });
  }
}
