import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { MessageEnvelope } from '../outbox/outbox-message';
import { attentionOf, readAttention } from './attention-index';
import { type CursorLocation, inboxCursor } from './cursor-location';
import { inboxKeys } from './inbox-keys';

export { ATTENTION_INDEX } from './attention-index';

export interface ParkedMessage {
  readonly groupKey: string;
  readonly sequence: number;
  readonly messageId: string;
  readonly parkedAt: string;
  readonly reason: string;
}

export interface InboxLocation {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly inboxTableName: string;
  /** Where the consumer keeps each key's cursor (its `cursor` option). @default the inbox's cursor item */
  readonly cursor?: CursorLocation;
}

/** The parked messages of one key, in sequence order. */
export async function listParked(inbox: InboxLocation, groupKey: string): Promise<ParkedMessage[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await inbox.dynamodb.send(
      new QueryCommand({
        TableName: inbox.inboxTableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :parked)',
        ExpressionAttributeValues: { ':pk': `KEY#${groupKey}`, ':parked': 'PARKED#' },
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items.map((item) => {
    const message = JSON.parse(String(item.message)) as MessageEnvelope;
    return {
      groupKey,
      sequence: message.sequence,
      messageId: message.messageId,
      parkedAt: String(item.parkedAt),
      reason: String(item.reason ?? ''),
    };
  });
}

/** Every key with parked messages (from every shard of the attention index: O(parked), not O(inbox)). */
export async function listParkedKeys(inbox: InboxLocation): Promise<string[]> {
  const parked = await readAttention(inbox.dynamodb, inbox.inboxTableName, 'PARKED');
  return [...new Set(parked.map((item) => item.pk.replace(/^KEY#/, '')))].sort();
}

export interface ReplayResult {
  readonly groupKey: string;
  /** Sequences moved from the parked set back into the key's held set. */
  readonly replayed: readonly number[];
  /** The sequence re-sent to the queue to restart the key, if any. */
  readonly resent?: number;
}

/**
 * Replays a parked key, after its cause was fixed: every parked message goes back to the key's held set (each in
 * one transaction, so none is lost on the way), the key is unparked with fresh attempts, and the next message of
 * the key is re-sent to the queue (under a new deduplication id). The consumer applies it and then releases the
 * held ones in order. Safe to run again: whatever an interrupted replay left is picked up.
 */
export async function replayKey(
  inbox: InboxLocation & { sqs: SQSClient; queueUrl: string },
  groupKey: string,
): Promise<ReplayResult> {
  const table = inbox.inboxTableName;
  const cursorAt = inbox.cursor ?? inboxCursor(table);
  const parked = await listParked(inbox, groupKey);
  const replayed: number[] = [];
  for (const message of parked) {
    const item = await inbox.dynamodb.send(
      new GetCommand({
        TableName: table,
        Key: inboxKeys.parked(groupKey, message.sequence),
        ConsistentRead: true,
      }),
    );
    if (item.Item === undefined) continue;
    const now = new Date().toISOString();
    try {
      await inbox.dynamodb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: {
                  ...inboxKeys.held(groupKey, message.sequence),
                  message: item.Item.message,
                  heldAt: now,
                  attention: attentionOf('HELD', groupKey),
                  since: now,
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            { Delete: { TableName: table, Key: inboxKeys.parked(groupKey, message.sequence) } },
            {
              Update: {
                TableName: cursorAt.tableName,
                Key: cursorAt.key(groupKey),
                UpdateExpression: 'ADD heldCount :one',
                ExpressionAttributeValues: { ':one': 1 },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (
        !(error instanceof TransactionCanceledException) ||
        error.CancellationReasons?.[0]?.Code !== 'ConditionalCheckFailed'
      ) {
        throw error;
      }
      // Held already (an earlier replay was interrupted): just drop the parked copy.
      await inbox.dynamodb.send(
        new DeleteCommand({ TableName: table, Key: inboxKeys.parked(groupKey, message.sequence) }),
      );
    }
    await inbox.dynamodb.send(
      new DeleteCommand({ TableName: table, Key: inboxKeys.failures(message.messageId) }),
    );
    replayed.push(message.sequence);
  }
  await inbox.dynamodb.send(
    new UpdateCommand({
      TableName: cursorAt.tableName,
      Key: cursorAt.key(groupKey),
      UpdateExpression: 'REMOVE parked, parkedAt, parkedSequence, parkedReason, parkAlerted',
    }),
  );

  // Restart the key: re-send its next message, which the consumer applies and then releases the rest.
  const cursor = await inbox.dynamodb.send(
    new GetCommand({ TableName: cursorAt.tableName, Key: cursorAt.key(groupKey), ConsistentRead: true }),
  );
  const next = Number(cursor.Item?.lastSequence ?? 0) + 1;
  const held = await inbox.dynamodb.send(
    new GetCommand({ TableName: table, Key: inboxKeys.held(groupKey, next), ConsistentRead: true }),
  );
  if (held.Item === undefined) return { groupKey, replayed };
  const message = JSON.parse(String(held.Item.message)) as MessageEnvelope;
  await inbox.sqs.send(
    new SendMessageCommand({
      QueueUrl: inbox.queueUrl,
      MessageBody: String(held.Item.message),
      MessageGroupId: groupKey,
      MessageDeduplicationId: `${message.messageId}:replay:${Date.now()}`,
    }),
  );
  return { groupKey, replayed, resent: next };
}
