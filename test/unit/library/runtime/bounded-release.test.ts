import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type {
  ConsumeResult,
  IdempotentConsumer,
  IdempotentConsumerOptions,
} from '../../../../functions/runtime/consumer/idempotent-consumer';
import { resendToContinue } from '../../../../functions/runtime/consumer/release-continuation';
import { type MessageEnvelope, parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { inboxConsumer, installTables } from '../../support/consumer-harness';
import { envelope, inboxOf } from '../../support/inbox-fixtures';

const sqs = mockClient(SQSClient);
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const KEY = 'order-1';

let db: InMemoryDynamoDb;
/** What the continuation put back on the queue, in order. */
let queue: MessageEnvelope[];
/** The deduplication id of every continuation sent. */
let dedupIds: string[];

const message = (sequence: number) => envelope(KEY, sequence, 'OrderNoteAdded', { text: `note ${sequence}` });

function newConsumer(changes: Partial<IdempotentConsumerOptions> = {}): IdempotentConsumer {
  return inboxConsumer({
    clock: () => new Date('2026-03-01T12:00:00.000Z'),
    effects: [],
    continueRelease: resendToContinue(new SQSClient({ region: 'us-east-1' }), QUEUE_URL),
    ...changes,
  });
}

/** Holds messages 2 … length + 1 of the key (they arrived before message 1). */
async function holdChain(consumer: IdempotentConsumer, length: number): Promise<void> {
  for (let sequence = 2; sequence <= length + 1; sequence++) {
    expect((await consumer.consume(message(sequence))).outcome).toBe('HELD');
  }
}

beforeEach(() => {
  db = installTables();
  sqs.reset();
  queue = [];
  dedupIds = [];
  sqs.onAnyCommand().rejects(new Error('unexpected SQS command'));
  sqs.on(SendMessageCommand).callsFake(async (input) => {
    expect(input).toMatchObject({ QueueUrl: QUEUE_URL, MessageGroupId: KEY });
    const next = parseEnvelope(String(input.MessageBody));
    expect(input.MessageDeduplicationId).toMatch(new RegExp(`^${next.messageId}:continue:[0-9a-f-]{36}$`));
    dedupIds.push(String(input.MessageDeduplicationId));
    queue.push(next);
    return { MessageId: `sqs-${queue.length}` };
  });
});

describe('IdempotentConsumer: releasing a long held chain', () => {
  it('releases at most maxReleasePerDelivery per delivery, and continues through the queue until the chain is empty', async () => {
    // GIVEN 2,000 messages held behind a missing message 1
    const consumer = newConsumer({ maxReleasePerDelivery: 100 });
    await holdChain(consumer, 2000);

    // WHEN message 1 arrives, and then every continuation the queue gets
    const results: ConsumeResult[] = [];
    const appliedInOrder: number[] = [];
    for (let next: MessageEnvelope | undefined = message(1); next !== undefined; next = queue.shift()) {
      const result = await consumer.consume(next);
      if (result.outcome === 'APPLIED') appliedInOrder.push(next.sequence);
      appliedInOrder.push(...result.released);
      results.push(result);
    }

    // THEN every message was applied once, in order, no delivery released more than 100, nothing is held
    expect(appliedInOrder).toEqual(Array.from({ length: 2001 }, (_, i) => i + 1));
    expect(results.every((result) => result.released.length <= 100)).toBe(true);
    expect(results).toHaveLength(20); // 101 messages per delivery: the one delivered and 100 released
    expect(inboxOf(db).waiting(KEY)).toEqual([]);
    expect(inboxOf(db).cursor(KEY)).toMatchObject({ lastSequence: 2001, heldCount: 0 });
  });

  it('releases 100 per delivery by default when it can continue', async () => {
    // GIVEN
    const consumer = newConsumer();
    await holdChain(consumer, 150);

    // WHEN
    const first = await consumer.consume(message(1));

    // THEN
    expect(first.released).toHaveLength(100);
    expect(queue.map((next) => next.sequence)).toEqual([102]);
  });

  it('fails the delivery when the continuation cannot be sent, and its redelivery goes on releasing', async () => {
    // GIVEN the queue refuses the first continuation
    const consumer = newConsumer({ maxReleasePerDelivery: 10 });
    await holdChain(consumer, 25);
    sqs
      .on(SendMessageCommand)
      .rejectsOnce(new Error('queue unreachable'))
      .callsFake(async (input) => {
        queue.push(parseEnvelope(String(input.MessageBody)));
        return {};
      });

    // WHEN
    await expect(consumer.consume(message(1))).rejects.toThrow('queue unreachable');
    const redelivery = await consumer.consume(message(1));
    const later: ConsumeResult[] = [];
    while (queue.length > 0) later.push(await consumer.consume(queue.shift()!));

    // THEN
    expect(redelivery).toMatchObject({
      outcome: 'DUPLICATE',
      released: Array.from({ length: 10 }, (_, i) => i + 12),
    });
    expect(later.flatMap((result) => result.released)).toEqual([23, 24, 25, 26]);
    expect(inboxOf(db).cursor(KEY)).toMatchObject({ lastSequence: 26, heldCount: 0 });
  });

  it('hands over before the invocation runs out of time, even below maxReleasePerDelivery', async () => {
    // GIVEN 50 held messages, and an invocation with 20 s left that loses 1 s per held message read
    const consumer = newConsumer({ maxReleasePerDelivery: 100, releaseTimeReserveMs: 5000 });
    await holdChain(consumer, 50);
    let left = 20_000;
    const remainingTimeMs = () => {
      left -= 1000;
      return left;
    };

    // WHEN message 1 arrives in that invocation
    const result = await consumer.consume(message(1), { remainingTimeMs });

    // THEN it released only while more than 5 s were left, and handed the next held message to the queue
    expect(result.released.length).toBeGreaterThan(0);
    expect(result.released.length).toBeLessThan(20);
    expect(queue.map((next) => next.sequence)).toEqual([result.released.length + 2]);
    expect(inboxOf(db).cursor(KEY)).toMatchObject({ lastSequence: result.released.length + 1 });
  });

  it('gives every hand-over of the same held message its own deduplication id (SQS would drop a repeat)', async () => {
    // GIVEN a chain, and deliveries that are already out of time when they start releasing
    const consumer = newConsumer({ releaseTimeReserveMs: 5000 });
    await holdChain(consumer, 5);
    const outOfTime = { remainingTimeMs: () => 1000 };

    // WHEN message 1 is applied, and the continuation is delivered twice in invocations just as short
    await consumer.consume(message(1), outOfTime);
    const continued = queue.shift()!;
    await consumer.consume(continued, outOfTime);

    // THEN each delivery handed message 2 over under a new deduplication id, and the chain still drains
    expect(dedupIds).toHaveLength(2);
    expect(new Set(dedupIds).size).toBe(2);
    while (queue.length > 0) await consumer.consume(queue.shift()!);
    expect(inboxOf(db).cursor(KEY)).toMatchObject({ lastSequence: 6, heldCount: 0 });
  });

  it('releases the whole chain in one delivery when it has no way to continue', async () => {
    // GIVEN
    const consumer = newConsumer({ continueRelease: undefined });
    await holdChain(consumer, 300);

    // WHEN
    const result = await consumer.consume(message(1));

    // THEN
    expect(result.released).toHaveLength(300);
    expect(sqs.calls()).toHaveLength(0);
  });

  it.each<[string, Partial<IdempotentConsumerOptions>, RegExp]>([
    [
      'a bound without a continuation',
      { continueRelease: undefined, maxReleasePerDelivery: 10 },
      /needs continueRelease/,
    ],
    ['a bound of 0', { maxReleasePerDelivery: 0 }, /1 to 10,000; got 0/],
    ['a fractional bound', { maxReleasePerDelivery: 2.5 }, /1 to 10,000; got 2.5/],
    ['a negative time reserve', { releaseTimeReserveMs: -1 }, /releaseTimeReserveMs must be .* got -1/],
    ['a bound over 10,000', { maxReleasePerDelivery: 10_001 }, /1 to 10,000; got 10001/],
  ])('is refused with a RangeError for %s', (_case, changes, problem) => {
    expect(() => newConsumer(changes)).toThrow(RangeError);
    expect(() => newConsumer(changes)).toThrow(problem);
  });

  it('accepts the bounds at their limits: 1 and 10,000 held messages, no time reserve', () => {
    expect(() => newConsumer({ maxReleasePerDelivery: 1 })).not.toThrow();
    expect(() => newConsumer({ maxReleasePerDelivery: 10_000 })).not.toThrow();
    expect(() => newConsumer({ releaseTimeReserveMs: 0 })).not.toThrow();
  });

  it('releases the whole chain near the deadline when there is no continuation to hand it to', async () => {
    // GIVEN no continueRelease, and less time left than the release reserve
    const consumer = newConsumer({ continueRelease: undefined });
    await holdChain(consumer, 3);

    // WHEN
    const result = await consumer.consume(message(1), { remainingTimeMs: () => 1_000 });

    // THEN
    expect(result.released).toEqual([2, 3, 4]);
  });

  it('still releases with exactly the release reserve left', async () => {
    // GIVEN
    const consumer = newConsumer({ releaseTimeReserveMs: 5_000 });
    await holdChain(consumer, 2);

    // WHEN
    const result = await consumer.consume(message(1), { remainingTimeMs: () => 5_000, reserveMs: 0 });

    // THEN nothing is handed over
    expect(result.released).toEqual([2, 3]);
    expect(queue).toEqual([]);
  });
});
