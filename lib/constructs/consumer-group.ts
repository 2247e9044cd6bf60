import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { EventsTopic } from './events-topic';
import { FifoChannel, type FifoChannelProps } from './fifo-channel';
import { type ChannelConsumerProps, IdempotentConsumer } from './idempotent-consumer';
import { GROUP_NAME_PATTERN, validateGroupName } from './validation';

/** A consumer group of an `EventsTopic` (`EventsTopic.addGroup`): its channel's props and its consumer's. */
export interface ConsumerGroupProps extends ChannelConsumerProps {
  /**
   * The group's name: its consumer's `CONSUMER_GROUP`, the group metadata of its resources (`ops --group <name>`).
   * 1 to 40 lowercase letters, digits and hyphens, starting with a letter; unique on its topic.
   * @default the construct id in kebab-case (`Audit` → `audit`, `ShippingLabels` → `shipping-labels`)
   */
  readonly groupName?: string;
  /**
   * The group's queue and dead-letter queue. Unless given here, their key is the group's `encryptionKey` and their
   * removal policy the group's `removalPolicy`.
   * @default FifoChannel's defaults, with the group's key and removal policy when given
   */
  readonly channel?: FifoChannelProps;
}

/** The props of a `ConsumerGroup` built on its own: those of `EventsTopic.addGroup`, and the topic. */
export interface TopicConsumerGroupProps extends ConsumerGroupProps {
  /** The topic the group's queue subscribes to. */
  readonly topic: EventsTopic;
}

/**
 * One consumer group of an `EventsTopic`: a `FifoChannel` subscribed to the topic (raw delivery; a delivery SNS cannot
 * make goes to the channel's dead-letter queue; the queues' and the key's policies let in this topic only, see
 * `EventsTopic.subscribeChannel`), and an `IdempotentConsumer` of it with the group's name. Every group receives every
 * message of the topic, with its own inbox state (a cursor per key), parking, dead-letter queue and redrive; a group
 * that applies some types only says so with `messageTypes` (the others advance its cursors with no effect).
 */
export class ConsumerGroup extends Construct {
  public readonly groupName: string;
  public readonly channel: FifoChannel;
  public readonly subscription: sns.Subscription;
  public readonly consumer: IdempotentConsumer;

  constructor(scope: Construct, id: string, props: TopicConsumerGroupProps) {
    super(scope, id);
    const { topic, channel: channelProps, groupName, ...consumerProps } = props;
    validateGroupName('groupName', groupName);
    this.groupName = groupName ?? groupNameOf(id);
    this.channel = new FifoChannel(this, 'Channel', {
      encryptionKey: consumerProps.encryptionKey,
      removalPolicy: consumerProps.removalPolicy,
      ...channelProps,
    });
    this.subscription = topic.subscribeChannel(this.channel, { groupName: this.groupName });
    this.consumer = new IdempotentConsumer(this, 'Consumer', {
      ...consumerProps,
      queue: this.channel.queue,
      groupName: this.groupName,
    });
  }
}

/** A construct id in kebab-case, as a group name; fails, naming the id, if that is no valid group name. */
function groupNameOf(id: string): string {
  const name = id
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .replace(/[\s_]+/g, '-')
    .toLowerCase();
  if (!GROUP_NAME_PATTERN.test(name)) {
    throw new Error(
      `groupName (by default the id in kebab-case) must start with a lowercase letter and have 1 to 40 lowercase letters, digits and hyphens; got '${name}' from the id '${id}': give a groupName`,
    );
  }
  return name;
}
