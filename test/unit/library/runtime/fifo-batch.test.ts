import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  OutOfTimeError,
  processFifoBatch,
  withGroupIds,
} from '../../../../functions/runtime/consumer/fifo-batch';

const QUEUE_ARN = 'arn:aws:sqs:us-east-1:123456789012:orders.fifo';

interface RecordSpec {
  readonly id: string;
  /** The MessageGroupId attribute; omitted like some emulators do when undefined. */
  readonly group?: string;
  /** The body's groupKey; the body is not JSON when this is null. */
  readonly groupKey?: string | null;
}

function sqsRecord({ id, group, groupKey }: RecordSpec): SQSRecord {
  const body =
    groupKey === null
      ? `not json ${id}`
      : JSON.stringify({ messageId: id, groupKey: groupKey ?? group, sequence: 1 });
  return {
    messageId: id,
    receiptHandle: `handle-${id}`,
    body,
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: '1772366400000',
      SenderId: 'AIDAEXAMPLE',
      ApproximateFirstReceiveTimestamp: '1772366400001',
      ...(group === undefined
        ? {}
        : { MessageGroupId: group, MessageDeduplicationId: id, SequenceNumber: '1' }),
    },
    messageAttributes: {},
    md5OfBody: 'md5',
    eventSource: 'aws:sqs',
    eventSourceARN: QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

function event(...specs: RecordSpec[]): SQSEvent {
  return { Records: specs.map(sqsRecord) };
}

/** A record handler that records the ids it ran, in order, and fails for the given ids. */
function handlerFailing(...failingIds: string[]) {
  const ran: string[] = [];
  const handler = async (record: SQSRecord): Promise<void> => {
    ran.push(record.messageId);
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (failingIds.includes(record.messageId)) throw new Error(`cannot process ${record.messageId}`);
  };
  return { ran, handler };
}

/** A batch with all the time it needs: the tests of its failure semantics, not of its time. */
const AMPLE_TIME = { remainingTimeMs: () => 60_000 };

function failedIds(response: { batchItemFailures: ReadonlyArray<{ itemIdentifier: string }> }): string[] {
  return response.batchItemFailures.map((failure) => failure.itemIdentifier);
}

describe('processFifoBatch', () => {
  it('acknowledges every record whose handler resolved', async () => {
    // GIVEN
    const { ran, handler } = handlerFailing();

    // WHEN
    const response = await processFifoBatch(
      event({ id: 'a1', group: 'a' }, { id: 'b1', group: 'b' }),
      handler,
      AMPLE_TIME,
    );

    // THEN
    expect(response).toEqual({ batchItemFailures: [] });
    expect([...ran].sort()).toEqual(['a1', 'b1']);
  });

  it("runs each group's records one at a time in batch order, and different groups at the same time", async () => {
    // GIVEN
    const running = new Map<string, number>();
    let mostOfOneGroup = 0;
    let mostAtOnce = 0;
    const order: string[] = [];
    const handler = async (record: SQSRecord): Promise<void> => {
      const group = record.attributes.MessageGroupId ?? '';
      running.set(group, (running.get(group) ?? 0) + 1);
      mostOfOneGroup = Math.max(mostOfOneGroup, running.get(group)!);
      mostAtOnce = Math.max(
        mostAtOnce,
        [...running.values()].reduce((sum, n) => sum + n, 0),
      );
      await new Promise((resolve) => setTimeout(resolve, 2));
      order.push(record.messageId);
      running.set(group, running.get(group)! - 1);
    };

    // WHEN
    await processFifoBatch(
      event(
        { id: 'a1', group: 'a' },
        { id: 'b1', group: 'b' },
        { id: 'a2', group: 'a' },
        { id: 'c1', group: 'c' },
        { id: 'a3', group: 'a' },
      ),
      handler,
      AMPLE_TIME,
    );

    // THEN a group never runs two records at once, and keeps its order; the three groups ran together
    expect(mostOfOneGroup).toBe(1);
    expect(mostAtOnce).toBe(3);
    expect(order.filter((id) => id.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect([...order].sort()).toEqual(['a1', 'a2', 'a3', 'b1', 'c1']);
  });

  it("fails the rest of a group's records after its first failure, without running them", async () => {
    // GIVEN
    const { ran, handler } = handlerFailing('a2');

    // WHEN
    const response = await processFifoBatch(
      event(
        { id: 'a1', group: 'a' },
        { id: 'b1', group: 'b' },
        { id: 'a2', group: 'a' },
        { id: 'b2', group: 'b' },
        { id: 'a3', group: 'a' },
        { id: 'a4', group: 'a' },
      ),
      handler,
      AMPLE_TIME,
    );

    // THEN
    expect(failedIds(response)).toEqual(['a2', 'a3', 'a4']);
    expect([...ran].sort()).toEqual(['a1', 'a2', 'b1', 'b2']);
  });

  it('goes on with the other groups after a failure', async () => {
    // GIVEN
    const { ran, handler } = handlerFailing('a1', 'c1');

    // WHEN
    const response = await processFifoBatch(
      event(
        { id: 'a1', group: 'a' },
        { id: 'b1', group: 'b' },
        { id: 'c1', group: 'c' },
        { id: 'b2', group: 'b' },
      ),
      handler,
      AMPLE_TIME,
    );

    // THEN
    expect(failedIds(response)).toEqual(['a1', 'c1']);
    expect([...ran].sort()).toEqual(['a1', 'b1', 'b2', 'c1']);
  });

  it('uses the groupKey of the body as the group of a record that has no MessageGroupId', async () => {
    // GIVEN records as an emulator delivers them, without MessageGroupId
    const { ran, handler } = handlerFailing('a1');

    // WHEN
    const response = await processFifoBatch(
      event({ id: 'a1', groupKey: 'a' }, { id: 'b1', groupKey: 'b' }, { id: 'a2', groupKey: 'a' }),
      handler,
      AMPLE_TIME,
    );

    // THEN
    expect(failedIds(response)).toEqual(['a1', 'a2']);
    expect([...ran].sort()).toEqual(['a1', 'b1']);
  });

  it('gives a record whose body is not JSON a group of its own, so its failure blocks no other record', async () => {
    // GIVEN
    const { ran, handler } = handlerFailing('bad1');

    // WHEN
    const response = await processFifoBatch(
      event({ id: 'bad1', groupKey: null }, { id: 'bad2', groupKey: null }, { id: 'a1', groupKey: 'a' }),
      handler,
      AMPLE_TIME,
    );

    // THEN
    expect(failedIds(response)).toEqual(['bad1']);
    expect([...ran].sort()).toEqual(['a1', 'bad1', 'bad2']);
  });

  it('reports every record failed, without a Lambda error, when every record fails', async () => {
    // GIVEN
    const { handler } = handlerFailing('a1', 'b1');

    // WHEN
    const response = await processFifoBatch(
      event({ id: 'a1', group: 'a' }, { id: 'b1', group: 'b' }),
      handler,
      AMPLE_TIME,
    );

    // THEN
    expect(failedIds(response)).toEqual(['a1', 'b1']);
  });
});

describe('withGroupIds', () => {
  it('keeps a record that has a MessageGroupId as it is', () => {
    // GIVEN
    const original = event({ id: 'a1', group: 'from-sqs', groupKey: 'from-body' });

    // WHEN
    const filled = withGroupIds(original);

    // THEN
    expect(filled.Records[0]).toBe(original.Records[0]);
  });

  it("fills a missing MessageGroupId from the body's groupKey and leaves the rest of the record alone", () => {
    // GIVEN
    const original = event({ id: 'a1', groupKey: 'order-7' });

    // WHEN
    const filled = withGroupIds(original);

    // THEN
    expect(filled.Records[0]).toEqual({
      ...original.Records[0],
      attributes: { ...original.Records[0]?.attributes, MessageGroupId: 'order-7' },
    });
    expect(original.Records[0]?.attributes.MessageGroupId).toBeUndefined();
  });

  it.each([
    ['a body that is not JSON', 'not json'],
    ['a body without groupKey', JSON.stringify({ messageId: 'm' })],
    ['an empty groupKey', JSON.stringify({ groupKey: '' })],
    ['a groupKey that is not a string', JSON.stringify({ groupKey: 42 })],
    ['a JSON null body', 'null'],
  ])('uses message:<messageId> as the group for %s', (_case, body) => {
    // GIVEN
    const record: SQSRecord = { ...sqsRecord({ id: 'x1' }), body };

    // WHEN
    const filled = withGroupIds({ Records: [record] });

    // THEN
    expect(filled.Records[0]?.attributes.MessageGroupId).toBe('message:x1');
  });

  it('passes the filled group to the record handler', async () => {
    // GIVEN
    const seen: Array<string | undefined> = [];

    // WHEN
    await processFifoBatch(
      event({ id: 'a1', groupKey: 'order-1' }),
      async (record) => {
        seen.push(record.attributes.MessageGroupId);
      },
      AMPLE_TIME,
    );

    // THEN
    expect(seen).toEqual(['order-1']);
  });
});

describe('processFifoBatch near the invocation’s timeout', () => {
  /** An invocation clock: every record handled takes `perRecordMs` of the time left. */
  function timedHandler(startMs: number, perRecordMs: number) {
    let leftMs = startMs;
    const ran: string[] = [];
    return {
      ran,
      remainingTimeMs: () => leftMs,
      handler: async (record: SQSRecord): Promise<void> => {
        ran.push(record.messageId);
        leftMs -= perRecordMs;
      },
    };
  }

  it('fails if a record starts with less than the reserve left: it and the rest of its group are redelivered, the records done are acknowledged', async () => {
    // GIVEN 15 s left and 4 s per record: a1 starts with 15 s, a2 with 11 s, a3 with 7 s, a4 would with 3 s
    const { ran, handler, remainingTimeMs } = timedHandler(15_000, 4_000);
    const errors: unknown[] = [];

    // WHEN
    const response = await processFifoBatch(
      event(
        { id: 'a1', group: 'a' },
        { id: 'a2', group: 'a' },
        { id: 'a3', group: 'a' },
        { id: 'a4', group: 'a' },
        { id: 'a5', group: 'a' },
      ),
      handler,
      { remainingTimeMs, onFailed: (_record, error) => errors.push(error) },
    );

    // THEN the invocation returns before its timeout, which would have failed a1 to a3 too
    expect(ran).toEqual(['a1', 'a2', 'a3']);
    expect(failedIds(response)).toEqual(['a4', 'a5']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(OutOfTimeError);
  });

  it('takes the reserve it is given', async () => {
    // GIVEN
    const specs = [
      { id: 'a1', group: 'a' },
      { id: 'a2', group: 'a' },
    ];
    const withReserve = timedHandler(10_000, 4_000);

    // WHEN a 7 s reserve: a2 would start with 6 s
    const reserved = await processFifoBatch(event(...specs), withReserve.handler, {
      remainingTimeMs: withReserve.remainingTimeMs,
      reserveMs: 7_000,
    });

    // THEN
    expect(failedIds(reserved)).toEqual(['a2']);
    expect(withReserve.ran).toEqual(['a1']);
  });

  it('gives every record handler the batch’s time: what is left and the reserve, so its retries keep the reserve', async () => {
    // GIVEN
    const seen: { left: number; reserveMs: number }[] = [];
    const handler = async (
      _record: SQSRecord,
      time: { remainingTimeMs: () => number; reserveMs: number },
    ) => {
      seen.push({ left: time.remainingTimeMs(), reserveMs: time.reserveMs });
    };

    // WHEN
    await processFifoBatch(event({ id: 'a1', group: 'a' }), handler, {
      remainingTimeMs: () => 9_000,
      reserveMs: 3_000,
    });
    await processFifoBatch(event({ id: 'b1', group: 'b' }), handler, { remainingTimeMs: () => 8_000 });

    // THEN the default reserve is 5 s
    expect(seen).toEqual([
      { left: 9_000, reserveMs: 3_000 },
      { left: 8_000, reserveMs: 5_000 },
    ]);
  });

  it('fails if it is given no time source, before running any record', async () => {
    // GIVEN a caller that leaves the time source out (JavaScript, or a cast)
    const { ran, handler } = handlerFailing();
    const noTime = {} as { remainingTimeMs: () => number };

    // WHEN / THEN
    await expect(processFifoBatch(event({ id: 'a1', group: 'a' }), handler, noTime)).rejects.toThrow(
      'processFifoBatch needs remainingTimeMs, e.g. () => context.getRemainingTimeInMillis() of the Lambda context',
    );
    await expect(
      processFifoBatch(
        event({ id: 'a1', group: 'a' }),
        handler,
        undefined as unknown as { remainingTimeMs: () => number },
      ),
    ).rejects.toThrow(
      new TypeError(
        'processFifoBatch needs remainingTimeMs, e.g. () => context.getRemainingTimeInMillis() of the Lambda context',
      ),
    );
    expect(ran).toEqual([]);
  });

  it('starts a record with exactly the reserve left', async () => {
    // GIVEN 5 s left and 5 s per record: a1 starts with 10 s, a2 with exactly 5 s, a3 would with 0 s
    const { ran, handler, remainingTimeMs } = timedHandler(10_000, 5_000);
    const errors: unknown[] = [];

    // WHEN
    const response = await processFifoBatch(
      event({ id: 'a1', group: 'a' }, { id: 'a2', group: 'a' }, { id: 'a3', group: 'a' }),
      handler,
      { remainingTimeMs, onFailed: (_record, error) => errors.push(error) },
    );

    // THEN the record not started says why
    expect(ran).toEqual(['a1', 'a2']);
    expect(failedIds(response)).toEqual(['a3']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(OutOfTimeError);
    expect(errors[0]).toMatchObject({
      name: 'OutOfTimeError',
      message: 'not started: 0 ms left, under the 5000 ms reserve; redelivered',
    });
  });
});
