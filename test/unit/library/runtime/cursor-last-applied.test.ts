import { TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type CursorEffect,
  CursorEffectAttributeError,
  type CursorLocation,
  cursorIncrement,
} from '../../../../functions/runtime/consumer/cursor-location';
import type {
  IdempotentConsumer,
  IdempotentConsumerOptions,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, inboxConsumer, installTables, journalEffect } from '../../support/consumer-harness';
import { envelope, INBOX_TABLE, inboxOf, newConsumerTables } from '../../support/inbox-fixtures';

// Every write that moves a key's cursor to n also records message n's id (`lastMessageId`) and its W3C trace context
// (`lastTraceparent`, removed when n has none), in that same write: ops can then tell which message, from which
// request, a group applied last — on every path the cursor moves (lean, full, released from the held set, skipped),
// whether the cursor is the inbox's item or the user's own.

const KEY = 'order-1';
const VIEW_TABLE = 'view-table';
const now = new Date('2026-03-01T12:00:00.000Z');

/** A distinct, valid W3C trace context per sequence. */
const traceOf = (sequence: number) =>
  `00-${String(sequence).padStart(32, 'a')}-${String(sequence).padStart(16, 'b')}-01`;

/** Message n of the key, with its trace context unless `traced` is false. */
function message(sequence: number, options: { traced?: boolean; type?: string } = {}): MessageEnvelope {
  const plain = envelope(KEY, sequence, options.type ?? 'NoteAdded', { text: `note ${sequence}` });
  return options.traced === false ? plain : { ...plain, traceparent: traceOf(sequence) };
}

/** Appends `<sequence>:<type>` to the key's log, once per message (`transaction`). */
const logEffect = journalEffect('log');

/** A cursor effect whose placeholders (`#c0`, `:c0`, `:c1z`…) ride in the same expression as the cursor's own. */
const latest: CursorEffect = {
  name: 'latest',
  attributes: (delivered) => ({ latestType: delivered.type, seen: cursorIncrement() }),
};

const viewCursor: CursorLocation = { tableName: VIEW_TABLE, key: (groupKey) => ({ orderId: groupKey }) };

let db: InMemoryDynamoDb;

function newConsumer(changes: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumer {
  return inboxConsumer({
    clock: () => now,
    effects: [],
    ...changes,
  });
}

const inboxCursorItem = () => inboxOf(db).cursor(KEY);
const viewItem = () => db.item(VIEW_TABLE, { orderId: KEY });
const commands = () => ddb.calls().map((call) => call.args[0].constructor.name);
/** The cursor-moving write's update (plain, or a transaction's first item) of each call that moved the cursor. */
const cursorMoves = () =>
  ddb.calls().flatMap((call) => {
    const command = call.args[0];
    const update =
      command instanceof UpdateCommand
        ? command.input
        : command instanceof TransactWriteCommand
          ? command.input.TransactItems?.[0]?.Update
          : undefined;
    return update?.UpdateExpression?.startsWith('SET lastSequence') === true ? [update] : [];
  });

beforeEach(() => {
  db = installTables(newConsumerTables({ [VIEW_TABLE]: ['orderId'] }));
});

describe('the cursor records the last applied message', () => {
  describe('on the lean path (a cursor effect only)', () => {
    it("records the first and every later message's id and traceparent in the ONE update that moves the cursor", async () => {
      // GIVEN a lean consumer whose cursor is the inbox's item
      const consumer = newConsumer({ cursorEffect: latest });

      // WHEN message 1 arrives
      await consumer.consume(message(1));

      // THEN one update moved the cursor and recorded message 1
      expect(commands()).toEqual(['UpdateCommand']);
      expect(inboxCursorItem()).toMatchObject({
        lastSequence: 1,
        lastMessageId: message(1).messageId,
        lastTraceparent: traceOf(1),
        latestType: 'NoteAdded',
        seen: 1,
      });

      // WHEN message 2 arrives
      ddb.resetHistory();
      await consumer.consume(message(2));

      // THEN still one update, and the cursor names message 2
      expect(commands()).toEqual(['UpdateCommand']);
      expect(inboxCursorItem()).toMatchObject({
        lastSequence: 2,
        lastMessageId: message(2).messageId,
        lastTraceparent: traceOf(2),
        seen: 2,
      });
    });

    it("keeps its own placeholders apart from the cursor effect's", async () => {
      // GIVEN a lean consumer
      const consumer = newConsumer({ cursorEffect: latest });

      // WHEN message 1 arrives
      await consumer.consume(message(1));

      // THEN the cursor's condition is intact and its values sit next to the effect's, none overwritten
      const [move] = cursorMoves();
      expect(move?.ConditionExpression).toBe(
        'attribute_not_exists(lastSequence) AND (attribute_not_exists(heldCount) OR heldCount = :zero) AND (attribute_not_exists(parked) OR parked = :false)',
      );
      expect(move?.UpdateExpression).toBe(
        'SET lastSequence = :sequence, updatedAt = :now, lastMessageId = :lastMessageId, lastTraceparent = :lastTraceparent, #c0 = :c0, #c1 = if_not_exists(#c1, :c1z) + :c1',
      );
      expect(move?.ExpressionAttributeNames).toEqual({ '#c0': 'latestType', '#c1': 'seen' });
      expect(move?.ExpressionAttributeValues).toEqual({
        ':sequence': 1,
        ':now': now.toISOString(),
        ':zero': 0,
        ':false': false,
        ':lastMessageId': message(1).messageId,
        ':lastTraceparent': traceOf(1),
        ':c0': 'NoteAdded',
        ':c1': 1,
        ':c1z': 0,
      });
    });

    it('removes an older traceparent when the message applied has none, in the same one update', async () => {
      // GIVEN message 1, traced, applied
      const consumer = newConsumer({ cursorEffect: latest });
      await consumer.consume(message(1));
      ddb.resetHistory();

      // WHEN message 2 arrives without a trace context
      await consumer.consume(message(2, { traced: false }));

      // THEN the cursor names message 2 and shows no trace context (not message 1's)
      expect(commands()).toEqual(['UpdateCommand']);
      expect(inboxCursorItem()).toMatchObject({ lastSequence: 2, lastMessageId: message(2).messageId });
      expect(inboxCursorItem()).not.toHaveProperty('lastTraceparent');
      expect(cursorMoves()[0]?.UpdateExpression).toMatch(/ REMOVE lastTraceparent$/);
      expect(cursorMoves()[0]?.ExpressionAttributeValues).not.toHaveProperty(':lastTraceparent');
    });

    it("records it on the user's own cursor item, next to the cursor effect's attributes", async () => {
      // GIVEN a lean consumer whose cursor is the user's view item
      const consumer = newConsumer({ cursor: viewCursor, cursorEffect: latest });

      // WHEN messages 1 and 2 arrive
      await consumer.consume(message(1));
      ddb.resetHistory();
      await consumer.consume(message(2));

      // THEN one update each, and the view item carries message 2's id and trace context
      expect(commands()).toEqual(['UpdateCommand']);
      expect(viewItem()).toEqual({
        orderId: KEY,
        lastSequence: 2,
        updatedAt: now.toISOString(),
        lastMessageId: message(2).messageId,
        lastTraceparent: traceOf(2),
        latestType: 'NoteAdded',
        seen: 2,
      });
      expect(db.all(INBOX_TABLE)).toEqual([]);
    });
  });

  describe('on the full path (guarded effects)', () => {
    it('records the message in the write that moves the cursor, with no extra request or read', async () => {
      // GIVEN a consumer with one transaction effect
      const consumer = newConsumer({ effects: [{ effect: logEffect, strategy: 'transaction' }] });

      // WHEN messages 1 and 2 arrive, the second without a trace context
      await consumer.consume(message(1));
      expect(inboxCursorItem()).toMatchObject({
        lastSequence: 1,
        lastMessageId: message(1).messageId,
        lastTraceparent: traceOf(1),
      });
      ddb.resetHistory();
      await consumer.consume(message(2, { traced: false }));

      // THEN as ever: one cursor read, the effect's transaction, one cursor update — which recorded message 2
      expect(commands()).toEqual(['GetCommand', 'TransactWriteCommand', 'UpdateCommand']);
      expect(cursorMoves()).toHaveLength(1);
      expect(cursorMoves()[0]?.ConditionExpression).toBe(
        'lastSequence = :previous AND (attribute_not_exists(heldCount) OR heldCount = :held)',
      );
      expect(inboxCursorItem()).toMatchObject({ lastSequence: 2, lastMessageId: message(2).messageId });
      expect(inboxCursorItem()).not.toHaveProperty('lastTraceparent');
    });

    it('records each released held message in the transaction that moves the cursor to it', async () => {
      // GIVEN messages 2 and 3 held behind a gap
      const consumer = newConsumer({ effects: [{ effect: logEffect, strategy: 'transaction' }] });
      await consumer.consume(message(2));
      await consumer.consume(message(3));
      ddb.resetHistory();

      // WHEN message 1 arrives
      const result = await consumer.consume(message(1));

      // THEN 2 and 3 are released; each move recorded its own message, and the cursor names the last, 3
      expect(result).toEqual({ outcome: 'APPLIED', released: [2, 3] });
      expect(
        cursorMoves().map((move) => [
          move.ExpressionAttributeValues?.[':sequence'],
          move.ExpressionAttributeValues?.[':lastMessageId'],
          move.ExpressionAttributeValues?.[':lastTraceparent'],
        ]),
      ).toEqual([
        [1, message(1).messageId, traceOf(1)],
        [2, message(2).messageId, traceOf(2)],
        [3, message(3).messageId, traceOf(3)],
      ]);
      expect(cursorMoves()[2]?.UpdateExpression).toMatch(/ ADD heldCount :minusOne$/);
      expect(inboxCursorItem()).toMatchObject({
        lastSequence: 3,
        heldCount: 0,
        lastMessageId: message(3).messageId,
        lastTraceparent: traceOf(3),
      });
      // AND as ever: per message released, a read of the held item and the cursor, the effect, the move
      expect(commands()).toEqual([
        'GetCommand', // cursor
        'GetCommand', // held copy of 1? (none)
        'TransactWriteCommand', // 1's effect
        'UpdateCommand', // cursor → 1
        ...['GetCommand', 'GetCommand', 'TransactWriteCommand', 'TransactWriteCommand'], // 2: held, cursor, effect, move
        ...['GetCommand', 'GetCommand', 'TransactWriteCommand', 'TransactWriteCommand'], // 3
        'GetCommand', // held 4? (none)
      ]);
    });

    it("records a released held message on the user's cursor item, and removes a traceparent it lacks", async () => {
      // GIVEN a lean consumer on the user's view item; 1 (traced) applied, 3 (untraced) held
      const consumer = newConsumer({ cursor: viewCursor, cursorEffect: latest });
      await consumer.consume(message(1));
      await consumer.consume(message(3, { traced: false }));

      // WHEN 2 arrives
      const result = await consumer.consume(message(2));

      // THEN the view item names 3, with no trace context
      expect(result).toEqual({ outcome: 'APPLIED', released: [3] });
      expect(viewItem()).toMatchObject({ lastSequence: 3, lastMessageId: message(3).messageId, seen: 3 });
      expect(viewItem()).not.toHaveProperty('lastTraceparent');
    });
  });

  describe('for a message of a type the consumer does not apply (SKIPPED)', () => {
    it('records the skipped message in its one cursor update', async () => {
      // GIVEN a consumer that applies OrderPlaced only, with 1 applied
      const consumer = newConsumer({
        effects: [{ effect: logEffect, strategy: 'transaction' }],
        messageTypes: ['OrderPlaced'],
      });
      await consumer.consume(message(1, { type: 'OrderPlaced' }));
      ddb.resetHistory();

      // WHEN message 2, a note, arrives
      const result = await consumer.consume(message(2));

      // THEN it is skipped with one update, which names it
      expect(result.outcome).toBe('SKIPPED');
      expect(commands()).toEqual(['UpdateCommand']);
      expect(inboxCursorItem()).toMatchObject({
        lastSequence: 2,
        lastMessageId: message(2).messageId,
        lastTraceparent: traceOf(2),
      });
    });

    it('records a skipped message released from the held set', async () => {
      // GIVEN a consumer that applies OrderPlaced only; note 2 held behind the gap at 1
      const consumer = newConsumer({
        effects: [{ effect: logEffect, strategy: 'transaction' }],
        messageTypes: ['OrderPlaced'],
      });
      await consumer.consume(message(2));
      expect(db.item(INBOX_TABLE, inboxKeys.held(KEY, 2))).toBeDefined();

      // WHEN 1 arrives
      const result = await consumer.consume(message(1, { type: 'OrderPlaced' }));

      // THEN 2 is released (skipped) and the cursor names it
      expect(result).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(inboxCursorItem()).toMatchObject({
        lastSequence: 2,
        lastMessageId: message(2).messageId,
        lastTraceparent: traceOf(2),
      });
    });
  });

  it('fails if a cursor effect sets lastMessageId or lastTraceparent (the cursor owns them)', async () => {
    for (const attribute of ['lastMessageId', 'lastTraceparent']) {
      // GIVEN a cursor effect that sets one of them
      const consumer = newConsumer({
        cursorEffect: { name: 'sneaky', attributes: () => ({ [attribute]: 'mine' }) },
        parkAfterFailures: 5,
      });

      // WHEN a message arrives
      const consuming = consumer.consume(message(1));

      // THEN it fails, naming the attribute, and nothing moved
      await expect(consuming).rejects.toBeInstanceOf(CursorEffectAttributeError);
      await expect(consuming).rejects.toThrow(`may not set attribute "${attribute}"`);
      expect(inboxCursorItem()?.lastSequence).toBeUndefined();
    }
  });
});
