import { describe, expect, it } from 'vitest';
import { LATENCY_EDGES_MS, latencyHistogram } from '../../../bench/measure/latency-histogram';

describe("the bench's latency histogram", () => {
  it('counts each sample in the bucket [from, to) it falls in, from the lowest to the highest non-empty bucket', () => {
    expect(latencyHistogram([120, 450], [0, 50, 100, 200, 300, 500, 750])).toEqual([
      { fromMs: 100, toMs: 200, count: 1 },
      { fromMs: 200, toMs: 300, count: 0 },
      { fromMs: 300, toMs: 500, count: 1 },
    ]);
    expect(latencyHistogram([0, 49, 50, 99, 100, 250], [0, 50, 100, 200, 300, 500])).toEqual([
      { fromMs: 0, toMs: 50, count: 2 },
      { fromMs: 50, toMs: 100, count: 2 },
      { fromMs: 100, toMs: 200, count: 1 },
      { fromMs: 200, toMs: 300, count: 1 },
    ]);
  });

  it('puts everything from the last edge up into the last, open bucket', () => {
    const histogram = latencyHistogram([10, 65_000, 90_000]);
    expect(histogram.at(-1)).toEqual({ fromMs: LATENCY_EDGES_MS.at(-1), toMs: null, count: 2 });
    expect(histogram.reduce((sum, bucket) => sum + bucket.count, 0)).toBe(3);
  });

  it('is empty for no samples', () => {
    expect(latencyHistogram([])).toEqual([]);
  });
});
