import { beforeEach, describe, expect, it } from 'vitest';
import type { CursorEffect } from '../../../../functions/runtime/consumer/cursor-location';
import type {
  IdempotentConsumer,
  IdempotentConsumerOptions,
  ParkedKey,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import {
  ddb,
  inboxConsumer,
  installTables,
  journalEffect,
  journalEntries,
} from '../../support/consumer-harness';
import { envelope, inboxOf } from '../../support/inbox-fixtures';

// A consumer group that wants some types only (`messageTypes`): the shipping group of the reference application,
// which applies OrderPlaced, PaymentCaptured and OrderCancelled and sees every other message of the key too.
const KEY = 'order-1';
const WANTED = ['OrderPlaced', 'PaymentCaptured', 'OrderCancelled'];
/** A key's messages: sequence → type (notes are not wanted). */
const TYPES: Record<number, string> = {
  1: 'OrderPlaced',
  2: 'OrderNoteAdded',
  3: 'OrderNoteAdded',
  4: 'PaymentCaptured',
  5: 'OrderNoteAdded',
  6: 'OrderCancelled',
  7: 'OrderNoteAdded',
};
const LAST = 7;

const now = new Date('2026-03-01T12:00:00.000Z');

let db: InMemoryDynamoDb;
/** The messages `beforeEffects` was run for, in order. */
let before: string[];
let alerts: ParkedKey[];
/** Sequences whose `beforeEffects` throws (a poison message). */
let failing: Set<number>;

/** The effect: appends `<sequence>:<type>` to the key's log, once per message (`transaction`). */
const logEffect = journalEffect('log');

function message(sequence: number, groupKey = KEY): MessageEnvelope {
  const type = TYPES[sequence];
  if (type === undefined) throw new Error(`no message ${sequence} in this test`);
  return envelope(groupKey, sequence, type, { orderId: groupKey });
}

function newConsumer(changes: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumer {
  return inboxConsumer({
    clock: () => now,
    effects: [{ effect: logEffect, strategy: 'transaction' }],
    messageTypes: WANTED,
    parkAfterFailures: 2,
    beforeEffects: async (delivered) => {
      before.push(`${delivered.sequence}:${delivered.type}`);
      if (failing.has(delivered.sequence)) throw new Error(`poison ${delivered.sequence}`);
    },
    onParked: async (parked) => {
      alerts.push(parked);
    },
    ...changes,
  });
}

const log = (groupKey = KEY) => journalEntries(db, 'log', groupKey);
const cursor = (groupKey = KEY) => inboxOf(db).cursor(groupKey);
const commands = () => ddb.calls().map((call) => call.args[0].constructor.name);
const wantedInOrder = () =>
  Object.entries(TYPES)
    .filter(([, type]) => WANTED.includes(type))
    .map(([sequence, type]) => `${sequence}:${type}`);

/** A deterministic shuffle (a small linear congruential generator), so every run delivers the same orders. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const result = [...items];
  let state = seed;
  const next = () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
  for (let index = result.length - 1; index > 0; index--) {
    const other = Math.floor(next() * (index + 1));
    [result[index], result[other]] = [result[other]!, result[index]!];
  }
  return result;
}

beforeEach(() => {
  db = installTables();
  before = [];
  alerts = [];
  failing = new Set();
});

describe('IdempotentConsumer with messageTypes', () => {
  it('applies only the wanted types, in order, whatever order and however often a key’s messages arrive', async () => {
    // GIVEN 7 messages of one key, 3 of them wanted, delivered in 12 different orders, each with duplicates
    const sequences = Object.keys(TYPES).map(Number);
    for (let seed = 1; seed <= 12; seed++) {
      db = installTables();
      before = [];
      const consumer = newConsumer();
      const deliveries = shuffled([...sequences, ...shuffled(sequences, seed + 100).slice(0, 4)], seed);

      // WHEN each delivery is consumed
      for (const sequence of deliveries) await consumer.consume(message(sequence));

      // THEN the effect ran for the wanted types only, once each, in sequence order
      expect(log(), `deliveries ${deliveries.join(',')}`).toEqual(wantedInOrder());
      expect(before.filter((entry, index) => before.indexOf(entry) === index)).toEqual(wantedInOrder());
      // and the cursor reached the key's last sequence with nothing left held
      expect(cursor(), `deliveries ${deliveries.join(',')}`).toMatchObject({
        lastSequence: LAST,
        heldCount: 0,
      });
      expect(inboxOf(db).waiting(KEY)).toEqual([]);
    }
  });

  it('skips a message of another type with ONE conditional write and no read, even with guarded effects', async () => {
    // GIVEN the key at 1
    const consumer = newConsumer();
    await consumer.consume(message(1));
    ddb.resetHistory();
    before = [];

    // WHEN the note (not wanted) arrives in its turn
    const result = await consumer.consume(message(2));

    // THEN it only moved the cursor: SKIPPED, one UpdateCommand, no effect, no beforeEffects
    expect(result).toEqual({ outcome: 'SKIPPED', released: [] });
    expect(commands()).toEqual(['UpdateCommand']);
    expect(cursor()).toMatchObject({ lastSequence: 2 });
    expect(log()).toEqual(['1:OrderPlaced']);
    expect(before).toEqual([]);
    expect(inboxOf(db).effect('msg-order-1-2', 'log')).toBeUndefined();
  });

  it('holds a skipped message that arrives ahead of a gap, and releases it (with no effect) once the gap fills', async () => {
    // GIVEN the note 2 arrives before 1
    const consumer = newConsumer();
    const held = await consumer.consume(message(2));

    // THEN it is held: the cursor did not move past the missing 1
    expect(held).toEqual({ outcome: 'HELD', released: [] });
    expect(cursor()).toMatchObject({ heldCount: 1 });
    expect(cursor()?.lastSequence).toBeUndefined();

    // WHEN 1 arrives
    const applied = await consumer.consume(message(1));

    // THEN 1 is applied and 2 released behind it, skipped: the key is clean at 2
    expect(applied).toEqual({ outcome: 'APPLIED', released: [2] });
    expect(log()).toEqual(['1:OrderPlaced']);
    expect(cursor()).toMatchObject({ lastSequence: 2, heldCount: 0 });
    expect(inboxOf(db).waiting(KEY)).toEqual([]);
  });

  it('never lets a skipped message move the cursor past a missing wanted one (the cursor condition)', async () => {
    // GIVEN 1 applied; the notes 2 and 3 are skipped in turn... but the note 5 arrives before PaymentCaptured 4
    const consumer = newConsumer();
    for (const sequence of [1, 2, 3]) await consumer.consume(message(sequence));

    // WHEN 5 (not wanted) arrives ahead of 4, then 4
    const early = await consumer.consume(message(5));
    const payment = await consumer.consume(message(4));

    // THEN 5 waited for 4, and 4's effect was applied (not taken for a duplicate behind a cursor at 5)
    expect(early.outcome).toBe('HELD');
    expect(payment).toEqual({ outcome: 'APPLIED', released: [5] });
    expect(log()).toEqual(['1:OrderPlaced', '4:PaymentCaptured']);
    expect(cursor()).toMatchObject({ lastSequence: 5, heldCount: 0 });
  });

  it('acknowledges a redelivered skipped message as a duplicate, never moving the cursor back', async () => {
    // GIVEN the key at 4
    const consumer = newConsumer();
    for (const sequence of [1, 2, 3, 4]) await consumer.consume(message(sequence));

    // WHEN the note 2 is delivered again
    const result = await consumer.consume(message(2));

    // THEN
    expect(result).toEqual({ outcome: 'DUPLICATE', released: [] });
    expect(cursor()).toMatchObject({ lastSequence: 4 });
  });

  it('releases a chain of held messages of both kinds, applying the wanted ones and skipping the others', async () => {
    // GIVEN 2 to 7 held (every one arrived before 1)
    const consumer = newConsumer();
    for (const sequence of [7, 6, 5, 4, 3, 2]) {
      expect((await consumer.consume(message(sequence))).outcome).toBe('HELD');
    }

    // WHEN 1 arrives
    const result = await consumer.consume(message(1));

    // THEN the whole chain is taken in order
    expect(result).toEqual({ outcome: 'APPLIED', released: [2, 3, 4, 5, 6, 7] });
    expect(log()).toEqual(wantedInOrder());
    expect(cursor()).toMatchObject({ lastSequence: LAST, heldCount: 0 });
  });

  it('answers SKIPPED for a skipped message that releases held successors', async () => {
    // GIVEN 1 applied, 3 (a note) and 4 held
    const consumer = newConsumer();
    await consumer.consume(message(1));
    await consumer.consume(message(4));
    await consumer.consume(message(3));

    // WHEN the note 2 arrives
    const result = await consumer.consume(message(2));

    // THEN
    expect(result).toEqual({ outcome: 'SKIPPED', released: [3, 4] });
    expect(log()).toEqual(['1:OrderPlaced', '4:PaymentCaptured']);
  });

  it('sets no cursor effect attributes for a skipped message', async () => {
    // GIVEN a lean consumer whose cursor effect records the latest type
    const latest: CursorEffect = {
      name: 'latest',
      attributes: (delivered) => ({ latestType: delivered.type }),
    };
    const consumer = newConsumer({ effects: [], cursorEffect: latest });

    // WHEN 1 (wanted) and 2 (a note) are consumed
    await consumer.consume(message(1));
    const result = await consumer.consume(message(2));

    // THEN the note moved the cursor only
    expect(result.outcome).toBe('SKIPPED');
    expect(cursor()).toMatchObject({ lastSequence: 2, latestType: 'OrderPlaced' });
  });

  it('never fails nor parks a key on a skipped message: none of the message’s code runs for it', async () => {
    // GIVEN beforeEffects throws for the note 2
    failing.add(2);
    const consumer = newConsumer();
    await consumer.consume(message(1));

    // WHEN 2 is consumed (twice: parkAfterFailures is 2)
    const first = await consumer.consume(message(2));

    // THEN it was skipped, not failed
    expect(first.outcome).toBe('SKIPPED');
    expect(alerts).toEqual([]);
    expect(cursor()).toMatchObject({ lastSequence: 2 });
  });

  it('keeps parking as it is: a failing wanted message parks the key, and a skipped one behind it joins the parked set', async () => {
    // GIVEN PaymentCaptured 4 keeps failing
    failing.add(4);
    const consumer = newConsumer();
    for (const sequence of [1, 2, 3]) await consumer.consume(message(sequence));
    await expect(consumer.consume(message(4))).rejects.toThrow('poison 4');
    expect((await consumer.consume(message(4))).outcome).toBe('PARKED');

    // WHEN the note 5 arrives
    const result = await consumer.consume(message(5));

    // THEN it is parked behind 4, not skipped past it
    expect(result.outcome).toBe('PARKED');
    expect(alerts).toEqual([
      expect.objectContaining({ groupKey: KEY, sequence: 4, type: 'PaymentCaptured' }),
    ]);
    expect(cursor()).toMatchObject({ lastSequence: 3, parked: true });
    expect(inboxOf(db).waiting(KEY)).toEqual([inboxKeys.parked(KEY, 4).sk, inboxKeys.parked(KEY, 5).sk]);
  });

  it('parks a body that is no valid envelope at its turn, whatever its type', async () => {
    // GIVEN the key at 1
    const consumer = newConsumer();
    await consumer.consume(message(1));

    // WHEN message 2 comes with no type at all
    const result = await consumer.consumeBody(JSON.stringify({ ...message(2), type: '' }));

    // THEN it is parked with its reason (not skipped as "another type")
    expect(result.outcome).toBe('PARKED');
    expect(inboxOf(db).parked(KEY, 2)).toMatchObject({
      reason: expect.stringContaining('InvalidEnvelopeError'),
    });
  });

  it('applies every type without messageTypes', async () => {
    // GIVEN
    const consumer = newConsumer({ messageTypes: undefined });

    // WHEN
    for (const sequence of [1, 2, 3]) await consumer.consume(message(sequence));

    // THEN
    expect(log()).toEqual(['1:OrderPlaced', '2:OrderNoteAdded', '3:OrderNoteAdded']);
  });

  it.each([
    [[], /messageTypes must name at least one message type/],
    [['OrderPlaced', ''], /messageTypes must be non-empty strings; got ""/],
  ])('fails if messageTypes is %j', (messageTypes, error) => {
    expect(() => newConsumer({ messageTypes })).toThrow(error);
  });
});
