import { SQSClient } from '@aws-sdk/client-sqs';
import { GetCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { attentionOf } from '../../../../functions/runtime/consumer/attention-index';
import {
  type CursorEffect,
  CursorEffectAttributeError,
  type CursorLocation,
} from '../../../../functions/runtime/consumer/cursor-location';
import type {
  IdempotentConsumer,
  IdempotentConsumerOptions,
  ParkedKey,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import { replayKey } from '../../../../functions/runtime/consumer/key-parking';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, dynamodb, inboxConsumer, installTables } from '../../support/consumer-harness';
import { envelope, INBOX_TABLE, inboxOf, newConsumerTables } from '../../support/inbox-fixtures';

// The lean configuration: no guarded effects, one cursor effect, the cursor kept on the user's own view item.
const VIEW_TABLE = 'view-table';
const KEY = 'order-1';
const sqs = mockClient(SQSClient);
const now = new Date('2026-03-01T12:00:00.000Z');

const viewCursor: CursorLocation = { tableName: VIEW_TABLE, key: (groupKey) => ({ orderId: groupKey }) };
/** The latest state of an order: its last message's type and text, and how many messages it saw. */
const latestState: CursorEffect<{ text: string }> = {
  name: 'latest',
  attributes: (message) => ({ latestType: message.type, latestText: message.payload.text }),
};

let db: InMemoryDynamoDb;
let alerts: ParkedKey[];
let failing: Set<number>;

function message(sequence: number, groupKey = KEY): MessageEnvelope<{ text: string }> {
  return envelope(groupKey, sequence, 'NoteAdded', { text: `note ${sequence}` });
}

function newConsumer(changes: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumer {
  return inboxConsumer({
    clock: () => now,
    effects: [],
    cursor: viewCursor,
    cursorEffect: latestState as CursorEffect,
    parkAfterFailures: 2,
    beforeEffects: async (delivered) => {
      if (failing.has(delivered.sequence)) throw new Error(`poison ${delivered.sequence}`);
    },
    onParked: async (parked) => {
      alerts.push(parked);
    },
    ...changes,
  });
}

const view = (groupKey = KEY) => db.item(VIEW_TABLE, { orderId: groupKey });
const commands = () => ddb.calls().map((call) => call.args[0].constructor.name);

beforeEach(() => {
  sqs.reset();
  sqs.onAnyCommand().resolves({});
  db = installTables(newConsumerTables({ [VIEW_TABLE]: ['orderId'] }));
  alerts = [];
  failing = new Set();
});

describe('IdempotentConsumer with a cursor effect (the lean path)', () => {
  it('applies a message in order with ONE conditional update and no read', async () => {
    // GIVEN a key whose cursor is at 1
    const consumer = newConsumer();
    await consumer.consume(message(1));
    ddb.resetHistory();

    // WHEN message 2 arrives
    const result = await consumer.consume(message(2));

    // THEN one UpdateCommand moved the cursor and set the effect's attributes on the user's own item
    expect(result).toEqual({ outcome: 'APPLIED', released: [] });
    expect(commands()).toEqual(['UpdateCommand']);
    expect(view()).toMatchObject({
      orderId: KEY,
      lastSequence: 2,
      latestText: 'note 2',
      latestType: 'NoteAdded',
    });
    // and nothing went to the inbox
    expect(db.all(INBOX_TABLE)).toEqual([]);
  });

  it('acknowledges a duplicate without applying it again', async () => {
    // GIVEN messages 1 and 2 applied
    const consumer = newConsumer();
    await consumer.consume(message(1));
    await consumer.consume(message(2));

    // WHEN message 1 is delivered again, with different content (a redelivery must never win over the later state)
    const result = await consumer.consume({ ...message(1), payload: { text: 'stale' } });

    // THEN it is a duplicate and the view still shows message 2
    expect(result.outcome).toBe('DUPLICATE');
    expect(view()).toMatchObject({ lastSequence: 2, latestText: 'note 2' });
  });

  it('holds a message that arrives ahead of a gap, and releases it in order when the gap closes', async () => {
    // GIVEN message 1 applied
    const consumer = newConsumer();
    await consumer.consume(message(1));

    // WHEN 3 arrives before 2
    const early = await consumer.consume(message(3));

    // THEN 3 is held and the view is untouched
    expect(early.outcome).toBe('HELD');
    expect(view()).toMatchObject({ lastSequence: 1, heldCount: 1, latestText: 'note 1' });
    expect(inboxOf(db).held(KEY, 3)).toBeDefined();

    // WHEN 2 arrives
    const late = await consumer.consume(message(2));

    // THEN 2 and then 3 are applied, the held item is gone and nothing is left held
    expect(late).toEqual({ outcome: 'APPLIED', released: [3] });
    expect(view()).toMatchObject({ lastSequence: 3, heldCount: 0, latestText: 'note 3' });
    expect(inboxOf(db).held(KEY, 3)).toBeUndefined();
  });

  it('does not take the lean path while something is held: a held copy of the message is applied as the held one', async () => {
    // GIVEN 1 applied and a copy of 2 held (an early delivery that raced with 1's)
    const consumer = newConsumer();
    await consumer.consume(message(1));
    db.seed(INBOX_TABLE, {
      pk: `KEY#${KEY}`,
      sk: `HELD#${String(2).padStart(15, '0')}`,
      message: JSON.stringify(message(2)),
      attention: attentionOf('HELD', KEY),
      since: now.toISOString(),
    });
    db.seed(VIEW_TABLE, { ...view(), heldCount: 1 });

    // WHEN 2 is delivered
    const result = await consumer.consume(message(2));

    // THEN it is applied from its held copy: the copy is removed and the held count is back to 0
    expect(result.outcome).toBe('APPLIED');
    expect(view()).toMatchObject({ lastSequence: 2, heldCount: 0 });
    expect(inboxOf(db).held(KEY, 2)).toBeUndefined();
  });

  it('parks the key after parkAfterFailures failures, stores later messages, and replays them in order', async () => {
    // GIVEN message 2 fails every time
    const consumer = newConsumer();
    await consumer.consume(message(1));
    failing.add(2);

    // WHEN it is delivered twice (parkAfterFailures = 2), and then 3 arrives
    await expect(consumer.consume(message(2))).rejects.toThrow('poison 2');
    const parked = await consumer.consume(message(2));
    const after = await consumer.consume(message(3));

    // THEN the key is parked with one alert, both messages are stored, and the view stays at 1
    expect(parked.outcome).toBe('PARKED');
    expect(after.outcome).toBe('PARKED');
    expect(alerts).toEqual([expect.objectContaining({ groupKey: KEY, sequence: 2, failures: 2 })]);
    expect(view()).toMatchObject({ lastSequence: 1, parked: true, latestText: 'note 1' });
    expect(inboxOf(db).parked(KEY, 2)).toBeDefined();
    expect(inboxOf(db).parked(KEY, 3)).toBeDefined();

    // WHEN the poison is fixed and the key replayed (the cursor is found on the view table)
    failing.clear();
    const replay = await replayKey(
      { dynamodb, inboxTableName: INBOX_TABLE, cursor: viewCursor, sqs: new SQSClient({}), queueUrl: 'q' },
      KEY,
    );
    const resent = await consumer.consume(message(2));

    // THEN 2 is re-sent, applied, and releases 3
    expect(replay).toEqual({ groupKey: KEY, replayed: [2, 3], resent: 2 });
    expect(resent).toEqual({ outcome: 'APPLIED', released: [3] });
    expect(view()).toMatchObject({ lastSequence: 3, latestText: 'note 3' });
    expect(view()?.parked).toBeUndefined();
  });

  it('does not apply a redelivered message of a parked key, though the key’s cursor is right before it', async () => {
    // GIVEN message 2 parked its key (the cursor stays at 1, nothing held), and its cause went away
    const consumer = newConsumer({ parkAfterFailures: 1 });
    await consumer.consume(message(1));
    failing.add(2);
    await consumer.consume(message(2));
    failing.delete(2);

    // WHEN message 2 is delivered again
    const result = await consumer.consume(message(2));

    // THEN it joins the parked set: the lean write finds the key parked and the view still shows message 1
    expect(result.outcome).toBe('PARKED');
    expect(view()).toMatchObject({ lastSequence: 1, latestText: 'note 1', parked: true });
    expect(inboxOf(db).waiting(KEY)).toEqual(['PARKED#000000000000002']);
  });

  it('retries (without counting a failure) when a concurrent delivery moved the cursor', async () => {
    // GIVEN two consumers racing on message 1 of a new key
    const consumer = newConsumer();
    db.latency = () => new Promise((resolve) => setImmediate(resolve));

    // WHEN both apply it
    const outcomes = await Promise.all([consumer.consume(message(1)), consumer.consume(message(1))]);

    // THEN exactly one applied it; the other saw a duplicate
    expect(outcomes.map((o) => o.outcome).sort()).toEqual(['APPLIED', 'DUPLICATE']);
    expect(view()).toMatchObject({ lastSequence: 1 });
  });

  it('moves only the cursor when the cursor effect returns nothing for a message', async () => {
    // GIVEN an effect that ignores odd sequences
    const consumer = newConsumer({
      cursorEffect: {
        name: 'even-only',
        attributes: (m) => (m.sequence % 2 === 0 ? { lastEven: m.sequence } : undefined),
      },
    });

    // WHEN 1, 2, 3 arrive
    for (const n of [1, 2, 3]) await consumer.consume(message(n));

    // THEN the cursor is at 3 and the effect saw 2 only
    expect(view()).toMatchObject({ lastSequence: 3, lastEven: 2 });
  });

  it('fails if the cursor effect sets an attribute the cursor owns, and counts it as a failure of the message', async () => {
    // GIVEN an effect that would overwrite the cursor
    const consumer = newConsumer({
      parkAfterFailures: 1,
      cursorEffect: { name: 'bad', attributes: () => ({ lastSequence: 99 }) },
    });

    // WHEN a message arrives
    const result = await consumer.consume(message(1));

    // THEN the key is parked with the error as the reason, and the cursor was not moved
    expect(result.outcome).toBe('PARKED');
    expect(alerts[0]?.error).toContain(CursorEffectAttributeError.name);
    expect(alerts[0]?.error).toContain('lastSequence');
    expect(view()?.lastSequence).toBeUndefined();
  });

  it('fails if the cursor effect sets a key attribute of the cursor item', async () => {
    // GIVEN an effect that would rewrite the item's key
    const consumer = newConsumer({
      parkAfterFailures: 1,
      cursorEffect: { name: 'bad', attributes: () => ({ orderId: 'other' }) },
    });

    // WHEN a message arrives THEN it parks with a clear reason
    expect((await consumer.consume(message(1))).outcome).toBe('PARKED');
    expect(alerts[0]?.error).toMatch(/may not set attribute "orderId": it is a key attribute/);
  });

  it('never parks a healthy key for a duplicate whose beforeEffects throws: only message cursor + 1 counts', async () => {
    // GIVEN the key is at 3, and message 2's own code now fails (e.g. a poison check that came later)
    const consumer = newConsumer();
    for (const sequence of [1, 2, 3]) await consumer.consume(message(sequence));
    failing.add(2);

    // WHEN the duplicate 2 is redelivered more than parkAfterFailures (2) times
    const outcomes: string[] = [];
    for (let delivery = 1; delivery <= 3; delivery++)
      outcomes.push((await consumer.consume(message(2))).outcome);

    // THEN it is acknowledged as a duplicate each time: no failure counted, nothing parked, no alert
    expect(outcomes).toEqual(['DUPLICATE', 'DUPLICATE', 'DUPLICATE']);
    expect(inboxOf(db).failures(message(2).messageId)).toBeUndefined();
    expect(view()).toMatchObject({ lastSequence: 3, latestText: 'note 3' });
    expect(view()?.parked).toBeUndefined();
    expect(inboxOf(db).waiting(KEY)).toEqual([]);
    expect(alerts).toEqual([]);
  });

  it('never parks a healthy key for a duplicate whose cursor effect throws', async () => {
    // GIVEN the key is at 2, and the cursor effect now throws for message 1
    let broken = false;
    const consumer = newConsumer({
      cursorEffect: {
        name: 'latest',
        attributes: (delivered) => {
          if (broken && delivered.sequence === 1) throw new Error('cannot render message 1');
          return { latestType: delivered.type };
        },
      },
    });
    await consumer.consume(message(1));
    await consumer.consume(message(2));
    broken = true;

    // WHEN the duplicate 1 is redelivered three times
    const outcomes: string[] = [];
    for (let delivery = 1; delivery <= 3; delivery++)
      outcomes.push((await consumer.consume(message(1))).outcome);

    // THEN
    expect(outcomes).toEqual(['DUPLICATE', 'DUPLICATE', 'DUPLICATE']);
    expect(view()?.parked).toBeUndefined();
    expect(inboxOf(db).failures(message(1).messageId)).toBeUndefined();
  });

  it('holds a message ahead of a gap whose beforeEffects throws, without counting it, and counts it on its turn', async () => {
    // GIVEN the key is at 1; message 3 fails
    const consumer = newConsumer();
    await consumer.consume(message(1));
    failing.add(3);

    // WHEN 3 arrives early
    const early = await consumer.consume(message(3));

    // THEN it is held, uncounted
    expect(early.outcome).toBe('HELD');
    expect(inboxOf(db).failures(message(3).messageId)).toBeUndefined();

    // WHEN it is its turn (2 arrives) THEN its failure counts: the delivery of 2 fails after applying 2
    await expect(consumer.consume(message(2))).rejects.toThrow('poison 3');
    expect(view()).toMatchObject({ lastSequence: 2, heldCount: 1 });
    expect(inboxOf(db).failures(message(3).messageId)).toMatchObject({ failures: 1 });
  });

  it('runs the message’s own code once per attempt when it fails on the lean path', async () => {
    // GIVEN
    let calls = 0;
    const consumer = newConsumer({
      beforeEffects: async () => {
        calls++;
        throw new Error('poison');
      },
    });

    // WHEN
    await expect(consumer.consume(message(1))).rejects.toThrow('poison');

    // THEN one call, one failure counted
    expect(calls).toBe(1);
    expect(inboxOf(db).failures(message(1).messageId)).toMatchObject({ failures: 1 });
  });

  it('counts a deterministic failure of the lean write (e.g. an item too large) as a failure of the message', async () => {
    // GIVEN the lean write of message 1 is refused once
    const consumer = newConsumer();
    db.before(
      'Update',
      (input) => (input.ConditionExpression ?? '').includes('parked = :false'),
      () => {
        throw Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
          name: 'ValidationException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      },
    );

    // WHEN
    const failure = await consumer.consume(message(1)).catch((error: unknown) => error);

    // THEN it failed, counted once, and nothing was applied
    expect((failure as Error).name).toBe('ValidationException');
    expect(inboxOf(db).failures(message(1).messageId)).toMatchObject({ failures: 1 });
    expect(view()).toBeUndefined();
  });

  it('never applies an unreadable body on the lean path: it is parked on its turn', async () => {
    // GIVEN
    const consumer = newConsumer();
    await consumer.consume(message(1));

    // WHEN message 2 comes with no valid type
    const result = await consumer.consumeBody(JSON.stringify({ ...message(2), type: '' }));

    // THEN
    expect(result.outcome).toBe('PARKED');
    expect(view()).toMatchObject({ lastSequence: 1, latestText: 'note 1', parked: true });
  });

  it('takes the full path (a read first) when guarded effects are configured too', async () => {
    // GIVEN a guarded effect beside the cursor effect
    const consumer = newConsumer({
      effects: [
        {
          strategy: 'unique',
          effect: {
            name: 'audit',
            items: (m) => [{ Put: { TableName: VIEW_TABLE, Item: { orderId: `audit-${m.messageId}` } } }],
          },
        },
      ],
    });

    // WHEN a message arrives
    await consumer.consume(message(1));

    // THEN the cursor was read first (effects must not run before the order check)
    expect(ddb.commandCalls(GetCommand).length).toBeGreaterThan(0);
    expect(
      ddb.commandCalls(TransactWriteCommand).length + ddb.commandCalls(UpdateCommand).length,
    ).toBeGreaterThan(0);
    expect(view()).toMatchObject({ lastSequence: 1, latestText: 'note 1' });
  });
});
