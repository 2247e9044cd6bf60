import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Env } from '../../functions/runtime/environment';
import type { EventsTopic } from './events-topic';
import type { FifoChannel } from './fifo-channel';

/** Where a relay or a sweeper sends the outbox's messages: one FIFO queue, or the events topic of consumer groups. */
export interface PublishDestination {
  /** `QUEUE_URL` or `TOPIC_ARN`. */
  readonly environment: Readonly<Record<string, string>>;
  /** The key of the queue or topic. */
  readonly encryptionKey: kms.IKey;
  /** Lets the function send there (and use the key to). */
  grantSend(grantee: iam.IGrantable): void;
}

/** The destination of `props` (exactly one of `channel` and `topic`); fails, naming `who`, otherwise. */
export function destinationOf(
  who: string,
  props: { readonly channel?: FifoChannel; readonly topic?: EventsTopic },
): PublishDestination {
  const { channel, topic } = props;
  if (channel !== undefined && topic !== undefined) {
    throw new Error(
      `${who} takes exactly one of channel (one queue) and topic (consumer groups); got both ${channel.node.path} and ${topic.node.path}`,
    );
  }
  if (topic !== undefined) {
    return {
      environment: { [Env.TOPIC_ARN]: topic.topicArn },
      encryptionKey: topic.encryptionKey,
      grantSend: (grantee) => topic.grantPublish(grantee),
    };
  }
  if (channel !== undefined) {
    return {
      environment: { [Env.QUEUE_URL]: channel.queue.queueUrl },
      encryptionKey: channel.encryptionKey,
      grantSend: (grantee) => channel.grantSendMessages(grantee),
    };
  }
  throw new Error(`${who} takes exactly one of channel (one queue) and topic (consumer groups); got neither`);
}
