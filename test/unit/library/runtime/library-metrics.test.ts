import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { describe, expect, it } from 'vitest';
import {
  libraryMetrics,
  METRICS_STACK_ENV,
  STACK_DIMENSION,
} from '../../../../functions/runtime/library-metrics';

describe('libraryMetrics', () => {
  it("publishes every metric with the function's stack as a dimension, beside its service", () => {
    // GIVEN
    const metrics = libraryMetrics('compensation-sweeper', { [METRICS_STACK_ENV]: 'OrdersProd' });

    // WHEN
    metrics.addMetric('OutboxFailed', MetricUnit.Count, 1);
    const emf = metrics.serializeMetrics();

    // THEN
    const [directive] = emf._aws.CloudWatchMetrics;
    expect(directive?.Namespace).toBe('ReliableMessaging');
    expect(directive?.Dimensions[0]).toEqual(expect.arrayContaining(['service', STACK_DIMENSION]));
    expect(emf.service).toBe('compensation-sweeper');
    expect(emf[STACK_DIMENSION]).toBe('OrdersProd');
  });

  it('takes the namespace from the environment when it names one', () => {
    // GIVEN
    const metrics = libraryMetrics('inbox-monitor', {
      [METRICS_STACK_ENV]: 'A',
      METRICS_NAMESPACE: 'Custom',
    });

    // WHEN
    metrics.addMetric('ParkedKeys', MetricUnit.Count, 0);
    const emf = metrics.serializeMetrics();

    // THEN
    expect(emf._aws.CloudWatchMetrics[0]?.Namespace).toBe('Custom');
  });

  it('fails if the stack name is not set: its metrics would never reach the stack’s alarms', () => {
    // WHEN / THEN
    expect(() => libraryMetrics('inbox-monitor', {})).toThrow(/METRICS_STACK_NAME/);
  });
});
