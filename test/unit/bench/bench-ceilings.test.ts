import { describe, expect, it } from 'vitest';
import { ceilingRatio } from '../../../bench/measure/ceilings';

describe("a pipeline's rate against the machine's ceiling", () => {
  it('takes the raw consumer as the ceiling when it is slower than the raw API', () => {
    // GIVEN a machine whose trivial consumer drains 170 msg/s and whose API serves 400 req/s
    // WHEN the lean pipeline drained 102 msg/s
    const ceiling = ceilingRatio(102, 400, 170);
    // THEN it is compared with the consumer's 170
    expect(ceiling).toEqual({ ceilingPerSecond: 170, boundBy: 'consumer', ratio: 0.6 });
  });

  it('takes the raw API as the ceiling when it is the slower', () => {
    // WHEN
    const ceiling = ceilingRatio(45, 90, 170);
    // THEN
    expect(ceiling).toEqual({ ceilingPerSecond: 90, boundBy: 'api', ratio: 0.5 });
  });

  it('rounds the ratio to three decimals', () => {
    expect(ceilingRatio(1, 3, 3).ratio).toBe(0.333);
  });

  it.each([
    ['throughputPerSecond', [0, 100, 100]],
    ['rawApiPerSecond', [50, Number.NaN, 100]],
    ['rawConsumerPerSecond', [50, 100, -1]],
    ['rawConsumerPerSecond', [50, 100, Number.POSITIVE_INFINITY]],
  ] as const)('fails if %s is not a positive finite rate', (name, [throughput, api, consumer]) => {
    // WHEN / THEN: no ratio is reported that nothing measured
    expect(() => ceilingRatio(throughput, api, consumer)).toThrow(name);
  });
});
