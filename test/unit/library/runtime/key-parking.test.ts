import {
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { QueryCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { attentionOf } from '../../../../functions/runtime/consumer/attention-index';
import type { ParkedKey } from '../../../../functions/runtime/consumer/idempotent-consumer';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import {
  ATTENTION_INDEX,
  listParked,
  listParkedKeys,
  MAX_REPLAY_ROUNDS,
  ReplayNotSettledError,
  replayKey,
} from '../../../../functions/runtime/consumer/key-parking';
import { type MessageEnvelope, parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { OrderNoteAdded } from '../../../../reference/functions/orders/order-events';
import { ProjectionService } from '../../../../reference/functions/projection/projection-service';
import type { InMemoryDynamoDb, Item } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, dynamodb, inboxConsumer, installTables } from '../../support/consumer-harness';
import { failEvery } from '../../support/dynamo-faults';
import { envelope, INBOX_TABLE, inboxOf, PROJECTION_TABLE } from '../../support/inbox-fixtures';

const sqsMock = mockClient(SQSClient);
const sqs = new SQSClient({ region: 'us-east-1' });
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const START = new Date('2026-03-01T12:00:00.000Z');
const PARKED_AT = '2026-03-01T11:00:00.000Z';
const ORDER = 'order-1';
const REASON = 'Error: poison message';

let db: InMemoryDynamoDb;

const location = () => ({ dynamodb, inboxTableName: INBOX_TABLE });
const replayLocation = () => ({ ...location(), sqs, queueUrl: QUEUE_URL });
const inbox = () => inboxOf(db);

const message = (sequence: number, groupKey = ORDER): MessageEnvelope<OrderNoteAdded> =>
  envelope<OrderNoteAdded>(groupKey, sequence, 'OrderNoteAdded', {
    orderId: groupKey,
    text: `note ${sequence}`,
  });

function seedParked(sequence: number, groupKey = ORDER, changes: Item = {}): void {
  db.seed(INBOX_TABLE, {
    ...inboxKeys.parked(groupKey, sequence),
    message: JSON.stringify(message(sequence, groupKey)),
    parkedAt: PARKED_AT,
    reason: REASON,
    attention: 'PARKED',
    since: PARKED_AT,
    ...changes,
  });
}

function seedHeld(sequence: number, groupKey = ORDER): void {
  db.seed(INBOX_TABLE, {
    ...inboxKeys.held(groupKey, sequence),
    message: JSON.stringify(message(sequence, groupKey)),
    heldAt: PARKED_AT,
    attention: 'HELD',
    since: PARKED_AT,
  });
}

function seedParkedCursor(lastSequence: number, changes: Item = {}, groupKey = ORDER): void {
  db.seed(INBOX_TABLE, {
    ...inboxKeys.cursor(groupKey),
    lastSequence,
    updatedAt: PARKED_AT,
    parked: true,
    parkedAt: PARKED_AT,
    parkedSequence: lastSequence + 1,
    parkedReason: REASON,
    ...changes,
  });
}

const sends = () => sqsMock.commandCalls(SendMessageCommand).map((call) => call.args[0].input);

beforeEach(() => {
  db = installTables();
  sqsMock.reset();
  sqsMock.onAnyCommand().rejects(new Error('unexpected SQS command'));
  sqsMock.on(SendMessageCommand).resolves({ MessageId: 'sqs-message-1' });
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(START);
});

afterEach(() => {
  vi.useRealTimers();
});

describe('listParked', () => {
  it('lists the parked messages of one key in sequence order, and nothing else', async () => {
    // GIVEN
    seedParked(10);
    seedParked(2, ORDER, { reason: 'Error: first' });
    seedParked(3);
    seedHeld(4);
    seedParked(2, 'order-2');
    seedParkedCursor(1);

    // WHEN
    const parked = await listParked(location(), ORDER);

    // THEN
    expect(parked).toEqual([
      {
        groupKey: ORDER,
        sequence: 2,
        messageId: message(2).messageId,
        parkedAt: PARKED_AT,
        reason: 'Error: first',
      },
      { groupKey: ORDER, sequence: 3, messageId: message(3).messageId, parkedAt: PARKED_AT, reason: REASON },
      {
        groupKey: ORDER,
        sequence: 10,
        messageId: message(10).messageId,
        parkedAt: PARKED_AT,
        reason: REASON,
      },
    ]);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: INBOX_TABLE,
      ConsistentRead: true,
    });
  });

  it('reads every page', async () => {
    // GIVEN
    db.queryPageSize = 1;
    for (const sequence of [2, 3, 4]) seedParked(sequence);

    // WHEN
    const parked = await listParked(location(), ORDER);

    // THEN
    expect(parked.map((entry) => entry.sequence)).toEqual([2, 3, 4]);
    expect(ddb.commandCalls(QueryCommand).length).toBeGreaterThanOrEqual(3);
  });

  it('lists nothing for a key without parked messages, and an empty reason when none was stored', async () => {
    // GIVEN
    seedHeld(2);
    seedParked(5, 'order-2');
    const { reason: _reason, ...withoutReason } = inbox().parked('order-2', 5) ?? {};
    db.seed(INBOX_TABLE, withoutReason);

    // WHEN
    const none = await listParked(location(), ORDER);
    const other = await listParked(location(), 'order-2');

    // THEN
    expect(none).toEqual([]);
    expect(other).toMatchObject([{ sequence: 5, reason: '' }]);
  });
});

describe('listParkedKeys', () => {
  it('lists each key with parked messages once, sorted, from the attention index', async () => {
    // GIVEN
    seedParked(3, 'order-c');
    seedParked(2, 'order-a');
    seedParked(3, 'order-a');
    seedHeld(4, 'order-b');
    seedParkedCursor(1, {}, 'order-d'); // a cursor alone is not a parked message

    // WHEN
    const keys = await listParkedKeys(location());

    // THEN
    expect(keys).toEqual(['order-a', 'order-c']);
    expect(ddb.commandCalls(QueryCommand)[0]?.args[0].input).toMatchObject({
      TableName: INBOX_TABLE,
      IndexName: ATTENTION_INDEX,
    });
  });

  it('reads every page of the index', async () => {
    // GIVEN
    db.queryPageSize = 1;
    seedParked(2, 'order-a');
    seedParked(2, 'order-b');
    seedParked(2, 'order-c');

    // WHEN
    const keys = await listParkedKeys(location());

    // THEN
    expect(keys).toEqual(['order-a', 'order-b', 'order-c']);
  });

  it('answers no keys when nothing is parked', async () => {
    // GIVEN
    seedHeld(2);

    // WHEN / THEN
    expect(await listParkedKeys(location())).toEqual([]);
  });
});

describe('replayKey', () => {
  it('moves the parked messages back to the held set, unparks the key and re-sends its next message', async () => {
    // GIVEN the key parked at 2, with 3 parked behind it and 2's failures counted
    seedParkedCursor(1);
    seedParked(2);
    seedParked(3, ORDER, { reason: 'its key is parked' });
    db.seed(INBOX_TABLE, { ...inboxKeys.failures(message(2).messageId), failures: 3, expiresAt: 1 });

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [2, 3], resent: 2 });
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'HELD#000000000000003']);
    expect(inbox().held(ORDER, 2)).toEqual({
      ...inboxKeys.held(ORDER, 2),
      message: JSON.stringify(message(2)),
      heldAt: START.toISOString(),
      attention: attentionOf('HELD', ORDER),
      since: START.toISOString(),
    });
    expect(inbox().cursor(ORDER)).toEqual({
      ...inboxKeys.cursor(ORDER),
      lastSequence: 1,
      updatedAt: PARKED_AT,
      heldCount: 2,
    });
    expect(inbox().failures(message(2).messageId)).toBeUndefined();
    expect(sends()).toEqual([
      {
        QueueUrl: QUEUE_URL,
        MessageBody: JSON.stringify(message(2)),
        MessageGroupId: ORDER,
        MessageDeduplicationId: `${message(2).messageId}:replay:${START.getTime()}`,
      },
    ]);
    expect(parseEnvelope(sends()[0]?.MessageBody ?? '')).toEqual(message(2));
  });

  it('moves each parked message in one transaction: held copy, parked copy removed, count up', async () => {
    // GIVEN
    seedParkedCursor(1);
    seedParked(2);

    // WHEN
    await replayKey(replayLocation(), ORDER);

    // THEN
    const [move] = ddb.commandCalls(TransactWriteCommand).map((call) => call.args[0].input.TransactItems);
    expect(move).toEqual([
      {
        Put: {
          TableName: INBOX_TABLE,
          Item: expect.objectContaining(inboxKeys.held(ORDER, 2)),
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      { Delete: { TableName: INBOX_TABLE, Key: inboxKeys.parked(ORDER, 2) } },
      {
        Update: {
          TableName: INBOX_TABLE,
          Key: inboxKeys.cursor(ORDER),
          UpdateExpression: 'ADD heldCount :one',
          ConditionExpression: 'attribute_not_exists(lastSequence) OR lastSequence < :sequence',
          ExpressionAttributeValues: { ':one': 1, ':sequence': 2 },
        },
      },
    ]);
  });

  it('adds to the messages held already, which stay held', async () => {
    // GIVEN 3 was held before the key parked at 2
    seedParkedCursor(1, { heldCount: 1 });
    seedHeld(3);
    seedParked(2);
    seedParked(4);

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [2, 4], resent: 2 });
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 3 });
    expect(inbox().held(ORDER, 3)).toMatchObject({ heldAt: PARKED_AT });
  });

  it('drops the parked copy of a message held already, counting it once', async () => {
    // GIVEN 2 is both held and parked (an earlier replay was interrupted)
    seedParkedCursor(1, { heldCount: 1 });
    seedHeld(2);
    seedParked(2);

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [2], resent: 2 });
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002']);
    expect(inbox().held(ORDER, 2)).toMatchObject({ heldAt: PARKED_AT });
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 1 });
  });

  it('picks up where an interrupted replay stopped, counting every message once', async () => {
    // GIVEN a replay that dies while moving the second message
    seedParkedCursor(1);
    seedParked(2);
    seedParked(3);
    let moves = 0;
    db.before(
      'TransactWrite',
      () => ++moves === 2,
      () => {
        throw new Error('Lambda timed out');
      },
    );
    await expect(replayKey(replayLocation(), ORDER)).rejects.toThrow('Lambda timed out');
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'PARKED#000000000000003']);
    expect(inbox().cursor(ORDER)).toMatchObject({ parked: true, heldCount: 1 });
    expect(sends()).toEqual([]);

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [3], resent: 2 });
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'HELD#000000000000003']);
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 2 });
    expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
    expect(sends()).toHaveLength(1);
  });

  it('re-sends the next message under a new deduplication id each time it is run', async () => {
    // GIVEN
    seedParkedCursor(1);
    seedParked(2);
    await replayKey(replayLocation(), ORDER);

    // WHEN run again a minute later (the re-sent message was lost)
    vi.setSystemTime(new Date(START.getTime() + 60_000));
    const again = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(again).toEqual({ groupKey: ORDER, replayed: [], resent: 2 });
    const ids = sends().map((input) => input.MessageDeduplicationId);
    expect(ids).toEqual([
      `${message(2).messageId}:replay:${START.getTime()}`,
      `${message(2).messageId}:replay:${START.getTime() + 60_000}`,
    ]);
    expect(ids).not.toContain(message(2).messageId);
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 1 });
  });

  it('unparks the key and re-sends nothing when its next message is not held', async () => {
    // GIVEN the key is parked at 2, but only 4 is parked
    seedParkedCursor(1);
    seedParked(4);

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [4] });
    expect(sends()).toEqual([]);
    expect(inbox().cursor(ORDER)).toEqual({
      ...inboxKeys.cursor(ORDER),
      lastSequence: 1,
      updatedAt: PARKED_AT,
      heldCount: 1,
    });
  });

  it('re-sends the first message of a key parked before anything was applied', async () => {
    // GIVEN
    db.seed(INBOX_TABLE, { ...inboxKeys.cursor(ORDER), parked: true, parkedSequence: 1 });
    seedParked(1);

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [1], resent: 1 });
    expect(sends()[0]?.MessageBody).toBe(JSON.stringify(message(1)));
  });

  it('propagates a failure to move a message, moving nothing and leaving the key parked', async () => {
    // GIVEN
    seedParkedCursor(1);
    seedParked(2);
    const failure = new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
    failEvery(db, 'TransactWrite', failure);

    // WHEN
    const replaying = replayKey(replayLocation(), ORDER);

    // THEN
    await expect(replaying).rejects.toBe(failure);
    expect(inbox().waiting(ORDER)).toEqual(['PARKED#000000000000002']);
    expect(inbox().cursor(ORDER)).toMatchObject({ parked: true });
  });

  it('keeps the parked copy of a message whose move was cancelled for a TransactionConflict (it is not held yet)', async () => {
    // GIVEN the move of message 2 meets another transaction on the key's cursor
    seedParkedCursor(1);
    seedParked(2);
    seedParked(3);
    const conflict = new TransactionCanceledException({
      message:
        'Transaction cancelled, please refer cancellation reasons for specific reasons [None, None, TransactionConflict]',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'TransactionConflict' }],
    });
    failEvery(db, 'TransactWrite', conflict);

    // WHEN
    const replaying = replayKey(replayLocation(), ORDER);

    // THEN the replay fails (to be run again), and no message lost its parked copy without being held
    await expect(replaying).rejects.toBe(conflict);
    expect(inbox().waiting(ORDER)).toEqual(['PARKED#000000000000002', 'PARKED#000000000000003']);
    expect(inbox().cursor(ORDER)).toMatchObject({ parked: true });
    expect(inbox().cursor(ORDER)?.heldCount).toBeUndefined();
    expect(sends()).toEqual([]);

    // and running it again moves them all
    await replayKey(replayLocation(), ORDER);
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'HELD#000000000000003']);
  });

  it('drops a parked message the cursor has passed (a duplicate), leaving no orphan held item', async () => {
    // GIVEN the key's cursor is at 3, with the duplicate 2 parked below it and 5 parked behind the gap at 4
    seedParkedCursor(3);
    seedParked(2, ORDER, { reason: 'Error: a duplicate failed' });
    seedParked(5);
    db.seed(INBOX_TABLE, { ...inboxKeys.failures(message(2).messageId), failures: 3, expiresAt: 1 });

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN 2 is gone for good (it was applied), 5 is held and counted once
    expect(result).toEqual({ groupKey: ORDER, replayed: [5], dropped: [2] });
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000005']);
    expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3, heldCount: 1 });
    expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
    expect(inbox().failures(message(2).messageId)).toBeUndefined();
  });

  it('removes a held copy the cursor has passed along with its parked copy, and its count', async () => {
    // GIVEN an earlier replay held the duplicate 2 below the cursor at 3 (and counted it), and 2 is parked again
    seedParkedCursor(3, { heldCount: 1 });
    seedHeld(2);
    seedParked(2);

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result).toEqual({ groupKey: ORDER, replayed: [], dropped: [2] });
    expect(inbox().waiting(ORDER)).toEqual([]);
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 0 });
  });

  it('moves a message a live delivery parked during the replay: nothing stays PARKED on the unparked key', async () => {
    // GIVEN the key parked at 2; while the replay moves 2, a live delivery parks 3
    seedParkedCursor(1);
    seedParked(2);
    db.before(
      'TransactWrite',
      (input) => input.TransactItems?.[0]?.Put?.Item?.sk === 'HELD#000000000000002',
      () => seedParked(3, ORDER, { reason: 'its key is parked' }),
    );

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN 3 was found by the read after the unpark, and moved too
    expect(result).toEqual({ groupKey: ORDER, replayed: [2, 3], resent: 2 });
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'HELD#000000000000003']);
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 2 });
    expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
  });

  it('leaves a key parked anew after the unpark as it is: its new parking stands', async () => {
    // GIVEN right after the unpark, message 2 fails again and parks the key, with 3 parked behind it
    seedParkedCursor(1);
    seedParked(2);
    db.before(
      'Query',
      () => db.item(INBOX_TABLE, inboxKeys.cursor(ORDER))?.parked === undefined,
      () => {
        db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { parked: true, parkedSequence: 2 });
        seedParked(3, ORDER, { reason: 'its key is parked' });
      },
    );

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN 3 stays parked with the key, to be replayed with it
    expect(result.replayed).toEqual([2]);
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'PARKED#000000000000003']);
    expect(inbox().cursor(ORDER)).toMatchObject({ parked: true });
  });

  it('fails with ReplayNotSettledError when messages keep being parked, round after round', async () => {
    // GIVEN every move of a message is followed by a live delivery parking the next one
    seedParkedCursor(1);
    seedParked(2);
    let next = 3;
    const parkNext = () => {
      seedParked(next++, ORDER, { reason: 'its key is parked' });
      db.before('TransactWrite', () => true, parkNext);
    };
    db.before('TransactWrite', () => true, parkNext);

    // WHEN
    const replaying = replayKey(replayLocation(), ORDER);

    // THEN
    await expect(replaying).rejects.toThrow(ReplayNotSettledError);
    await expect(replaying).rejects.toMatchObject({ name: 'ReplayNotSettledError' });
    // one message moved in each of its rounds
    expect(
      inbox()
        .waiting(ORDER)
        .filter((sk) => sk.startsWith('HELD#')),
    ).toHaveLength(MAX_REPLAY_ROUNDS);
    await expect(replaying).rejects.toThrow(
      `key ${ORDER}: messages were still being parked after ${MAX_REPLAY_ROUNDS} rounds`,
    );
  });

  it.each(['server-error', 'timeout', 'sdk-retry'] as const)(
    'moves a message once when its move lost its answer (%s), running again where it must',
    async (outcome) => {
      // GIVEN
      seedParkedCursor(1);
      seedParked(2);
      seedParked(3);
      db.loseAnswer('TransactWrite', () => true, outcome);

      // WHEN run until it succeeds (an operator runs it again after an error)
      const result = await replayKey(replayLocation(), ORDER).catch(() => replayKey(replayLocation(), ORDER));

      // THEN
      expect(result.resent).toBe(2);
      expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000002', 'HELD#000000000000003']);
      expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 2 });
    },
  );

  it('skips a parked message gone before it is moved (another replay moved it)', async () => {
    // GIVEN 2 and 3 are listed, and 2 disappears before its move
    seedParkedCursor(1);
    seedParked(2);
    seedParked(3);
    db.before(
      'Get',
      (input) => input.Key?.sk === 'PARKED#000000000000002',
      () => db.remove(INBOX_TABLE, inboxKeys.parked(ORDER, 2)),
    );

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result.replayed).toEqual([3]);
    expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000003']);
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 1 });
  });

  it('leaves the count alone when the held copy the cursor passed is gone before it is removed', async () => {
    // GIVEN a held copy of 2 below the cursor, gone just before the replay removes it
    seedParkedCursor(3, { heldCount: 1 });
    seedHeld(2);
    seedParked(2);
    db.before(
      'TransactWrite',
      (input) => input.TransactItems?.[0]?.Delete?.Key?.sk === 'HELD#000000000000002',
      () => db.remove(INBOX_TABLE, inboxKeys.held(ORDER, 2)),
    );

    // WHEN
    const result = await replayKey(replayLocation(), ORDER);

    // THEN
    expect(result.dropped).toEqual([2]);
    expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 1 });
  });

  it('propagates any other failure to remove a held copy the cursor passed', async () => {
    // GIVEN
    seedParkedCursor(3, { heldCount: 1 });
    seedHeld(2);
    seedParked(2);
    const conflict = new TransactionCanceledException({
      message: 'Transaction cancelled [None, TransactionConflict]',
      $metadata: { httpStatusCode: 400 },
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
    });
    db.before(
      'TransactWrite',
      (input) => input.TransactItems?.[0]?.Delete?.Key?.sk === 'HELD#000000000000002',
      () => {
        throw conflict;
      },
    );

    // WHEN / THEN
    await expect(replayKey(replayLocation(), ORDER)).rejects.toBe(conflict);
  });

  it('lets the consumer apply the replayed key in order once the cause is fixed', async () => {
    // GIVEN a consumer that parks order-1 at its poison message 2; 3 is parked behind it
    const projection = new ProjectionService(dynamodb, PROJECTION_TABLE);
    let poisoned = new Set([message(2).messageId]);
    const alerts: ParkedKey[] = [];
    const consumer = inboxConsumer({
      clock: () => new Date(),
      parkAfterFailures: 1,
      effects: [
        { effect: projection.view, strategy: 'version' },
        { effect: projection.notifications, strategy: 'unique' },
      ],
      beforeEffects: async (delivered) => {
        if (poisoned.has(delivered.messageId)) throw new Error('poison message');
      },
      onParked: async (parked) => {
        alerts.push(parked);
      },
    });
    const placed = envelope(ORDER, 1, 'OrderPlaced', { orderId: ORDER, customerId: 'c-1', items: [] });
    await consumer.consume(placed);
    expect((await consumer.consume(message(2))).outcome).toBe('PARKED');
    expect((await consumer.consume(message(3))).outcome).toBe('PARKED');

    // WHEN the cause is fixed, the key replayed, and the re-sent message consumed
    poisoned = new Set();
    await replayKey(replayLocation(), ORDER);
    const resent = await consumer.consume(parseEnvelope(sends()[0]?.MessageBody ?? ''));
    const next = await consumer.consume(message(4));

    // THEN
    expect(resent).toEqual({ outcome: 'APPLIED', released: [3] });
    expect(next).toEqual({ outcome: 'APPLIED', released: [] });
    expect(await projection.getNotifications(ORDER)).toEqual([
      '1:OrderPlaced',
      '2:OrderNoteAdded',
      '3:OrderNoteAdded',
      '4:OrderNoteAdded',
    ]);
    expect(inbox().waiting(ORDER)).toEqual([]);
    expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 4, heldCount: 0 });
    expect(alerts).toHaveLength(1);

    // WHEN a later message is poison again
    poisoned = new Set([message(5).messageId]);
    const parkedAgain = await consumer.consume(message(5));

    // THEN the key parks again, with a new alert
    expect(parkedAgain.outcome).toBe('PARKED');
    expect(alerts.map((alert) => alert.sequence)).toEqual([2, 5]);
  });
});
