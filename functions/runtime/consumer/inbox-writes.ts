import type { UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import type { MessageEnvelope } from '../outbox/outbox-message';
import type { TransactItem } from '../outbox/outbox-writer';
import { attentionOf } from './attention-index';
import type { CursorEffectUpdate, CursorLocation } from './cursor-location';
import { inboxKeys } from './inbox-keys';

/**
 * The writes of `IdempotentConsumer`, built and not sent: where the cursor of a key lives and the inbox table
 * that holds its held, parked and failure-count items.
 */
export interface InboxLocation {
  readonly inboxTableName: string;
  readonly cursor: CursorLocation;
}

/** A reason as stored on the cursor and the parked item (an item holds at most this much of it). */
const storedReason = (reason: string) => reason.slice(0, 1000);

/**
 * What the cursor keeps of the message it moves to, in the same write: `lastMessageId` and `lastTraceparent` (the
 * message's W3C trace context; REMOVEd when it has none, so an older message's never shows as this one's), for ops
 * to tell which message, from which request, a key's consumer applied last. The value placeholders (`:lastMessageId`,
 * `:lastTraceparent`) cannot meet a cursor effect's (`:c<n>…`).
 */
function lastAppliedOf(message: MessageEnvelope): {
  readonly set: string;
  readonly remove: string;
  readonly values: Record<string, string>;
} {
  const traceparent =
    typeof message.traceparent === 'string' && message.traceparent !== '' ? message.traceparent : undefined;
  return traceparent === undefined
    ? {
        set: ', lastMessageId = :lastMessageId',
        remove: ' REMOVE lastTraceparent',
        values: { ':lastMessageId': message.messageId },
      }
    : {
        set: ', lastMessageId = :lastMessageId, lastTraceparent = :lastTraceparent',
        remove: '',
        values: { ':lastMessageId': message.messageId, ':lastTraceparent': traceparent },
      };
}

/**
 * The lean path's one write: moves the cursor from n − 1 to n (with the cursor effect, and the message's id and
 * trace context) on condition that nothing of the key is held or parked.
 */
export function cleanAdvanceUpdate(
  inbox: InboxLocation,
  message: MessageEnvelope,
  effect: CursorEffectUpdate,
  now: string,
): UpdateCommandInput {
  const first = message.sequence === 1;
  const last = lastAppliedOf(message);
  return {
    TableName: inbox.cursor.tableName,
    Key: inbox.cursor.key(message.groupKey),
    UpdateExpression: `SET lastSequence = :sequence, updatedAt = :now${last.set}${effect.set}${last.remove}`,
    ConditionExpression: `${first ? 'attribute_not_exists(lastSequence)' : 'lastSequence = :previous'} AND (attribute_not_exists(heldCount) OR heldCount = :zero) AND (attribute_not_exists(parked) OR parked = :false)`,
    ...(effect.names === undefined ? {} : { ExpressionAttributeNames: effect.names }),
    ExpressionAttributeValues: {
      ':sequence': message.sequence,
      ':now': now,
      ':zero': 0,
      ':false': false,
      ...(first ? {} : { ':previous': message.sequence - 1 }),
      ...last.values,
      ...effect.values,
    },
  };
}

/**
 * Moves the cursor from n − 1 to n (with the cursor effect, and the message's id and trace context), conditional on
 * the held count last seen (item 0), and removes the held copy the message came from, if any: one transaction.
 */
export function advanceItems(
  inbox: InboxLocation,
  message: MessageEnvelope,
  effect: CursorEffectUpdate,
  heldSequence: number | undefined,
  heldCount: number,
  now: string,
): TransactItem[] {
  const fromHeld = heldSequence !== undefined;
  const first = message.sequence === 1;
  const last = lastAppliedOf(message);
  const set = `SET lastSequence = :sequence, updatedAt = :now${last.set}${effect.set}${last.remove}`;
  return [
    {
      Update: {
        TableName: inbox.cursor.tableName,
        Key: inbox.cursor.key(message.groupKey),
        UpdateExpression: fromHeld ? `${set} ADD heldCount :minusOne` : set,
        ...(effect.names === undefined ? {} : { ExpressionAttributeNames: effect.names }),
        ConditionExpression: `${first ? 'attribute_not_exists(lastSequence)' : 'lastSequence = :previous'} AND ${
          heldCount === 0 ? '(attribute_not_exists(heldCount) OR heldCount = :held)' : 'heldCount = :held'
        }`,
        ExpressionAttributeValues: {
          ':sequence': message.sequence,
          ':now': now,
          ':held': heldCount,
          ...(first ? {} : { ':previous': message.sequence - 1 }),
          ...(fromHeld ? { ':minusOne': -1 } : {}),
          ...last.values,
          ...effect.values,
        },
      },
    },
    ...(fromHeld
      ? [{ Delete: { TableName: inbox.inboxTableName, Key: inboxKeys.held(message.groupKey, heldSequence) } }]
      : []),
  ];
}

/**
 * Stores a message that arrived ahead of its predecessor (item 0, once) and counts it on the cursor (item 1, only
 * while the predecessor is not applied).
 */
export function holdItems(inbox: InboxLocation, message: MessageEnvelope, now: string): TransactItem[] {
  return [
    {
      Put: {
        TableName: inbox.inboxTableName,
        Item: {
          ...inboxKeys.held(message.groupKey, message.sequence),
          message: JSON.stringify(message),
          heldAt: now,
          attention: attentionOf('HELD', message.groupKey),
          since: now,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    {
      Update: {
        TableName: inbox.cursor.tableName,
        Key: inbox.cursor.key(message.groupKey),
        UpdateExpression: 'ADD heldCount :one',
        // The predecessor may have been applied meanwhile: then this is no gap any more.
        ConditionExpression: 'attribute_not_exists(lastSequence) OR lastSequence < :previous',
        ExpressionAttributeValues: { ':one': 1, ':previous': message.sequence - 1 },
      },
    },
  ];
}

/**
 * Counts a failed attempt of the message's effects, once per delivery: the delivery's token is written with the
 * count, so a repeat of the same delivery's count (its answer lost, the SDK's retry, an in-process retry) fails its
 * condition and the old item (ALL_OLD) gives the count. The count expires with the inbox's retention.
 */
export function failureCountUpdate(
  inbox: InboxLocation,
  message: MessageEnvelope,
  nowSeconds: number,
  retentionSeconds: number,
  delivery: string,
): UpdateCommandInput {
  return {
    TableName: inbox.inboxTableName,
    Key: inboxKeys.failures(message.messageId),
    UpdateExpression: 'ADD failures :one SET expiresAt = :expires, lastDelivery = :delivery',
    ConditionExpression: 'attribute_not_exists(lastDelivery) OR lastDelivery <> :delivery',
    ExpressionAttributeValues: {
      ':one': 1,
      ':expires': nowSeconds + retentionSeconds,
      ':delivery': delivery,
    },
    ReturnValues: 'UPDATED_NEW',
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/** Sets the cursor's parked flag, unless it is set (then the old cursor comes back, to see if the alert went out). */
export function parkFlagUpdate(
  inbox: InboxLocation,
  message: MessageEnvelope,
  reason: string,
  now: string,
): UpdateCommandInput {
  return {
    TableName: inbox.cursor.tableName,
    Key: inbox.cursor.key(message.groupKey),
    UpdateExpression:
      'SET parked = :true, parkedAt = :now, parkedSequence = :sequence, parkedReason = :reason',
    ConditionExpression: 'attribute_not_exists(parked) OR parked = :false',
    ExpressionAttributeValues: {
      ':true': true,
      ':false': false,
      ':now': now,
      ':sequence': message.sequence,
      ':reason': storedReason(reason),
    },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  };
}

/**
 * Stores the parked message (item 0, once: a message parked already keeps its first reason) on condition that its
 * key is parked (the last item: a replay may have unparked it meanwhile); when it came from the held set, removes
 * the held copy and its count.
 */
export function parkedItems(
  inbox: InboxLocation,
  message: MessageEnvelope,
  reason: string,
  heldSequence: number | undefined,
  now: string,
): TransactItem[] {
  const cursor = { TableName: inbox.cursor.tableName, Key: inbox.cursor.key(message.groupKey) };
  const keyParked = 'parked = :true';
  return [
    {
      Put: {
        TableName: inbox.inboxTableName,
        Item: {
          ...inboxKeys.parked(message.groupKey, message.sequence),
          message: JSON.stringify(message),
          parkedAt: now,
          reason: storedReason(reason),
          attention: attentionOf('PARKED', message.groupKey),
          since: now,
        },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    },
    ...(heldSequence === undefined
      ? [
          {
            ConditionCheck: {
              ...cursor,
              ConditionExpression: keyParked,
              ExpressionAttributeValues: { ':true': true },
            },
          },
        ]
      : [
          {
            Delete: { TableName: inbox.inboxTableName, Key: inboxKeys.held(message.groupKey, heldSequence) },
          },
          {
            Update: {
              ...cursor,
              UpdateExpression: 'ADD heldCount :minusOne',
              ConditionExpression: keyParked,
              ExpressionAttributeValues: { ':minusOne': -1, ':true': true },
            },
          },
        ]),
  ];
}

/** Records on the cursor that the key's `KeyParked` alert went out. */
export function parkAlertedUpdate(inbox: InboxLocation, groupKey: string): UpdateCommandInput {
  return {
    TableName: inbox.cursor.tableName,
    Key: inbox.cursor.key(groupKey),
    UpdateExpression: 'SET parkAlerted = :true',
    ExpressionAttributeValues: { ':true': true },
  };
}
