import { describe, expect, it } from 'vitest';
import { AWS_PRICES_USD } from '../../../bench/measure/aws-prices';
import {
  billedDuration,
  capacityUnits,
  floorUnitsPerMessage,
  percentile,
  perMessage,
  type UnitsPerMessage,
  usdPerMillion,
} from '../../../bench/measure/cost-model';

/** No units at all: each test adds the ones it is about. */
const NOTHING: UnitsPerMessage = {
  writeUnits: 0,
  readUnits: 0,
  sqsRequests: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  apiRequests: 0,
};

describe('the floor of this design', () => {
  it('is 2 WRU per producer transaction item, 1 for the outbox removal and 1 consumer write: 6 WRU, no reads', () => {
    // WHEN
    const floor = floorUnitsPerMessage();
    // THEN
    expect(floor).toEqual({
      writeUnits: 6,
      readUnits: 0,
      sqsRequests: 0.3,
      lambdaInvocations: 1.2,
      lambdaGbSeconds: 0,
      apiRequests: 1,
    });
    expect(capacityUnits(floor)).toBe(6);
  });

  it('follows the batch sizes: unbatched SQS calls and invocations cost one each per message', () => {
    const floor = floorUnitsPerMessage({
      producerTransactionItems: 3,
      sqsBatchSize: 1,
      invocationBatchSize: 1,
    });
    expect(floor).toEqual({
      writeUnits: 8,
      readUnits: 0,
      sqsRequests: 3,
      lambdaInvocations: 3,
      lambdaGbSeconds: 0,
      apiRequests: 1,
    });
  });
});

describe('usdPerMillion', () => {
  it('prices each unit at the list price', () => {
    // GIVEN one of each unit per message
    const units = {
      ...NOTHING,
      writeUnits: 1,
      readUnits: 1,
      sqsRequests: 1,
      lambdaInvocations: 1,
      apiRequests: 1,
    };
    // THEN a million messages cost the sum of the per-million prices
    const p = AWS_PRICES_USD;
    const expected =
      p.dynamodbWriteUnitPerMillion +
      p.dynamodbReadUnitPerMillion +
      p.sqsFifoRequestPerMillion +
      p.lambdaRequestPerMillion +
      p.httpApiRequestPerMillion;
    expect(usdPerMillion(units)).toBeCloseTo(expected, 6);
  });

  it('is 0 for nothing', () => {
    expect(usdPerMillion(NOTHING)).toBe(0);
  });

  it('scales with the write units', () => {
    expect(usdPerMillion({ ...NOTHING, writeUnits: 6 })).toBeCloseTo(
      6 * AWS_PRICES_USD.dynamodbWriteUnitPerMillion,
      6,
    );
  });

  it('prices Lambda duration per GB-second: a million messages of 0.01 GB-s each cost 10,000 GB-s', () => {
    expect(usdPerMillion({ ...NOTHING, lambdaGbSeconds: 0.01 })).toBeCloseTo(
      10_000 * AWS_PRICES_USD.lambdaArmGbSecond,
      6,
    );
  });
});

describe('billedDuration', () => {
  it('sums the text REPORT lines: billed ms × memory', () => {
    // GIVEN two invocations of a 512 MB function, billed 100 ms and 300 ms, among other lines
    const lines = [
      'START RequestId: a Version: $LATEST',
      '{"level":"INFO","message":"consumed"}',
      'REPORT RequestId: a\tDuration: 99.2 ms\tBilled Duration: 100 ms\tMemory Size: 512 MB\tMax Memory Used: 80 MB',
      'REPORT RequestId: b\tDuration: 299.1 ms\tBilled Duration: 300 ms\tMemory Size: 512 MB\tMax Memory Used: 81 MB',
    ];
    // THEN 0.4 s × 0.5 GB = 0.2 GB-s over 2 invocations
    const billed = billedDuration(lines);
    expect(billed.invocations).toBe(2);
    expect(billed.gbSeconds).toBeCloseTo(0.2, 9);
  });

  it('reads the platform.report records of JSON logging', () => {
    const line = JSON.stringify({
      time: '2026-11-29T12:00:00.000Z',
      type: 'platform.report',
      record: { requestId: 'a', metrics: { durationMs: 9.5, billedDurationMs: 10, memorySizeMB: 1024 } },
    });
    expect(billedDuration([line])).toEqual({ invocations: 1, gbSeconds: 0.01 });
  });

  it('ignores lines that only look alike', () => {
    expect(
      billedDuration([
        'REPORT something else',
        '{"type":"platform.start","record":{}}',
        '{"message":"platform.report is a word here"}',
      ]),
    ).toEqual({ invocations: 0, gbSeconds: 0 });
  });
});

describe('percentile', () => {
  it('takes the nearest rank', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(percentile(samples, 50)).toBe(50);
    expect(percentile(samples, 95)).toBe(95);
    expect(percentile(samples, 99)).toBe(99);
    expect(percentile(samples, 100)).toBe(100);
  });

  it('is 0 without samples and the only value with one', () => {
    expect(percentile([], 99)).toBe(0);
    expect(percentile([42], 50)).toBe(42);
  });
});

describe('perMessage', () => {
  it('divides what a component was counted and billed for by the messages, adding the service-made requests', () => {
    // GIVEN a consumer that served 100 messages in 10 batches: 100 WRU, 10 RRU, no SQS calls of its own, 2 GB-s
    const units = perMessage({ writeUnits: 100, readUnits: 10, sqsBilledRequests: 0 }, 100, {
      invocations: 10,
      gbSeconds: 2,
      serviceSqsRequests: 20,
    });
    // THEN
    expect(units).toEqual({
      writeUnits: 1,
      readUnits: 0.1,
      sqsRequests: 0.2,
      lambdaInvocations: 0.1,
      lambdaGbSeconds: 0.02,
      apiRequests: 0,
    });
  });

  it('is all zeros for no messages rather than infinite', () => {
    expect(
      perMessage({ writeUnits: 5, readUnits: 0, sqsBilledRequests: 0 }, 0, { invocations: 1, gbSeconds: 1 }),
    ).toEqual(NOTHING);
  });
});
