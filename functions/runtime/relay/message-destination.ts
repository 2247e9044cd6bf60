import { PublishBatchCommand, type SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';

/** A message attribute (SQS and SNS take the same shape; the relay sends strings only). */
export interface DestinationAttribute {
  readonly DataType: 'String';
  readonly StringValue: string;
}

/**
 * One message of a batch, as the relay builds it for either destination (the field names are the SQS entry's: a
 * queue takes it as it is, a topic renames `MessageBody` to `Message`).
 */
export interface DestinationEntry {
  /** The entry's id within its batch: what `accepted` and `failed` refer to. */
  readonly Id: string;
  readonly MessageBody: string;
  /** The message's ordering key (`groupKey`). */
  readonly MessageGroupId: string;
  /** The message's id: the FIFO queue or topic drops a second message with the same one (5 minutes). */
  readonly MessageDeduplicationId: string;
  readonly MessageAttributes?: Readonly<Record<string, DestinationAttribute>>;
}

/** An entry the destination refused. */
export interface DestinationFailure {
  readonly id: string;
  /** The service's error code, `Failed` when it gave none. */
  readonly code: string;
  readonly message: string;
}

/** The destination's answer to a batch. An entry in neither list was not confirmed: count it as not sent. */
export interface PublishBatchResult {
  readonly accepted: readonly string[];
  readonly failed: readonly DestinationFailure[];
}

/** Where the relay and the sweeper send outbox messages: a FIFO queue, or a FIFO topic that fans out to groups. */
export interface MessageDestination {
  readonly kind: 'queue' | 'topic';
  /** The queue's URL or the topic's ARN. */
  readonly address: string;
  /** The API one batch is, as a log line names it (`SendMessageBatch`, `PublishBatch`). */
  readonly operation: string;
  /**
   * Sends at most 10 entries of at most 256 KiB in all (both services' limits), in one request. Throws what the
   * SDK throws when the whole request failed.
   */
  publishBatch(entries: readonly DestinationEntry[]): Promise<PublishBatchResult>;
}

/** Most entries SQS's SendMessageBatch and SNS's PublishBatch take. */
export const MAX_BATCH_ENTRIES = 10;

interface FailedEntry {
  readonly Id?: string;
  readonly Code?: string;
  readonly Message?: string;
}

function resultOf(
  successful: readonly { readonly Id?: string }[] | undefined,
  failed: readonly FailedEntry[] | undefined,
): PublishBatchResult {
  return {
    accepted: (successful ?? []).flatMap((entry) => (entry.Id === undefined ? [] : [entry.Id])),
    failed: (failed ?? []).flatMap((entry) =>
      entry.Id === undefined
        ? []
        : [{ id: entry.Id, code: entry.Code ?? 'Failed', message: entry.Message ?? '' }],
    ),
  };
}

/** The FIFO queue at `queueUrl` (one SendMessageBatch per batch). */
export function queueDestination(sqs: SQSClient, queueUrl: string): MessageDestination {
  return {
    kind: 'queue',
    address: queueUrl,
    operation: 'SendMessageBatch',
    async publishBatch(entries) {
      const response = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries.map((entry) => ({
            Id: entry.Id,
            MessageBody: entry.MessageBody,
            MessageGroupId: entry.MessageGroupId,
            MessageDeduplicationId: entry.MessageDeduplicationId,
            ...(entry.MessageAttributes === undefined
              ? {}
              : { MessageAttributes: { ...entry.MessageAttributes } }),
          })),
        }),
      );
      return resultOf(response.Successful, response.Failed);
    },
  };
}

/** The FIFO topic at `topicArn` (one PublishBatch per batch); its subscribed queues take raw messages. */
export function topicDestination(sns: SNSClient, topicArn: string): MessageDestination {
  return {
    kind: 'topic',
    address: topicArn,
    operation: 'PublishBatch',
    async publishBatch(entries) {
      const response = await sns.send(
        new PublishBatchCommand({
          TopicArn: topicArn,
          PublishBatchRequestEntries: entries.map((entry) => ({
            Id: entry.Id,
            Message: entry.MessageBody,
            MessageGroupId: entry.MessageGroupId,
            MessageDeduplicationId: entry.MessageDeduplicationId,
            ...(entry.MessageAttributes === undefined
              ? {}
              : { MessageAttributes: { ...entry.MessageAttributes } }),
          })),
        }),
      );
      return resultOf(response.Successful, response.Failed);
    },
  };
}
