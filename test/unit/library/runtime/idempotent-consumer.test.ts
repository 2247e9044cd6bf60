import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  GetCommand,
  type GetCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WriteConditionError } from '../../../../functions/runtime/atomic-write';
import { attentionOf } from '../../../../functions/runtime/consumer/attention-index';
import {
  type DynamoEffect,
  IDEMPOTENCY_STRATEGIES,
  type IdempotencyStrategy,
} from '../../../../functions/runtime/consumer/effect-strategies';
import {
  CursorMovedError,
  type GuardedEffect,
  type IdempotentConsumer,
  type IdempotentConsumerOptions,
  KeyUnparkedError,
  type ParkedKey,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import { UnreadableMessageError } from '../../../../functions/runtime/consumer/unreadable-message';
import { InvalidEnvelopeError, ReliableMessagingError } from '../../../../functions/runtime/errors';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import { TransientFailureError } from '../../../../functions/runtime/transient-errors';
import type { OrderNoteAdded, OrderPlaced } from '../../../../reference/functions/orders/order-events';
import { ProjectionService } from '../../../../reference/functions/projection/projection-service';
import type { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import {
  ddb,
  dynamodb,
  inboxConsumer,
  installTables,
  journalEffect,
  journalEntries,
} from '../../support/consumer-harness';
import { beforeEvery } from '../../support/dynamo-faults';
import {
  envelope,
  INBOX_TABLE,
  inboxOf,
  PROJECTION_TABLE,
  RETENTION_SECONDS,
  seconds,
} from '../../support/inbox-fixtures';

const START = new Date('2026-03-01T12:00:00.000Z');
const ORDER = 'order-1';

let db: InMemoryDynamoDb;
let now: Date;
let projection: ProjectionService;
/** Upcoming failures of `beforeEffects`, per messageId (a poison message). */
let poisoned: Map<string, number>;
let alerts: ParkedKey[];
let consumer: IdempotentConsumer;

/** Message 1 of a key places the order (2 × sku-a); every later one adds the note `note <n>`. */
function message(sequence: number, groupKey = ORDER): MessageEnvelope {
  return sequence === 1
    ? envelope<OrderPlaced>(groupKey, 1, 'OrderPlaced', {
        orderId: groupKey,
        customerId: 'customer-1',
        items: [{ sku: 'sku-a', quantity: 2 }],
      })
    : envelope<OrderNoteAdded>(groupKey, sequence, 'OrderNoteAdded', {
        orderId: groupKey,
        text: `note ${sequence}`,
      });
}

/** The reference consumer's effects, each under the strategy it demonstrates. */
const referenceEffects = (): GuardedEffect[] => [
  { effect: projection.view, strategy: 'version' },
  { effect: projection.inventory, strategy: 'transaction' },
  { effect: projection.notifications, strategy: 'unique' },
];

function newConsumer(changes: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumer {
  return inboxConsumer({
    clock: () => now,
    effects: referenceEffects(),
    beforeEffects: async (delivered) => {
      const remaining = poisoned.get(delivered.messageId) ?? 0;
      if (remaining > 0) {
        poisoned.set(delivered.messageId, remaining - 1);
        throw new Error(`poison message ${delivered.sequence}`);
      }
    },
    onParked: async (parked) => {
      alerts.push(parked);
    },
    ...changes,
  });
}

const poison = (delivered: MessageEnvelope, times = Number.POSITIVE_INFINITY) =>
  poisoned.set(delivered.messageId, times);
const inbox = () => inboxOf(db);
/** What the key's effects saw, in order: one `<sequence>:<type>` per application. */
const appliedOf = async (groupKey = ORDER) => projection.getNotifications(groupKey);
const notesOf = async (groupKey = ORDER) => (await projection.getView(groupKey))?.notes;
const reservedOf = async () => (await projection.getInventory('sku-a')).reserved;

/** The update of a cursor, whether sent as a plain UpdateCommand or as an item of a TransactWriteCommand. */
interface CursorUpdate {
  readonly TableName?: string | undefined;
  readonly Key?: Record<string, unknown> | undefined;
  readonly UpdateExpression?: string | undefined;
  readonly ConditionExpression?: string | undefined;
  readonly ExpressionAttributeValues?: Record<string, unknown> | undefined;
}

/** An attempt to move a cursor: a plain UpdateCommand (a message not held), or a transaction (cursor + held copy). */
interface CursorAdvance {
  readonly command: 'Update' | 'TransactWrite';
  readonly update: CursorUpdate;
  /** The transaction's items, the cursor update first; none for a plain UpdateCommand. */
  readonly transactItems: TransactWriteCommandInput['TransactItems'];
}

/** Holds for an update that moves a cursor (to `sequence`, if given): an UpdateCommand's input. */
const isCursorAdvance =
  (sequence?: number) =>
  (update: CursorUpdate | undefined): boolean =>
    update?.TableName === INBOX_TABLE &&
    update.Key?.sk === 'CURSOR' &&
    (update.UpdateExpression ?? '').startsWith('SET lastSequence') &&
    (sequence === undefined || update.ExpressionAttributeValues?.[':sequence'] === sequence);
/** Holds for a transaction that moves a cursor (a message released from the held set): a TransactWriteCommand's input. */
const isTransactedCursorAdvance =
  (sequence?: number) =>
  (input: TransactWriteCommandInput): boolean =>
    isCursorAdvance(sequence)(input.TransactItems?.[0]?.Update);
/** Every attempt to move a cursor (to `sequence`, if given), in order, whichever command carried it. */
const cursorAdvances = (sequence?: number): CursorAdvance[] =>
  ddb.calls().flatMap((call): CursorAdvance[] => {
    const command = call.args[0];
    if (command instanceof UpdateCommand && isCursorAdvance(sequence)(command.input)) {
      return [{ command: 'Update', update: command.input, transactItems: undefined }];
    }
    if (command instanceof TransactWriteCommand && isTransactedCursorAdvance(sequence)(command.input)) {
      const items = command.input.TransactItems;
      return [{ command: 'TransactWrite', update: items?.[0]?.Update ?? {}, transactItems: items }];
    }
    return [];
  });
const isCursorRead = (input: GetCommandInput) => input.Key?.sk === 'CURSOR';
const writes = () => ddb.calls().filter((call) => !(call.args[0] instanceof GetCommand));

function crash(): never {
  throw new Error('Lambda timed out');
}

async function consumeAll(...sequences: number[]): Promise<string[]> {
  const outcomes: string[] = [];
  for (const sequence of sequences) outcomes.push((await consumer.consume(message(sequence))).outcome);
  return outcomes;
}

beforeEach(() => {
  db = installTables();
  now = START;
  projection = new ProjectionService(dynamodb, PROJECTION_TABLE);
  poisoned = new Map();
  alerts = [];
  consumer = newConsumer();
});

describe('IdempotentConsumer', () => {
  it('fails if parkAfterFailures is not an integer ≥ 1', () => {
    expect(() => newConsumer({ parkAfterFailures: 0 })).toThrow(RangeError);
    expect(() => newConsumer({ parkAfterFailures: 1.5 })).toThrow('parkAfterFailures must be an integer ≥ 1');
    expect(() => newConsumer({ parkAfterFailures: 1 })).not.toThrow();
  });

  describe('a message that is next in its key', () => {
    it('applies every effect of the first message and moves the cursor to 1', async () => {
      // WHEN
      const result = await consumer.consume(message(1));

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(await projection.getView(ORDER)).toEqual({
        orderId: ORDER,
        status: 'PLACED',
        version: 1,
        notes: [],
        paid: false,
      });
      expect(await reservedOf()).toBe(2);
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
      expect(inbox().cursor(ORDER)).toEqual({
        pk: `KEY#${ORDER}`,
        sk: 'CURSOR',
        lastSequence: 1,
        lastMessageId: message(1).messageId,
        updatedAt: START.toISOString(),
      });
    });

    it('applies consecutive messages one after the other', async () => {
      // WHEN
      const outcomes = await consumeAll(1, 2, 3);

      // THEN
      expect(outcomes).toEqual(['APPLIED', 'APPLIED', 'APPLIED']);
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded']);
      expect(await projection.getView(ORDER)).toMatchObject({ version: 3, notes: ['note 2', 'note 3'] });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3 });
    });

    it('keeps keys apart: each has its own cursor', async () => {
      // WHEN
      await consumeAll(1, 2);
      const other = await consumer.consume(message(1, 'order-2'));

      // THEN
      expect(other.outcome).toBe('APPLIED');
      expect(inbox().cursor('order-2')).toMatchObject({ lastSequence: 1 });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2 });
      expect(await reservedOf()).toBe(4);
    });

    it('moves the cursor conditionally on the previous sequence: a cursor moved meanwhile fails with CursorMovedError', async () => {
      // GIVEN other deliveries move the cursor past 2 while message 2's effects run
      await consumeAll(1);
      consumer = newConsumer({
        beforeEffects: async () => db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { lastSequence: 3 }),
      });

      // WHEN
      const consuming = consumer.consume(message(2));

      // THEN
      await expect(consuming).rejects.toBeInstanceOf(CursorMovedError);
      await expect(consuming).rejects.toThrow(
        `cursor of key ${ORDER} is no longer at 1; message 2 will be retried`,
      );
      const error = await consuming.catch((caught: unknown) => caught);
      expect((error as Error).cause).toBeInstanceOf(WriteConditionError);
      expect((error as Error).cause).toMatchObject({ index: 0 });
      const advances = cursorAdvances(2);
      expect(advances.map((advance) => advance.command)).toEqual(['Update']);
      expect(advances[0]?.update).toMatchObject({
        ConditionExpression:
          'lastSequence = :previous AND (attribute_not_exists(heldCount) OR heldCount = :held)',
        ExpressionAttributeValues: { ':previous': 1, ':sequence': 2, ':held': 0 },
      });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3 });
      expect(inbox().failures(message(2).messageId)).toBeUndefined();
    });

    it('answers APPLIED, once, when the cursor is found at the message itself (another delivery applied it)', async () => {
      // GIVEN another delivery applies message 2 while this one's effects run
      await consumeAll(1);
      consumer = newConsumer({
        beforeEffects: async () => db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { lastSequence: 2 }),
      });

      // WHEN
      const result = await consumer.consume(message(2));

      // THEN the message is applied: no CursorMovedError, no failure counted
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2 });
      expect(inbox().failures(message(2).messageId)).toBeUndefined();
    });

    it('moves the cursor with one plain UpdateCommand when the message was not held, and in one transaction with the removal of its held copy when it was', async () => {
      // GIVEN message 2 is held
      await consumeAll(2);

      // WHEN message 1 arrives, which releases 2
      const result = await consumer.consume(message(1));

      // THEN 1 moved the cursor alone (no held copy to remove)
      expect(result).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(cursorAdvances(1)).toEqual([
        {
          command: 'Update',
          update: {
            TableName: INBOX_TABLE,
            Key: inboxKeys.cursor(ORDER),
            UpdateExpression:
              'SET lastSequence = :sequence, updatedAt = :now, lastMessageId = :lastMessageId REMOVE lastTraceparent',
            ConditionExpression: 'attribute_not_exists(lastSequence) AND heldCount = :held',
            ExpressionAttributeValues: {
              ':sequence': 1,
              ':now': START.toISOString(),
              ':held': 1,
              ':lastMessageId': message(1).messageId,
            },
          },
          transactItems: undefined,
        },
      ]);
      // AND 2 moved it and removed its held copy, all or nothing
      const cursorUpdate = {
        TableName: INBOX_TABLE,
        Key: inboxKeys.cursor(ORDER),
        UpdateExpression:
          'SET lastSequence = :sequence, updatedAt = :now, lastMessageId = :lastMessageId REMOVE lastTraceparent ADD heldCount :minusOne',
        ConditionExpression: 'lastSequence = :previous AND heldCount = :held',
        ExpressionAttributeValues: {
          ':sequence': 2,
          ':now': START.toISOString(),
          ':held': 1,
          ':previous': 1,
          ':minusOne': -1,
          ':lastMessageId': message(2).messageId,
        },
      };
      expect(cursorAdvances(2)).toEqual([
        {
          command: 'TransactWrite',
          update: cursorUpdate,
          transactItems: [
            { Update: cursorUpdate },
            { Delete: { TableName: INBOX_TABLE, Key: inboxKeys.held(ORDER, 2) } },
          ],
        },
      ]);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 0 });
      expect(inbox().held(ORDER, 2)).toBeUndefined();
    });

    it('retries a message whose effects failed without applying again the effects already done', async () => {
      // GIVEN a last effect that fails on the first attempt of message 2
      let flakes = 1;
      const flaky: DynamoEffect = {
        name: 'flaky',
        items: (delivered) => {
          if (delivered.sequence === 2 && flakes-- > 0) throw new Error('flaky effect');
          return [];
        },
      };
      consumer = newConsumer({
        effects: [...referenceEffects(), { effect: flaky, strategy: 'transaction' }],
      });
      await consumeAll(1);

      // WHEN
      const first = consumer.consume(message(2));

      // THEN
      await expect(first).rejects.toThrow('flaky effect');
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1 });

      // WHEN redelivered
      const second = await consumer.consume(message(2));

      // THEN
      expect(second).toEqual({ outcome: 'APPLIED', released: [] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
      expect(await notesOf()).toEqual(['note 2']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2 });
    });
  });

  describe('duplicates', () => {
    it('acknowledges a message at or below the cursor as DUPLICATE, applying and writing nothing', async () => {
      // GIVEN
      await consumeAll(1, 2);
      ddb.resetHistory();

      // WHEN
      const again2 = await consumer.consume(message(2));
      const again1 = await consumer.consume(message(1));

      // THEN
      expect(again2).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(again1).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(writes()).toHaveLength(0);
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
      expect(await reservedOf()).toBe(2);
    });

    it('acknowledges a redelivery that comes after the cursor moved on', async () => {
      // GIVEN
      await consumeAll(1, 2, 3, 4);

      // WHEN
      const late = await consumer.consume(message(2));

      // THEN
      expect(late.outcome).toBe('DUPLICATE');
      expect(await notesOf()).toEqual(['note 2', 'note 3', 'note 4']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 4 });
    });

    it('releases, in order, the held messages an interrupted release left behind', async () => {
      // GIVEN 2 and 3 are held, and the release of 2 fails once after 1 is applied
      await consumeAll(3, 2);
      poison(message(2), 1);
      await expect(consumer.consume(message(1))).rejects.toThrow('poison message 2');
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1, heldCount: 2 });

      // WHEN message 1 is redelivered
      const redelivery = await consumer.consume(message(1));

      // THEN
      expect(redelivery).toEqual({ outcome: 'DUPLICATE', released: [2, 3] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3, heldCount: 0 });
      expect(inbox().waiting(ORDER)).toEqual([]);
    });
  });

  describe('gaps', () => {
    it('holds a message that arrives ahead of its predecessor, durably and without applying it', async () => {
      // WHEN
      const result = await consumer.consume(message(2));

      // THEN
      expect(result).toEqual({ outcome: 'HELD', released: [] });
      expect(inbox().held(ORDER, 2)).toEqual({
        pk: `KEY#${ORDER}`,
        sk: 'HELD#000000000000002',
        message: JSON.stringify(message(2)),
        heldAt: START.toISOString(),
        attention: attentionOf('HELD', ORDER),
        since: START.toISOString(),
      });
      expect(inbox().cursor(ORDER)).toEqual({ pk: `KEY#${ORDER}`, sk: 'CURSOR', heldCount: 1 });
      expect(await projection.getView(ORDER)).toBeUndefined();
      expect(await appliedOf()).toEqual([]);
    });

    it('holds a redelivery of a held message once', async () => {
      // GIVEN
      await consumeAll(3);
      now = new Date(START.getTime() + 5000);

      // WHEN
      const again = await consumer.consume(message(3));

      // THEN
      expect(again).toEqual({ outcome: 'HELD', released: [] });
      expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 1 });
      expect(inbox().held(ORDER, 3)).toMatchObject({ since: START.toISOString() });
    });

    it('applies the held messages, in order, right after the missing one', async () => {
      // GIVEN
      await consumeAll(3, 2);

      // WHEN
      const result = await consumer.consume(message(1));

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [2, 3] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded']);
      expect(await projection.getView(ORDER)).toMatchObject({ version: 3, notes: ['note 2', 'note 3'] });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3, heldCount: 0 });
      expect(inbox().waiting(ORDER)).toEqual([]);
    });

    it('stops releasing at the next gap, and releases the rest once that gap is filled', async () => {
      // GIVEN
      await consumeAll(2, 4, 5);

      // WHEN
      const first = await consumer.consume(message(1));

      // THEN
      expect(first).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 2 });
      expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000004', 'HELD#000000000000005']);

      // WHEN
      const second = await consumer.consume(message(3));

      // THEN
      expect(second).toEqual({ outcome: 'APPLIED', released: [4, 5] });
      expect(await notesOf()).toEqual(['note 2', 'note 3', 'note 4', 'note 5']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 5, heldCount: 0 });
    });

    it('applies a held message delivered directly once it is next, removing its held copy', async () => {
      // GIVEN 3 is held, and its release after 2 failed
      await consumeAll(1, 3);
      poison(message(3), 1);
      await expect(consumer.consume(message(2))).rejects.toThrow('poison message 3');
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 1 });

      // WHEN 3 itself is delivered (as a replay re-sends it)
      const result = await consumer.consume(message(3));

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded']);
      expect(inbox().held(ORDER, 3)).toBeUndefined();
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3, heldCount: 0 });
    });

    it('fails the hold with CursorMovedError when the predecessor is applied meanwhile, then applies it', async () => {
      // GIVEN message 1 gets applied between the cursor read and the hold of message 2
      beforeEvery(db, 'TransactWrite', () => consumeAll(1).then(() => undefined));

      // WHEN
      const holding = consumer.consume(message(2));

      // THEN
      await expect(holding).rejects.toBeInstanceOf(CursorMovedError);
      expect(inbox().held(ORDER, 2)).toBeUndefined();
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1 });
      expect(inbox().cursor(ORDER)?.heldCount).toBeUndefined();

      // WHEN redelivered
      const retried = await consumer.consume(message(2));

      // THEN
      expect(retried).toEqual({ outcome: 'APPLIED', released: [] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
    });
  });

  describe('concurrent deliveries of one key', () => {
    it('notices a message held while the effects ran (cursor condition on heldCount) and releases it', async () => {
      // GIVEN message 2 arrives, and is held, while the effects of message 1 run
      const concurrent: string[] = [];
      consumer = newConsumer({
        beforeEffects: async (delivered) => {
          if (delivered.sequence === 1) concurrent.push((await consumer.consume(message(2))).outcome);
        },
      });

      // WHEN
      const result = await consumer.consume(message(1));

      // THEN
      expect(concurrent).toEqual(['HELD']);
      expect(result).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(
        cursorAdvances(1).map((advance) => [
          advance.command,
          advance.update.ExpressionAttributeValues?.[':held'],
        ]),
      ).toEqual([
        ['Update', 0],
        ['Update', 1],
      ]);
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 0 });
      expect(inbox().waiting(ORDER)).toEqual([]);
    });

    it('keeps the count of a later message held meanwhile, leaving it held', async () => {
      // GIVEN message 3 is held while the effects of message 1 run
      consumer = newConsumer({
        beforeEffects: async (delivered) => {
          if (delivered.sequence === 1) await consumer.consume(message(3));
        },
      });

      // WHEN
      const result = await consumer.consume(message(1));

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1, heldCount: 1 });

      // WHEN the gap is filled
      const filled = await consumer.consume(message(2));

      // THEN
      expect(filled).toEqual({ outcome: 'APPLIED', released: [3] });
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 3, heldCount: 0 });
    });

    it('gives up with CursorMovedError after 5 attempts that each see a new hold', async () => {
      // GIVEN before each of its cursor writes, one more message is held
      await consumeAll(1);
      for (let hold = 1; hold <= 5; hold++) {
        db.before('Update', isCursorAdvance(2), () => {
          const held = Number(inbox().cursor(ORDER)?.heldCount ?? 0);
          db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { heldCount: held + 1 });
        });
      }

      // WHEN
      const consuming = consumer.consume(message(2));

      // THEN
      await expect(consuming).rejects.toBeInstanceOf(CursorMovedError);
      expect(cursorAdvances(2)).toHaveLength(5);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1 });
    });

    it('leaves the held messages to another delivery that moved the cursor first', async () => {
      // GIVEN 2 is held; after 1 is applied, another delivery takes the cursor to 2 before this one releases it
      await consumeAll(2);
      db.before('Get', isCursorRead, () => undefined); // the first read of the cursor
      db.before('Get', isCursorRead, () =>
        db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { lastSequence: 2, heldCount: 0 }),
      );

      // WHEN
      const result = await consumer.consume(message(1));

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });
  });

  describe.each(IDEMPOTENCY_STRATEGIES)(
    'a crash between the effects and the cursor (%s)',
    (strategy: IdempotencyStrategy) => {
      /** Appends `<sequence>:<type>` to the key's journal and versions it: supports every strategy. */
      const journal = journalEffect('journal', { versioned: true });
      const journalOf = () => journalEntries(db, 'journal', ORDER);

      beforeEach(() => {
        consumer = newConsumer({
          effects: [
            { effect: projection.view, strategy },
            { effect: journal, strategy },
          ],
        });
      });

      it('applies no effect twice when the message is redelivered', async () => {
        // GIVEN the delivery of message 2 dies after its effects, before the cursor moves
        await consumeAll(1);
        db.before('Update', isCursorAdvance(2), crash);
        await expect(consumer.consume(message(2))).rejects.toThrow('Lambda timed out');
        expect(journalOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
        expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1 });

        // WHEN redelivered
        const result = await consumer.consume(message(2));

        // THEN
        expect(result).toEqual({ outcome: 'APPLIED', released: [] });
        expect(journalOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
        expect(await notesOf()).toEqual(['note 2']);
        expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2 });
        expect(inbox().failures(message(2).messageId)).toBeUndefined();
      });

      it('applies no effect of a released message twice when its predecessor is redelivered', async () => {
        // GIVEN 2 is held, and the release of 2 dies after its effects, before the cursor moves
        await consumeAll(2);
        db.before('TransactWrite', isTransactedCursorAdvance(2), crash);
        await expect(consumer.consume(message(1))).rejects.toThrow('Lambda timed out');
        expect(journalOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);

        // WHEN message 1 is redelivered
        const result = await consumer.consume(message(1));

        // THEN
        expect(result).toEqual({ outcome: 'DUPLICATE', released: [2] });
        expect(journalOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
        expect(await notesOf()).toEqual(['note 2']);
        expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 0 });
        expect(inbox().held(ORDER, 2)).toBeUndefined();
      });
    },
  );

  describe('poison messages: parking a key', () => {
    /** Message 2 of the key has a type no effect knows: every attempt fails. */
    const unknown = (sequence = 2, groupKey = ORDER) =>
      envelope(groupKey, sequence, 'OrderShipped', { orderId: groupKey });
    const REASON = 'UnknownMessageTypeError: no projection handles message type OrderShipped';

    it('alerts again on the redelivery when the first alert could not be sent, and only once it went out', async () => {
      // GIVEN a key about to park, and an alert channel that fails once
      await consumeAll(1);
      let alertFailures = 1;
      consumer = newConsumer({
        parkAfterFailures: 1,
        onParked: async (parked) => {
          if (alertFailures-- > 0) throw new Error('SNS unavailable');
          alerts.push(parked);
        },
      });

      // WHEN the parking delivery fails on its alert, and the message comes back twice
      await expect(consumer.consume(unknown())).rejects.toThrow('SNS unavailable');
      const redelivered = await consumer.consume(unknown());
      const again = await consumer.consume(unknown());

      // THEN the key is parked, and exactly one alert went out, on the first redelivery
      expect(redelivered.outcome).toBe('PARKED');
      expect(again.outcome).toBe('PARKED');
      expect(alerts).toHaveLength(1);
      expect(inbox().cursor(ORDER)).toMatchObject({ parked: true, parkAlerted: true });
    });

    it('does not count a delivery that found the message claimed by another as a failure', async () => {
      // GIVEN message 1 whose unique effect is claimed by a live delivery elsewhere
      await consumer.consume(message(1));
      const second = message(2);
      db.seed(INBOX_TABLE, {
        pk: `MSG#${second.messageId}`,
        sk: 'EFFECT#notifications',
        status: 'IN_PROGRESS',
        claimExpiresAt: seconds(START) + 300,
      });

      // WHEN it is delivered
      await expect(consumer.consume(second)).rejects.toThrow('being processed by another delivery');

      // THEN no failure is counted towards parking
      expect(inbox().failures(second.messageId)).toBeUndefined();
    });

    it('counts each failed attempt and rethrows, then parks the key at the third (by default)', async () => {
      // GIVEN
      await consumeAll(1);

      // WHEN
      const first = consumer.consume(unknown());
      await expect(first).rejects.toThrow('no projection handles message type OrderShipped');
      const afterFirst = inbox().failures(unknown().messageId);
      now = new Date(START.getTime() + 60_000);
      await expect(consumer.consume(unknown())).rejects.toThrow('OrderShipped');
      const afterSecond = inbox().failures(unknown().messageId);
      const alertsBeforeThird = alerts.length;
      const cursorBeforeThird = inbox().cursor(ORDER);
      now = new Date(START.getTime() + 120_000);
      const third = await consumer.consume(unknown());

      // THEN
      expect(afterFirst).toEqual({
        pk: `MSG#${unknown().messageId}`,
        sk: 'FAILURES',
        failures: 1,
        expiresAt: seconds(START) + RETENTION_SECONDS,
        lastDelivery: expect.any(String),
      });
      expect(afterSecond).toMatchObject({ failures: 2 });
      expect(alertsBeforeThird).toBe(0);
      expect(cursorBeforeThird?.parked).toBeUndefined();
      expect(third).toEqual({ outcome: 'PARKED', released: [] });
      expect(inbox().failures(unknown().messageId)).toMatchObject({
        failures: 3,
        expiresAt: seconds(now) + RETENTION_SECONDS,
      });
      expect(inbox().cursor(ORDER)).toMatchObject({
        lastSequence: 1,
        parked: true,
        parkedAt: now.toISOString(),
        parkedSequence: 2,
        parkedReason: REASON,
      });
      expect(inbox().parked(ORDER, 2)).toEqual({
        pk: `KEY#${ORDER}`,
        sk: 'PARKED#000000000000002',
        message: JSON.stringify(unknown()),
        parkedAt: now.toISOString(),
        reason: REASON,
        attention: attentionOf('PARKED', ORDER),
        since: now.toISOString(),
      });
      expect(alerts).toEqual([
        {
          groupKey: ORDER,
          sequence: 2,
          messageId: unknown().messageId,
          type: 'OrderShipped',
          failures: 3,
          error: REASON,
        },
      ]);
    });

    it('parks every later message of the parked key, without applying it, and alerts only once', async () => {
      // GIVEN
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1);
      await consumer.consume(unknown());

      // WHEN
      const next = await consumer.consume(message(3));
      const afterGap = await consumer.consume(message(5));

      // THEN
      expect(next).toEqual({ outcome: 'PARKED', released: [] });
      expect(afterGap).toEqual({ outcome: 'PARKED', released: [] });
      expect(inbox().parked(ORDER, 3)).toMatchObject({
        message: JSON.stringify(message(3)),
        reason: 'its key is parked',
        attention: attentionOf('PARKED', ORDER),
      });
      expect(inbox().waiting(ORDER)).toEqual([
        'PARKED#000000000000002',
        'PARKED#000000000000003',
        'PARKED#000000000000005',
      ]);
      expect(inbox().cursor(ORDER)).toMatchObject({
        lastSequence: 1,
        parkedSequence: 2,
        parkedReason: REASON,
      });
      expect(alerts).toHaveLength(1);
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });

    it('parks on the first failure when parkAfterFailures is 1', async () => {
      // GIVEN
      consumer = newConsumer({ parkAfterFailures: 1 });

      // WHEN
      const result = await consumer.consume(unknown(1));

      // THEN
      expect(result.outcome).toBe('PARKED');
      expect(alerts).toMatchObject([{ sequence: 1, failures: 1 }]);
      expect(inbox().cursor(ORDER)).toMatchObject({ parked: true, parkedSequence: 1 });
    });

    it('keeps the other keys flowing', async () => {
      // GIVEN
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1);
      await consumer.consume(unknown());

      // WHEN
      const other = [
        await consumer.consume(message(1, 'order-2')),
        await consumer.consume(message(3, 'order-2')),
        await consumer.consume(message(2, 'order-2')),
      ];

      // THEN
      expect(other.map((result) => result.outcome)).toEqual(['APPLIED', 'HELD', 'APPLIED']);
      expect(await appliedOf('order-2')).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded']);
      expect(inbox().cursor('order-2')).toMatchObject({ lastSequence: 3 });
      expect(inbox().cursor('order-2')?.parked).toBeUndefined();
    });

    it('counts failures per message: a message that recovers is applied, and others start from zero', async () => {
      // GIVEN message 2 of order-1 fails twice, and message 1 of order-2 fails twice
      await consumeAll(1);
      poison(message(2), 2);
      poison(message(1, 'order-2'), 2);
      for (let attempt = 0; attempt < 2; attempt++) {
        await expect(consumer.consume(message(2))).rejects.toThrow('poison message 2');
        await expect(consumer.consume(message(1, 'order-2'))).rejects.toThrow('poison message 1');
      }

      // WHEN both are delivered once more
      const recovered = await consumer.consume(message(2));
      const alsoRecovered = await consumer.consume(message(1, 'order-2'));

      // THEN
      expect(recovered.outcome).toBe('APPLIED');
      expect(alsoRecovered.outcome).toBe('APPLIED');
      expect(inbox().failures(message(2).messageId)).toMatchObject({ failures: 2 });
      expect(inbox().failures(message(1, 'order-2').messageId)).toMatchObject({ failures: 2 });
      expect(alerts).toEqual([]);

      // WHEN the next message fails twice
      poison(message(3), 2);
      await expect(consumer.consume(message(3))).rejects.toThrow('poison message 3');
      await expect(consumer.consume(message(3))).rejects.toThrow('poison message 3');

      // THEN it is not parked: its own count is 2
      expect(inbox().failures(message(3).messageId)).toMatchObject({ failures: 2 });
      expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
    });

    it('counts failures of beforeEffects like failures of the effects', async () => {
      // GIVEN
      consumer = newConsumer({ parkAfterFailures: 2 });
      await consumeAll(1);
      poison(message(2));

      // WHEN
      await expect(consumer.consume(message(2))).rejects.toThrow('poison message 2');
      const second = await consumer.consume(message(2));

      // THEN
      expect(second.outcome).toBe('PARKED');
      expect(alerts).toEqual([
        {
          groupKey: ORDER,
          sequence: 2,
          messageId: message(2).messageId,
          type: 'OrderNoteAdded',
          failures: 2,
          error: 'Error: poison message 2',
        },
      ]);
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });

    it('parks a held message whose release keeps failing, removing its held copy', async () => {
      // GIVEN 3 is held and poisoned; 1 and 2 are applied, and the release of 3 fails once
      consumer = newConsumer({ parkAfterFailures: 2 });
      await consumeAll(3, 4, 1);
      poison(message(3));
      await expect(consumer.consume(message(2))).rejects.toThrow('poison message 3');

      // WHEN message 2 is redelivered and the release fails again
      const result = await consumer.consume(message(2));

      // THEN
      expect(result).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000004', 'PARKED#000000000000003']);
      expect(inbox().cursor(ORDER)).toMatchObject({
        lastSequence: 2,
        heldCount: 1,
        parked: true,
        parkedSequence: 3,
      });
      expect(alerts).toMatchObject([{ sequence: 3, failures: 2, error: 'Error: poison message 3' }]);
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
    });

    it('releases nothing on a duplicate while the key is parked', async () => {
      // GIVEN 1 applied, 3 held, and the key parked at 2
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1, 3);
      await consumer.consume(unknown());

      // WHEN
      const duplicate = await consumer.consume(message(1));

      // THEN
      expect(duplicate).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(inbox().held(ORDER, 3)).toBeDefined();
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });

    it('applies nothing of a parked message: effects done before the failure stay once', async () => {
      // GIVEN a last effect that always fails
      const broken: DynamoEffect = {
        name: 'broken',
        items: () => {
          throw new Error('broken effect');
        },
      };
      consumer = newConsumer({
        parkAfterFailures: 2,
        effects: [...referenceEffects(), { effect: broken, strategy: 'unique' }],
      });

      // WHEN
      await expect(consumer.consume(message(1))).rejects.toThrow('broken effect');
      const parked = await consumer.consume(message(1));

      // THEN
      expect(parked.outcome).toBe('PARKED');
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
      expect(await reservedOf()).toBe(2);
      expect(alerts).toMatchObject([{ error: 'Error: broken effect' }]);
    });
  });

  describe('transient failures: retried, never poison', () => {
    /** DynamoDB's answer when another transaction touched the SKU's item at the same time. */
    const conflict = () =>
      new TransactionCanceledException({
        message:
          'Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]',
        $metadata: { httpStatusCode: 400 },
        CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }],
      });
    /** The next `times` writes of the inventory effect (the transaction strategy) are cancelled for a conflict. */
    const conflictOnInventory = (times: number) => {
      for (let i = 0; i < times; i++) {
        db.before(
          'TransactWrite',
          (input) => (input.TransactItems ?? []).some((item) => item.Update?.Key?.pk === 'SKU#sku-a'),
          () => {
            throw conflict();
          },
        );
      }
    };
    const noWait = { sleep: async () => {}, random: () => 0.5 };

    it('retries a message whose effect was cancelled for a TransactionConflict, in-process, and applies it once', async () => {
      // GIVEN
      consumer = newConsumer({ transientRetry: noWait });
      conflictOnInventory(2);

      // WHEN
      const result = await consumer.consume(message(1));

      // THEN
      expect(result.outcome).toBe('APPLIED');
      expect(await reservedOf()).toBe(2);
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
      expect(inbox().failures(message(1).messageId)).toBeUndefined();
    });

    it('fails with TransientFailureError when the conflicts outlast the retries, counting nothing toward parking', async () => {
      // GIVEN more conflicts than attempts, over more deliveries than parkAfterFailures
      consumer = newConsumer({ transientRetry: { ...noWait, maxAttempts: 2 } });
      conflictOnInventory(8);

      // WHEN
      const deliveries = [];
      for (let i = 0; i < 4; i++) {
        deliveries.push(await consumer.consume(message(1)).catch((error: unknown) => error));
      }
      const afterwards = await consumer.consume(message(1));

      // THEN every delivery failed for a transient reason, none counted, the key never parked, and then it applied
      for (const failure of deliveries) {
        expect(failure).toBeInstanceOf(TransientFailureError);
        expect((failure as TransientFailureError).cause).toBeInstanceOf(TransactionCanceledException);
      }
      expect(inbox().failures(message(1).messageId)).toBeUndefined();
      expect(alerts).toEqual([]);
      expect(afterwards.outcome).toBe('APPLIED');
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 1 });
      expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
      expect(await reservedOf()).toBe(2);
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });

    it('does not count a throttled or failed service (5xx) that outlasted the SDK’s retries either', async () => {
      // GIVEN a delivery whose cursor read is throttled, then one whose view write meets a 5xx
      consumer = newConsumer({ parkAfterFailures: 1, transientRetry: { ...noWait, maxAttempts: 1 } });
      db.before('Get', isCursorRead, () => {
        throw Object.assign(new Error('Rate exceeded'), {
          name: 'ThrottlingException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400, attempts: 3 },
        });
      });

      // WHEN
      const throttled = await consumer.consume(message(1)).catch((error: unknown) => error);
      db.before(
        'Put',
        (input) => input.TableName === PROJECTION_TABLE,
        () => {
          throw Object.assign(new Error('internal error'), {
            name: 'InternalServerError',
            $fault: 'server',
            $metadata: { httpStatusCode: 500, attempts: 3 },
          });
        },
      );
      const failed = await consumer.consume(message(1)).catch((error: unknown) => error);
      const applied = await consumer.consume(message(1));

      // THEN
      expect(throttled).toBeInstanceOf(TransientFailureError);
      expect(failed).toBeInstanceOf(TransientFailureError);
      expect(inbox().failures(message(1).messageId)).toBeUndefined();
      expect(applied.outcome).toBe('APPLIED');
      expect(alerts).toEqual([]);
    });

    it('still counts a deterministic failure, and parks at parkAfterFailures', async () => {
      // GIVEN
      let attempts = 0;
      consumer = newConsumer({
        parkAfterFailures: 2,
        transientRetry: noWait,
        beforeEffects: async () => {
          attempts++;
          throw new Error('poison message');
        },
      });

      // WHEN
      await expect(consumer.consume(message(1))).rejects.toThrow('poison message');
      const second = await consumer.consume(message(1));

      // THEN one attempt per delivery (no in-process retry of a deterministic failure), then parked
      expect(attempts).toBe(2);
      expect(inbox().failures(message(1).messageId)).toMatchObject({ failures: 2 });
      expect(second.outcome).toBe('PARKED');
    });

    it('starts no retry the time left cannot hold', async () => {
      // GIVEN an invocation with less than the reserve left
      consumer = newConsumer({ transientRetry: noWait });
      conflictOnInventory(1);

      // WHEN
      const failure = await consumer
        .consume(message(1), { remainingTimeMs: () => 500 })
        .catch((error: unknown) => error);

      // THEN
      expect(failure).toBeInstanceOf(TransientFailureError);
      expect((failure as TransientFailureError).attempts).toBe(1);
      expect(inbox().failures(message(1).messageId)).toBeUndefined();
    });
  });

  describe('the time reserve', () => {
    const noWait = { sleep: async () => {}, random: () => 0.5 };
    const conflictOnce = () =>
      db.before(
        'TransactWrite',
        (input) => (input.TransactItems ?? []).some((item) => item.Update?.Key?.pk === 'SKU#sku-a'),
        () => {
          throw new TransactionCanceledException({
            message: 'Transaction cancelled [None, None, TransactionConflict]',
            $metadata: { httpStatusCode: 400 },
            CancellationReasons: [{ Code: 'None' }, { Code: 'None' }, { Code: 'TransactionConflict' }],
          });
        },
      );

    it('starts no retry with less than the batch’s reserve (5 s by default) left', async () => {
      // GIVEN 4.5 s left: above retryTransient's own 1 s reserve, under the batch's 5 s
      consumer = newConsumer({ transientRetry: noWait });
      conflictOnce();

      // WHEN
      const failure = await consumer
        .consume(message(1), { remainingTimeMs: () => 4500 })
        .catch((error: unknown) => error);

      // THEN the record fails (redelivered) rather than risk the invocation's timeout
      expect(failure).toBeInstanceOf(TransientFailureError);
      expect((failure as TransientFailureError).attempts).toBe(1);
    });

    it('keeps the reserve the batch gives, over the transientRetry option', async () => {
      // GIVEN 4.5 s left, a batch reserve of 1 s, and a configured reserve of 5 s
      consumer = newConsumer({ transientRetry: { ...noWait, reserveMs: 5000 } });
      conflictOnce();

      // WHEN
      const result = await consumer.consume(message(1), { remainingTimeMs: () => 4500, reserveMs: 1000 });

      // THEN it was retried within the time left
      expect(result.outcome).toBe('APPLIED');
    });

    it('keeps the transientRetry option’s reserve when the batch gives none', async () => {
      // GIVEN
      consumer = newConsumer({ transientRetry: { ...noWait, reserveMs: 1000 } });
      conflictOnce();

      // WHEN
      const result = await consumer.consume(message(1), { remainingTimeMs: () => 4500 });

      // THEN
      expect(result.outcome).toBe('APPLIED');
    });
  });

  describe('parking while the key is replayed, and parks cut short', () => {
    it('never leaves a message PARKED on a key a replay unparked meanwhile: it starts over', async () => {
      // GIVEN the key is parked at 2; the replay unparks it just as message 4 is being stored as parked
      await consumeAll(1);
      db.seed(INBOX_TABLE, {
        ...inboxKeys.cursor(ORDER),
        lastSequence: 1,
        parked: true,
        parkedSequence: 2,
        parkedReason: 'Error: poison',
        parkAlerted: true,
      });
      db.before(
        'TransactWrite',
        (input) => String(input.TransactItems?.[0]?.Put?.Item?.sk).startsWith('PARKED#'),
        () => db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { parked: false }),
      );

      // WHEN
      const result = await consumer.consume(message(4));

      // THEN it is held on the unparked key, not parked
      expect(result.outcome).toBe('HELD');
      expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000004']);
      expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 1 });
    });

    it('fails with KeyUnparkedError when a replay unparked the key while a failing message parked it', async () => {
      // GIVEN message 2 fails and parks its key at once; a replay unparks the key between the flag and the store
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1);
      poison(message(2));
      db.before(
        'TransactWrite',
        (input) => String(input.TransactItems?.[0]?.Put?.Item?.sk).startsWith('PARKED#'),
        () => db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { parked: false }),
      );

      // WHEN
      const failure = await consumer.consume(message(2)).catch((error: unknown) => error);

      // THEN the record is redelivered, nothing is PARKED on the unparked key
      expect(failure).toBeInstanceOf(KeyUnparkedError);
      expect((failure as Error).message).toBe(
        `key ${ORDER} was unparked while message 2 was being parked; it will be retried`,
      );
      expect(inbox().waiting(ORDER)).toEqual([]);
      expect(alerts).toEqual([]);
    });

    it('finishes the park of a released message that a crash cut short after the flag: stored, alerted', async () => {
      // GIVEN 3 is held; its release fails and parks the key, and the delivery dies right after the flag is set
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1, 3);
      poison(message(3));
      db.before(
        'TransactWrite',
        (input) => String(input.TransactItems?.[0]?.Put?.Item?.sk).startsWith('PARKED#'),
        crash,
      );
      await expect(consumer.consume(message(2))).rejects.toThrow('Lambda timed out');
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, parked: true, parkedSequence: 3 });

      // WHEN 2 is redelivered (a duplicate now)
      const result = await consumer.consume(message(2));

      // THEN 3 is moved from the held set to the parked set with its reason, and the alert goes out
      expect(result).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(inbox().waiting(ORDER)).toEqual(['PARKED#000000000000003']);
      expect(inbox().parked(ORDER, 3)).toMatchObject({ reason: 'Error: poison message 3' });
      expect(inbox().cursor(ORDER)).toMatchObject({ heldCount: 0, parkAlerted: true });
      expect(alerts).toEqual([
        expect.objectContaining({
          groupKey: ORDER,
          sequence: 3,
          failures: 1,
          error: 'Error: poison message 3',
        }),
      ]);
    });

    it('alerts for a parked message whose alert a crash cut short, from its stored copy', async () => {
      // GIVEN the key parked at 3 (stored), and the alert never went out
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1);
      db.seed(INBOX_TABLE, {
        ...inboxKeys.cursor(ORDER),
        lastSequence: 2,
        parked: true,
        parkedSequence: 3,
        parkedReason: 'Error: poison',
      });
      db.seed(INBOX_TABLE, {
        ...inboxKeys.parked(ORDER, 3),
        message: JSON.stringify(message(3)),
        reason: 'Error: poison',
      });

      // WHEN a duplicate comes
      await consumer.consume(message(2));

      // THEN
      expect(alerts).toEqual([expect.objectContaining({ sequence: 3, failures: 0, error: 'Error: poison' })]);
      expect(inbox().cursor(ORDER)).toMatchObject({ parkAlerted: true });
    });

    it('leaves the park to the parking message’s own redelivery when it is nowhere stored yet', async () => {
      // GIVEN the flag names 3, which is neither held nor parked (its own delivery died after the flag)
      await consumeAll(1);
      db.seed(INBOX_TABLE, {
        ...inboxKeys.cursor(ORDER),
        lastSequence: 2,
        parked: true,
        parkedSequence: 3,
        parkedReason: 'Error: poison',
      });

      // WHEN a duplicate comes, then 3 itself
      await consumer.consume(message(2));
      const alertsBefore = alerts.length;
      const parked = await consumer.consume(message(3));

      // THEN no alert until 3 is stored, with the flag's reason
      expect(alertsBefore).toBe(0);
      expect(parked.outcome).toBe('PARKED');
      expect(inbox().parked(ORDER, 3)).toMatchObject({ reason: 'Error: poison' });
      expect(alerts).toEqual([expect.objectContaining({ sequence: 3, error: 'Error: poison' })]);
    });
  });

  describe('failures of the consumer’s own writes', () => {
    const noWait = { sleep: async () => {}, random: () => 0.5, maxAttempts: 1 };
    const serverError = () => {
      throw Object.assign(new Error('internal error'), {
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
    };

    it('fails the delivery as transient, counting nothing, when the failure count is not written', async () => {
      // GIVEN
      consumer = newConsumer({ transientRetry: noWait });
      await consumeAll(1);
      poison(message(2));
      db.before('Update', (input) => input.Key?.sk === 'FAILURES', serverError);

      // WHEN
      const failure = await consumer.consume(message(2)).catch((error: unknown) => error);

      // THEN
      expect(failure).toBeInstanceOf(TransientFailureError);
      expect(inbox().failures(message(2).messageId)).toBeUndefined();
    });

    it('reads the count back from the item when a repeat of the same delivery’s count fails its condition', async () => {
      // GIVEN two failed deliveries, and the third's count answered by the SDK's retry against its own write
      consumer = newConsumer();
      await consumeAll(1);
      poison(message(2));
      await expect(consumer.consume(message(2))).rejects.toThrow('poison message 2');
      await expect(consumer.consume(message(2))).rejects.toThrow('poison message 2');
      db.loseAnswer('Update', (input) => input.Key?.sk === 'FAILURES', 'sdk-retry');

      // WHEN
      const third = await consumer.consume(message(2));

      // THEN the third failure is counted once, and parks at 3
      expect(third.outcome).toBe('PARKED');
      expect(inbox().failures(message(2).messageId)).toMatchObject({ failures: 3 });
    });

    it('fails the delivery as transient when the park flag is not written, parking nothing', async () => {
      // GIVEN
      consumer = newConsumer({ parkAfterFailures: 1, transientRetry: noWait });
      await consumeAll(1);
      poison(message(2));
      db.before('Update', (input) => (input.UpdateExpression ?? '').startsWith('SET parked'), serverError);

      // WHEN
      const failure = await consumer.consume(message(2)).catch((error: unknown) => error);

      // THEN
      expect(failure).toBeInstanceOf(TransientFailureError);
      expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
      expect(inbox().waiting(ORDER)).toEqual([]);
    });

    it('sends no second alert when another message parked the key, and alerted, just before', async () => {
      // GIVEN message 2 fails; just before it sets the flag, another delivery parked the key and alerted
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1);
      poison(message(2));
      db.before(
        'Update',
        (input) => (input.UpdateExpression ?? '').startsWith('SET parked'),
        () =>
          db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), {
            parked: true,
            parkedSequence: 2,
            parkedReason: 'Error: earlier',
            parkAlerted: true,
          }),
      );

      // WHEN
      const result = await consumer.consume(message(2));

      // THEN stored, no alert
      expect(result.outcome).toBe('PARKED');
      expect(inbox().parked(ORDER, 2)).toBeDefined();
      expect(alerts).toEqual([]);
    });

    it('fails with KeyUnparkedError when a release parks a held message on a key a replay just unparked', async () => {
      // GIVEN 3 is held and fails at once; a replay unparks the key between the flag and the store
      consumer = newConsumer({ parkAfterFailures: 1 });
      await consumeAll(1, 3);
      poison(message(3));
      db.before(
        'TransactWrite',
        (input) => String(input.TransactItems?.[0]?.Put?.Item?.sk).startsWith('PARKED#'),
        () => db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { parked: false }),
      );

      // WHEN
      const failure = await consumer.consume(message(2)).catch((error: unknown) => error);

      // THEN 3 stays held, counted, for the redelivery
      expect(failure).toBeInstanceOf(KeyUnparkedError);
      expect(inbox().waiting(ORDER)).toEqual(['HELD#000000000000003']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 1 });
    });

    it('fails with KeyUnparkedError when the key keeps being unparked and parked again under it', async () => {
      // GIVEN every read of the cursor finds the key parked, and every store finds it unparked
      await consumeAll(1);
      let stores = 0;
      const parkOnRead = () => {
        db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), {
          parked: true,
          parkedSequence: 2,
          parkAlerted: true,
        });
        db.before('Get', isCursorRead, parkOnRead);
      };
      const unparkOnStore = () => {
        stores++;
        db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { parked: false });
        db.before('TransactWrite', () => true, unparkOnStore);
      };
      db.before('Get', isCursorRead, parkOnRead);
      db.before('TransactWrite', () => true, unparkOnStore);

      // WHEN
      const failure = await consumer.consume(message(4)).catch((error: unknown) => error);

      // THEN it gave up after 5 tries
      expect(failure).toBeInstanceOf(KeyUnparkedError);
      expect((failure as Error).name).toBe('KeyUnparkedError');
      expect(stores).toBe(5);
    });

    it('fails with CursorMovedError when the predecessor of a message being held was applied meanwhile', async () => {
      // GIVEN the cursor moves to 2 just before 3 is held
      await consumeAll(1);
      db.before(
        'TransactWrite',
        (input) => String(input.TransactItems?.[0]?.Put?.Item?.sk).startsWith('HELD#'),
        () => db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { lastSequence: 2 }),
      );

      // WHEN
      const failure = await consumer.consume(message(3)).catch((error: unknown) => error);

      // THEN it is redelivered (and then applied), nothing held
      expect(failure).toBeInstanceOf(CursorMovedError);
      expect(inbox().waiting(ORDER)).toEqual([]);
    });
  });

  describe('a body that is no valid envelope (consumeBody)', () => {
    const body = (sequence: number, changes: Record<string, unknown> = {}) =>
      JSON.stringify({ ...message(sequence), ...changes });

    it('consumes a valid body as consume does, and answers the message it read', async () => {
      // WHEN
      const result = await consumer.consumeBody(body(1));

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [], message: message(1) });
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });

    it('parks a message with an empty type on its turn, with the reason, and alerts', async () => {
      // GIVEN
      await consumeAll(1);

      // WHEN
      const result = await consumer.consumeBody(body(2, { type: '' }));

      // THEN a PARKED item the ops CLI lists, with why
      expect(result.outcome).toBe('PARKED');
      expect(result.message).toMatchObject({ groupKey: ORDER, sequence: 2, type: '' });
      const parked = inbox().parked(ORDER, 2);
      expect(String(parked?.reason)).toMatch(/^InvalidEnvelopeError: message body is not an envelope: type/);
      expect(JSON.parse(String(parked?.message))).toMatchObject({
        messageId: message(2).messageId,
        type: '',
      });
      expect(inbox().cursor(ORDER)).toMatchObject({ parked: true, parkedSequence: 2 });
      expect(alerts).toEqual([
        expect.objectContaining({
          groupKey: ORDER,
          sequence: 2,
          type: '',
          failures: 0,
          error: parked?.reason,
        }),
      ]);
      expect(await appliedOf()).toEqual(['1:OrderPlaced']);
    });

    it('holds an unreadable message ahead of a gap, and parks it when the release reaches it', async () => {
      // GIVEN
      await consumeAll(1);

      // WHEN 3 (no valid type) arrives early, then 2
      const early = await consumer.consumeBody(body(3, { type: 7 }));
      const next = await consumer.consume(message(2));

      // THEN 2 is applied, and 3 is parked from the held set
      expect(early.outcome).toBe('HELD');
      expect(next).toEqual({ outcome: 'APPLIED', released: [] });
      expect(await appliedOf()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded']);
      expect(inbox().waiting(ORDER)).toEqual(['PARKED#000000000000003']);
      expect(inbox().cursor(ORDER)).toMatchObject({ lastSequence: 2, heldCount: 0, parked: true });
      expect(alerts).toEqual([expect.objectContaining({ sequence: 3, type: '' })]);
    });

    it('acknowledges an unreadable duplicate without parking anything', async () => {
      // GIVEN
      await consumeAll(1, 2);

      // WHEN
      const result = await consumer.consumeBody(body(1, { createdAt: '' }));

      // THEN
      expect(result.outcome).toBe('DUPLICATE');
      expect(inbox().cursor(ORDER)?.parked).toBeUndefined();
      expect(alerts).toEqual([]);
    });

    it.each([
      ['not JSON', '{oops'],
      ['a JSON array', '[1]'],
      ['no group key', JSON.stringify({ ...message(1), groupKey: '' })],
      ['no sequence', JSON.stringify({ ...message(1), sequence: 1.5 })],
      ['a sequence below 1', JSON.stringify({ ...message(1), sequence: 0 })],
      ['no message id', JSON.stringify({ ...message(1), messageId: 42 })],
      ['an empty message id', JSON.stringify({ ...message(1), messageId: '' })],
      ['a group key that is no string', JSON.stringify({ ...message(1), groupKey: 5 })],
      ['JSON null', 'null'],
    ])(
      'fails with UnreadableMessageError, told to onUnreadable, writing nothing, for %s',
      async (_, text) => {
        // GIVEN
        const told: Error[] = [];
        consumer = newConsumer({ onUnreadable: (error) => told.push(error) });

        // WHEN
        const failure = await consumer.consumeBody(text).catch((error: unknown) => error);

        // THEN
        expect(failure).toBeInstanceOf(UnreadableMessageError);
        expect((failure as Error).name).toBe('UnreadableMessageError');
        expect((failure as Error).message).toMatch(
          /^unreadable message, not parked \(its key, sequence or message id cannot be read\): InvalidEnvelopeError: .*; it is redelivered until the queue moves it to its dead-letter queue$/,
        );
        expect((failure as Error).cause).toBeInstanceOf(InvalidEnvelopeError);
        expect(told).toEqual([failure]);
        expect(writes()).toEqual([]);
      },
    );

    it('logs an unreadable message on the console by default: never silent', async () => {
      // GIVEN
      const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);

      // WHEN
      const failure = await consumer.consumeBody('{oops').catch((error: unknown) => error);

      // THEN
      expect(logged).toHaveBeenCalledWith(failure);
      logged.mockRestore();
    });
  });

  describe('a version effect with nothing to write for some messages', () => {
    /** The view, except that it has nothing to write for a note (the version strategy must still move it). */
    const viewIgnoringNotes = (): DynamoEffect => ({
      ...projection.view,
      name: 'view',
      items: (delivered) => (delivered.type === 'OrderNoteAdded' ? [] : projection.view.items(delivered)),
    });
    const cancelled = (sequence: number) =>
      envelope(ORDER, sequence, 'OrderCancelled', {
        orderId: ORDER,
        items: [{ sku: 'sku-a', quantity: 2 }],
      });

    it('applies the message after one the effect had nothing to write for, without parking the key', async () => {
      // GIVEN
      consumer = newConsumer({
        parkAfterFailures: 1,
        effects: [{ effect: viewIgnoringNotes(), strategy: 'version' }],
      });

      // WHEN
      const outcomes = [
        (await consumer.consume(message(1))).outcome,
        (await consumer.consume(message(2))).outcome,
        (await consumer.consume(cancelled(3))).outcome,
      ];

      // THEN
      expect(outcomes).toEqual(['APPLIED', 'APPLIED', 'APPLIED']);
      expect(alerts).toEqual([]);
      expect(await projection.getView(ORDER)).toMatchObject({ status: 'CANCELLED', version: 3, notes: [] });
    });
  });

  describe('built without a clock (as the reference handler builds it)', () => {
    const NOW = new Date('2026-05-04T10:00:00.000Z');

    beforeEach(() => {
      vi.useFakeTimers({ toFake: ['Date'] });
      vi.setSystemTime(NOW);
    });

    afterEach(() => {
      vi.useRealTimers();
    });

    it('stamps the cursor, the effect records, failures and parked messages with the current time', async () => {
      // GIVEN
      consumer = newConsumer({ clock: undefined, parkAfterFailures: 2 });

      // WHEN
      await consumer.consume(message(1));
      poison(message(2));
      await expect(consumer.consume(message(2))).rejects.toThrow('poison message 2');
      await consumer.consume(message(2));

      // THEN
      expect(inbox().cursor(ORDER)).toMatchObject({
        updatedAt: NOW.toISOString(),
        parkedAt: NOW.toISOString(),
      });
      expect(inbox().effect(message(1).messageId, 'inventory')).toMatchObject({
        expiresAt: seconds(NOW) + RETENTION_SECONDS,
      });
      expect(inbox().failures(message(2).messageId)).toMatchObject({
        expiresAt: seconds(NOW) + RETENTION_SECONDS,
      });
      expect(inbox().parked(ORDER, 2)).toMatchObject({ parkedAt: NOW.toISOString() });
    });
  });

  it('raises the consumer’s errors as ReliableMessagingError', async () => {
    // GIVEN
    await consumeAll(1);
    db.before('Update', isCursorAdvance(2), () =>
      db.patch(INBOX_TABLE, inboxKeys.cursor(ORDER), { lastSequence: 3 }),
    );

    // WHEN
    const error = await consumer.consume(message(2)).catch((caught: unknown) => caught);

    // THEN
    expect(error).toBeInstanceOf(ReliableMessagingError);
    expect((error as Error).name).toBe('CursorMovedError');
  });
});
