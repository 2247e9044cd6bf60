import { describe, expect, it } from 'vitest';
import { AWS_PRICES_USD } from '../../scripts/bench/aws-prices';
import {
  capacityUnits,
  floorUnitsPerMessage,
  percentile,
  usdPerMillion,
} from '../../scripts/bench/cost-model';

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
      apiRequests: 1,
    });
  });
});

describe('usdPerMillion', () => {
  it('prices each unit at the list price', () => {
    // GIVEN one of each unit per message
    const units = { writeUnits: 1, readUnits: 1, sqsRequests: 1, lambdaInvocations: 1, apiRequests: 1 };
    // THEN a million messages cost the sum of the per-million prices
    const expected = Object.values(AWS_PRICES_USD).reduce((sum, price) => sum + price, 0);
    expect(usdPerMillion(units)).toBeCloseTo(expected, 6);
  });

  it('is 0 for nothing', () => {
    expect(
      usdPerMillion({ writeUnits: 0, readUnits: 0, sqsRequests: 0, lambdaInvocations: 0, apiRequests: 0 }),
    ).toBe(0);
  });

  it('scales with the write units', () => {
    const base = { writeUnits: 0, readUnits: 0, sqsRequests: 0, lambdaInvocations: 0, apiRequests: 0 };
    expect(usdPerMillion({ ...base, writeUnits: 6 })).toBeCloseTo(
      6 * AWS_PRICES_USD.dynamodbWriteUnitPerMillion,
      6,
    );
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
