import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';

/** The CloudWatch namespace of the metrics the library's functions publish (EMF, through Powertools Metrics). */
export const METRICS_NAMESPACE = 'ReliableMessaging';

/** A metric one of the library's functions publishes, by its service name: per minute, the maximum by default. */
export function libraryMetric(
  service: string,
  metricName: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
    statistic: 'Maximum',
    period: Duration.minutes(1),
    ...props,
  });
}
