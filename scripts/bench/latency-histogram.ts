/** One bar of a latency histogram: samples in [fromMs, toMs); the last bar has no upper edge (toMs null). */
export interface LatencyBucket {
  readonly fromMs: number;
  readonly toMs: number | null;
  readonly count: number;
}

/** The bucket edges, in ms: finer where the pipeline's latencies usually are, coarser in the tail. */
export const LATENCY_EDGES_MS = [
  0, 50, 100, 200, 300, 500, 750, 1000, 1500, 2000, 3000, 5000, 10_000, 30_000,
];

/**
 * Counts samples per bucket of `edges` (ascending, from 0); the last bucket holds everything from the last edge up.
 * Buckets after the highest non-empty one are left out; none for no samples.
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
  let last = counts.length - 1;
  while (last >= 0 && counts[last] === 0) last--;
  return counts.slice(0, last + 1).map((count, i) => ({
    fromMs: edges[i]!,
    toMs: i + 1 < edges.length ? edges[i + 1]! : null,
    count,
  }));
}
