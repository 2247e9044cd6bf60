import type { TransactWriteCommandInput, UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import type { IdempotencyStrategy } from '../../../../functions/runtime/consumer/effect-strategies';
import type {
  IdempotentConsumer,
  IdempotentConsumerOptions,
  ParkedKey,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { InMemoryDynamoDb, LostAnswer } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { inboxConsumer, installTables, journalEffect, journalEntries } from '../../support/consumer-harness';
import { envelope, inboxOf } from '../../support/inbox-fixtures';

// Every write of the ordered consumer — cursor advance, hold, failure count, park flag, parked message, alert mark —
// with its answer lost after it landed (a 500, a timeout, or the SDK's retry failing against its own first attempt):
// no effect twice, no HELD or PARKED item lost or orphaned, no healthy key parked.

const NOW = new Date('2026-03-01T12:00:00.000Z');
const KEY = 'order-1';
const OUTCOMES: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];
const noWait = { sleep: async () => {}, random: () => 0.5 };

let db: InMemoryDynamoDb;
let alerts: ParkedKey[];
let poisoned: Set<string>;

/** Appends `<sequence>` to the key's journal named after `strategy`: the oracle of "once and in order". */
const journal = (strategy: IdempotencyStrategy) =>
  journalEffect(strategy, { entry: (delivered) => delivered.sequence, versioned: true });
const STRATEGIES: readonly IdempotencyStrategy[] = ['transaction', 'version'];
const journalOf = (strategy: IdempotencyStrategy, groupKey = KEY) => journalEntries(db, strategy, groupKey);

const message = (sequence: number, groupKey = KEY): MessageEnvelope =>
  envelope(groupKey, sequence, 'NoteAdded', { text: `note ${sequence}` });

function newConsumer(changes: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumer {
  return inboxConsumer({
    clock: () => NOW,
    effects: STRATEGIES.map((strategy) => ({ effect: journal(strategy), strategy })),
    transientRetry: noWait,
    beforeEffects: async (delivered) => {
      if (poisoned.has(delivered.messageId)) throw new Error(`poison ${delivered.sequence}`);
    },
    onParked: async (parked) => {
      alerts.push(parked);
    },
    ...changes,
  });
}

const inbox = () => inboxOf(db);
const firstItem = (input: TransactWriteCommandInput) => input.TransactItems?.[0];
const isCursorAdvance = (sequence: number) => (input: UpdateCommandInput | undefined) =>
  input?.Key?.sk === 'CURSOR' &&
  (input.UpdateExpression ?? '').startsWith('SET lastSequence') &&
  input.ExpressionAttributeValues?.[':sequence'] === sequence;
const isTransactedAdvance = (sequence: number) => (input: TransactWriteCommandInput) =>
  isCursorAdvance(sequence)(firstItem(input)?.Update);
const isHold = (input: TransactWriteCommandInput) =>
  String(firstItem(input)?.Put?.Item?.sk).startsWith('HELD#');
const isParkedStore = (input: TransactWriteCommandInput) =>
  String(firstItem(input)?.Put?.Item?.sk).startsWith('PARKED#');
const isFailureCount = (input: UpdateCommandInput) => input.Key?.sk === 'FAILURES';
const isParkFlag = (input: UpdateCommandInput) =>
  (input.UpdateExpression ?? '').startsWith('SET parked = :true');
const isAlertMark = (input: UpdateCommandInput) => input.UpdateExpression === 'SET parkAlerted = :true';

/** Delivers a message until it is acknowledged (as the queue does), at most `times` times. */
async function deliverUntilAcknowledged(
  consumer: IdempotentConsumer,
  delivered: MessageEnvelope,
  times = 20,
) {
  for (let delivery = 1; ; delivery++) {
    try {
      return await consumer.consume(delivered);
    } catch (error) {
      if (delivery >= times) throw error;
    }
  }
}

beforeEach(() => {
  db = installTables();
  alerts = [];
  poisoned = new Set();
});

describe.each(OUTCOMES)('IdempotentConsumer when a write landed and its answer was lost (%s)', (outcome) => {
  it('never applies an effect twice when the cursor advance lost its answer', async () => {
    // GIVEN
    const consumer = newConsumer();
    await consumer.consume(message(1));
    db.loseAnswer('Update', isCursorAdvance(2), outcome);

    // WHEN
    const result = await deliverUntilAcknowledged(consumer, message(2));

    // THEN
    expect(['APPLIED', 'DUPLICATE']).toContain(result.outcome);
    for (const strategy of STRATEGIES) expect(journalOf(strategy)).toEqual([1, 2]);
    expect(inbox().cursor(KEY)).toMatchObject({ lastSequence: 2 });
    expect(inbox().failures(message(2).messageId)).toBeUndefined();
    expect(db.lostAnswerCount).toBe(1);
  });

  it('never applies a released message twice, nor leaves it held, when its advance lost its answer', async () => {
    // GIVEN 3 is held
    const consumer = newConsumer();
    await consumer.consume(message(1));
    await consumer.consume(message(3));
    db.loseAnswer('TransactWrite', isTransactedAdvance(3), outcome);

    // WHEN 2 arrives and releases 3
    await deliverUntilAcknowledged(consumer, message(2));

    // THEN
    for (const strategy of STRATEGIES) expect(journalOf(strategy)).toEqual([1, 2, 3]);
    expect(inbox().cursor(KEY)).toMatchObject({ lastSequence: 3, heldCount: 0 });
    expect(inbox().waiting(KEY)).toEqual([]);
  });

  it('holds a message once, counted once, when the hold lost its answer', async () => {
    // GIVEN
    const consumer = newConsumer();
    await consumer.consume(message(1));
    db.loseAnswer('TransactWrite', isHold, outcome);

    // WHEN
    const held = await deliverUntilAcknowledged(consumer, message(3));
    await deliverUntilAcknowledged(consumer, message(2));

    // THEN
    expect(held.outcome).toBe('HELD');
    for (const strategy of STRATEGIES) expect(journalOf(strategy)).toEqual([1, 2, 3]);
    expect(inbox().cursor(KEY)).toMatchObject({ lastSequence: 3, heldCount: 0 });
    expect(inbox().waiting(KEY)).toEqual([]);
  });

  it('counts a failure once per delivery when the count lost its answer', async () => {
    // GIVEN message 2 fails every time
    const consumer = newConsumer();
    await consumer.consume(message(1));
    poisoned.add(message(2).messageId);
    db.loseAnswer('Update', isFailureCount, outcome);

    // WHEN delivered once
    await expect(consumer.consume(message(2))).rejects.toThrow('poison 2');

    // THEN one delivery, one failure: the key keeps its other two attempts
    expect(inbox().failures(message(2).messageId)).toMatchObject({ failures: 1 });
    await expect(consumer.consume(message(2))).rejects.toThrow('poison 2');
    expect(inbox().cursor(KEY)?.parked).toBeUndefined();
    expect((await consumer.consume(message(2))).outcome).toBe('PARKED');
  });

  it('parks with the real reason, alerting once, when the park flag lost its answer', async () => {
    // GIVEN message 2 fails, and parks its key at its first failure
    const consumer = newConsumer({ parkAfterFailures: 1 });
    await consumer.consume(message(1));
    poisoned.add(message(2).messageId);
    db.loseAnswer('Update', isParkFlag, outcome);

    // WHEN
    const result = await deliverUntilAcknowledged(consumer, message(2));

    // THEN
    expect(result.outcome).toBe('PARKED');
    expect(inbox().parked(KEY, 2)).toMatchObject({ reason: 'Error: poison 2' });
    expect(alerts).toEqual([expect.objectContaining({ sequence: 2, error: 'Error: poison 2' })]);
    expect(inbox().cursor(KEY)).toMatchObject({ parked: true, parkedSequence: 2, parkAlerted: true });
  });

  it('parks a released message once, its held count right and its alert sent, when the store lost its answer', async () => {
    // GIVEN 3 is held and fails, parking its key at its first failure
    const consumer = newConsumer({ parkAfterFailures: 1 });
    await consumer.consume(message(1));
    await consumer.consume(message(3));
    poisoned.add(message(3).messageId);
    db.loseAnswer('TransactWrite', isParkedStore, outcome);

    // WHEN 2 arrives and releases 3
    await deliverUntilAcknowledged(consumer, message(2));

    // THEN
    expect(inbox().waiting(KEY)).toEqual(['PARKED#000000000000003']);
    expect(inbox().cursor(KEY)).toMatchObject({
      lastSequence: 2,
      heldCount: 0,
      parked: true,
      parkAlerted: true,
    });
    expect(alerts).toEqual([expect.objectContaining({ sequence: 3, error: 'Error: poison 3' })]);
  });

  it('keeps the parked reason and sends the alert when the alert mark lost its answer', async () => {
    // GIVEN
    const consumer = newConsumer({ parkAfterFailures: 1 });
    await consumer.consume(message(1));
    poisoned.add(message(2).messageId);
    db.loseAnswer('Update', isAlertMark, outcome);

    // WHEN
    await deliverUntilAcknowledged(consumer, message(2));

    // THEN
    expect(inbox().parked(KEY, 2)).toMatchObject({ reason: 'Error: poison 2' });
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    expect(alerts.every((alert) => alert.error === 'Error: poison 2')).toBe(true);
    expect(inbox().cursor(KEY)).toMatchObject({ parkAlerted: true });
  });

  it('stores a later message of a parked key once when the store lost its answer', async () => {
    // GIVEN the key is parked at 2
    const consumer = newConsumer({ parkAfterFailures: 1 });
    await consumer.consume(message(1));
    poisoned.add(message(2).messageId);
    await consumer.consume(message(2));
    db.loseAnswer('TransactWrite', isParkedStore, outcome);

    // WHEN
    const result = await deliverUntilAcknowledged(consumer, message(3));

    // THEN
    expect(result.outcome).toBe('PARKED');
    expect(inbox().waiting(KEY)).toEqual(['PARKED#000000000000002', 'PARKED#000000000000003']);
    expect(inbox().parked(KEY, 3)).toMatchObject({ reason: 'its key is parked' });
    expect(alerts).toHaveLength(1);
  });
});

/** A small seeded generator, so that a failing run can be replayed from its seed. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('IdempotentConsumer under lost answers at a fifth of its writes (property)', () => {
  const keys = ['order-a', 'order-b'];
  const run = fc.record({
    lengths: fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 })),
    // Deliveries before the queue's in-order redelivery: duplicates and messages ahead of their predecessors.
    early: fc.array(fc.nat(), { maxLength: 20 }),
    seed: fc.integer(),
  });

  it.each([
    ['guarded effects (the full path)', {}],
    [
      'a cursor effect only (the lean path)',
      {
        effects: [],
        cursorEffect: { name: 'latest', attributes: (m: MessageEnvelope) => ({ latest: m.sequence }) },
      },
    ],
  ] as const)(
    'applies each message exactly once and in order per key, and parks no key, with %s',
    async (_, changes) => {
      await fc.assert(
        fc.asyncProperty(run, async ({ lengths, early, seed }) => {
          // GIVEN fresh tables whose writes lose a fifth of their answers
          db = installTables();
          alerts = [];
          poisoned = new Set();
          db.loseAnswers(0.2, seeded(seed));
          const consumer = newConsumer(changes);
          const messages = keys.flatMap((key, index) =>
            Array.from({ length: lengths[index] ?? 1 }, (_unused, n) => message(n + 1, key)),
          );

          // WHEN some deliveries come early and twice, then the queue delivers every key in order until acknowledged
          for (const pick of early) {
            await consumer
              .consume(messages[pick % messages.length] as MessageEnvelope)
              .catch(() => undefined);
          }
          for (const delivered of messages) await deliverUntilAcknowledged(consumer, delivered);
          db.loseAnswers(0);

          // THEN
          keys.forEach((key, index) => {
            const expected = Array.from({ length: lengths[index] ?? 1 }, (_unused, n) => n + 1);
            if (changes === undefined || !('cursorEffect' in changes)) {
              for (const strategy of STRATEGIES) expect(journalOf(strategy, key)).toEqual(expected);
            }
            expect(inbox().cursor(key)).toMatchObject({ lastSequence: expected.length });
            expect(inbox().cursor(key)?.parked).toBeUndefined();
            expect(Number(inbox().cursor(key)?.heldCount ?? 0)).toBe(0);
            expect(inbox().waiting(key)).toEqual([]);
          });
          expect(alerts).toEqual([]);
        }),
        { numRuns: 60 },
      );
    },
  );
});
