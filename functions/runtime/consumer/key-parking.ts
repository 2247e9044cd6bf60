import { randomUUID } from 'node:crypto';
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
import { ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import { attentionOf, readAttention } from './attention-index';
import { type CursorLocation, inboxCursor } from './cursor-location';
import { inboxKeys } from './inbox-keys';

export { ATTENTION_INDEX } from './attention-index';

import { groupKeyOfPartition, keyPartition, StorageKey } from '../storage-keys';

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
        ExpressionAttributeValues: { ':pk': keyPartition(groupKey), ':parked': StorageKey.PARKED },
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
  return [...new Set(parked.map((item) => groupKeyOfPartition(item.pk)))].sort();
}

export interface ReplayResult {
  readonly groupKey: string;
  /** Sequences moved from the parked set back into the key's held set. */
  readonly replayed: readonly number[];
  /** Parked sequences dropped because the key's cursor had passed them already (applied: duplicates); absent if none. */
  readonly dropped?: readonly number[];
  /** The sequence re-sent to the queue to restart the key, if any. */
  readonly resent?: number;
}

/** A replay found the key's parked set still changing after this many rounds: run it again. */
export const MAX_REPLAY_ROUNDS = 10;

/** Live deliveries kept parking messages of a key while it was being replayed. */
export class ReplayNotSettledError extends ReliableMessagingError {
  constructor(groupKey: string, rounds: number) {
    super(`key ${groupKey}: messages were still being parked after ${rounds} rounds of replay; run it again`);
    this.name = 'ReplayNotSettledError';
  }
}

/**
 * Replays a parked key, after its cause was fixed: every parked message goes back to the key's held set (each in
 * one transaction, so none is lost on the way) — or, when the key's cursor has passed it already, is dropped (it
 * was applied; held below the cursor it would never be released and would keep the gap alarm on) — the key is
 * unparked with fresh attempts, and the next message of the key is re-sent to the queue (under a new deduplication
 * id). The consumer applies it and then releases the held ones in order.
 *
 * Live deliveries may park messages while this runs (the key is parked until it is unparked), so after unparking it
 * reads the parked set again, consistently, and moves what it finds, until a read finds nothing parked — or finds
 * the key parked again (a message failed anew after the unpark: that parking stands, with its alert).
 * Safe to run again: whatever an interrupted replay left is picked up.
 */
export async function replayKey(
  inbox: InboxLocation & { sqs: SQSClient; queueUrl: string },
  groupKey: string,
): Promise<ReplayResult> {
  const table = inbox.inboxTableName;
  const cursorAt = inbox.cursor ?? inboxCursor(table);
  const readCursor = async () =>
    (
      await inbox.dynamodb.send(
        new GetCommand({ TableName: cursorAt.tableName, Key: cursorAt.key(groupKey), ConsistentRead: true }),
      )
    ).Item;
  const replayed: number[] = [];
  const dropped: number[] = [];
  for (let round = 1; ; round++) {
    const parked = await listParked(inbox, groupKey);
    if (round > 1) {
      if (parked.length === 0 || (await readCursor())?.parked === true) break;
      if (round > MAX_REPLAY_ROUNDS) throw new ReplayNotSettledError(groupKey, MAX_REPLAY_ROUNDS);
    }
    for (const message of parked) {
      const moved = await moveToHeld(inbox, cursorAt, groupKey, message);
      if (moved === 'HELD') replayed.push(message.sequence);
      if (moved === 'DROPPED') dropped.push(message.sequence);
    }
    if (round === 1) {
      await inbox.dynamodb.send(
        new UpdateCommand({
          TableName: cursorAt.tableName,
          Key: cursorAt.key(groupKey),
          UpdateExpression: 'REMOVE parked, parkedAt, parkedSequence, parkedReason, parkAlerted',
        }),
      );
    }
  }

  // Restart the key: re-send its next message, which the consumer applies and then releases the rest.
  const next = Number((await readCursor())?.lastSequence ?? 0) + 1;
  const held = await inbox.dynamodb.send(
    new GetCommand({ TableName: table, Key: inboxKeys.held(groupKey, next), ConsistentRead: true }),
  );
  const result = { groupKey, replayed, ...(dropped.length > 0 ? { dropped } : {}) };
  if (held.Item === undefined) return result;
  const message = JSON.parse(String(held.Item.message)) as MessageEnvelope;
  await inbox.sqs.send(
    new SendMessageCommand({
      QueueUrl: inbox.queueUrl,
      MessageBody: String(held.Item.message),
      MessageGroupId: groupKey,
      MessageDeduplicationId: `${message.messageId}:replay:${Date.now()}`,
    }),
  );
  return { ...result, resent: next };
}

/**
 * Moves one parked message to the held set, in one transaction: the held copy (unless held already), the parked
 * copy removed, the held count up — on condition that the cursor has not passed it. HELD when moved (or held
 * already), DROPPED when the cursor has passed it (the parked copy is just deleted), GONE when it is not parked
 * any more. Its failure count goes either way: the message gets fresh attempts.
 */
async function moveToHeld(
  inbox: InboxLocation,
  cursorAt: CursorLocation,
  groupKey: string,
  message: ParkedMessage,
): Promise<'HELD' | 'DROPPED' | 'GONE'> {
  const table = inbox.inboxTableName;
  const item = await inbox.dynamodb.send(
    new GetCommand({
      TableName: table,
      Key: inboxKeys.parked(groupKey, message.sequence),
      ConsistentRead: true,
    }),
  );
  if (item.Item === undefined) return 'GONE';
  const now = new Date().toISOString();
  let moved: 'HELD' | 'DROPPED' = 'HELD';
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
              // Held at or below the cursor, it would never be released: a message the cursor passed is dropped.
              ConditionExpression: 'attribute_not_exists(lastSequence) OR lastSequence < :sequence',
              ExpressionAttributeValues: { ':one': 1, ':sequence': message.sequence },
            },
          },
        ],
        // As the SDK does: its own retries repeat the request under the same token, a no-op once it committed.
        ClientRequestToken: randomUUID(),
      }),
    );
  } catch (error) {
    const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
    const heldAlready = reasons[0]?.Code === 'ConditionalCheckFailed';
    const passed = reasons[2]?.Code === 'ConditionalCheckFailed';
    if (!heldAlready && !passed) throw error;
    // Held already (an earlier replay was interrupted), or passed by the cursor: just drop the parked copy.
    if (passed) moved = 'DROPPED';
    await inbox.dynamodb.send(
      new DeleteCommand({ TableName: table, Key: inboxKeys.parked(groupKey, message.sequence) }),
    );
    if (passed && heldAlready) await dropHeldCopy(inbox, cursorAt, groupKey, message.sequence);
  }
  await inbox.dynamodb.send(
    new DeleteCommand({ TableName: table, Key: inboxKeys.failures(message.messageId) }),
  );
  return moved;
}

/**
 * Deletes a held copy the cursor has passed (left by an older version's replay: it would never be released) and its
 * count, in one transaction; a copy gone already (a repeat) changes nothing.
 */
async function dropHeldCopy(
  inbox: InboxLocation,
  cursorAt: CursorLocation,
  groupKey: string,
  sequence: number,
): Promise<void> {
  try {
    await inbox.dynamodb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: inbox.inboxTableName,
              Key: inboxKeys.held(groupKey, sequence),
              ConditionExpression: 'attribute_exists(pk)',
            },
          },
          {
            Update: {
              TableName: cursorAt.tableName,
              Key: cursorAt.key(groupKey),
              UpdateExpression: 'ADD heldCount :minusOne',
              ExpressionAttributeValues: { ':minusOne': -1 },
            },
          },
        ],
        ClientRequestToken: randomUUID(),
      }),
    );
  } catch (error) {
    const gone =
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed';
    if (!gone) throw error;
  }
}
