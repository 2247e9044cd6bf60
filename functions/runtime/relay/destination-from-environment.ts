import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Env } from '../environment';
import { ConfigurationError } from '../errors';
import { type MessageDestination, queueDestination, topicDestination } from './message-destination';

/** A destination and the SDK client it sends with (to instrument it: unit accounting, a test stack's faults). */
export type DestinationSender =
  | { readonly kind: 'queue'; readonly client: SQSClient; readonly destination: MessageDestination }
  | { readonly kind: 'topic'; readonly client: SNSClient; readonly destination: MessageDestination };

/**
 * Where the relay and the sweeper send: the events topic when `TOPIC_ARN` is set (the pipeline fans out to consumer
 * groups), else the channel's queue, `QUEUE_URL`. Makes the one client it needs (call it at module scope).
 * @throws ConfigurationError when neither is set
 */
export function senderFromEnvironment(env: NodeJS.ProcessEnv = process.env): DestinationSender {
  const topicArn = env[Env.TOPIC_ARN];
  if (topicArn !== undefined && topicArn !== '') {
    const client = new SNSClient({});
    return { kind: 'topic', client, destination: topicDestination(client, topicArn) };
  }
  const queueUrl = env[Env.QUEUE_URL];
  if (queueUrl === undefined || queueUrl === '') {
    throw new ConfigurationError(
      `environment variable ${Env.TOPIC_ARN} or ${Env.QUEUE_URL} is required but neither is set`,
    );
  }
  const client = new SQSClient({});
  return { kind: 'queue', client, destination: queueDestination(client, queueUrl) };
}
