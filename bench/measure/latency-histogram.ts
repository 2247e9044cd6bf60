/** One bar of a latency histogram: samples in [fromMs, toMs); the last bar has no upper edge (toMs null). */
export interface LatencyBucket {
  readonly fromMs: number;
  readonly toMs: number | null;
  readonly count: number;
}

/** The bucket edges, in ms: finer where the pipeline's latencies usually are, coarser in the tail. */
export const LATENCY_EDGES_MS = [
  0, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000,
];

/**
 * Counts samples per bucket of `edges` (ascending, from 0); the last bucket holds everything from the last edge up.
 * Only the buckets from the lowest to the highest non-empty one are kept; none for no samples.
 */
export function latencyHistogram(
  samples: readonly number[],
  edges: readonly number[] = LATENCY_EDGES_MS,
): LatencyBucket[] {
  const counts = edges.map(() => 0);
  for (const sample of samples) {
    let bucket = edges.length - 1;
    while (bucket > 0 && sample < edges[bucket]!) bucket--;
    counts[bucket]! += 1;
  }
  const first = counts.findIndex((count) => count > 0);
  if (first === -1) return [];
  let last = counts.length - 1;
  while (counts[last] === 0) last--;
  return counts.slice(first, last + 1).map((count, offset) => {
    const i = first + offset;
    return { fromMs: edges[i]!, toMs: i + 1 < edges.length ? edges[i + 1]! : null, count };
  });
}
