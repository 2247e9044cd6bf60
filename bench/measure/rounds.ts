/** The median of several rounds of one measurement, with its spread. */
export interface RoundsSummary {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly rounds: number;
}

/**
 * Summarizes the rounds of a measurement that a loaded machine makes noisy: the median (the mean of the two middle
 * values for an even count), the smallest and the largest. Fails on no rounds or a value that is not a finite
 * number, rather than report a figure nothing measured.
 */
export function summarizeRounds(values: readonly number[]): RoundsSummary {
  if (values.length === 0) throw new RangeError('summarizeRounds needs at least one round; got none');
  const bad = values.find((value) => !Number.isFinite(value));
  if (bad !== undefined) throw new RangeError(`every round must be a finite number; got ${bad}`);
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]!, rounds: sorted.length };
}
