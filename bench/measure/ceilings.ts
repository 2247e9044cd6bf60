/** Which raw probe bounds a pipeline on this machine. */
export type CeilingBound = 'api' | 'consumer';

export interface Ceiling {
  /** min(rawApiPerSecond, rawConsumerPerSecond): no pipeline through the API and a consumer goes faster here. */
  readonly ceilingPerSecond: number;
  /** The probe that gave the ceiling (the API path's, or the consumer event source mapping's). */
  readonly boundBy: CeilingBound;
  /** throughputPerSecond ÷ ceilingPerSecond (target ≥ 0.6). */
  readonly ratio: number;
}

const round = (value: number) => Math.round(value * 1000) / 1000;

/**
 * A pipeline's rate against the ceiling of this machine: the lower of the API path's raw rate (a trivial function
 * behind the same gateway) and the consumer's (a trivial function on a FIFO queue with the same batch size, fed
 * directly). Fails on a rate that is not a positive finite number, rather than report a ratio nothing measured.
 */
export function ceilingRatio(
  throughputPerSecond: number,
  rawApiPerSecond: number,
  rawConsumerPerSecond: number,
): Ceiling {
  for (const [name, value] of [
    ['throughputPerSecond', throughputPerSecond],
    ['rawApiPerSecond', rawApiPerSecond],
    ['rawConsumerPerSecond', rawConsumerPerSecond],
  ] as const) {
    if (!Number.isFinite(value) || value <= 0) {
      throw new RangeError(`${name} must be a positive number of messages per second; got ${value}`);
    }
  }
  const boundBy: CeilingBound = rawConsumerPerSecond < rawApiPerSecond ? 'consumer' : 'api';
  const ceilingPerSecond = Math.min(rawApiPerSecond, rawConsumerPerSecond);
  return {
    ceilingPerSecond: round(ceilingPerSecond),
    boundBy,
    ratio: round(throughputPerSecond / ceilingPerSecond),
  };
}
