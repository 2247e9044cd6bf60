import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { IConstruct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import { METRICS_NAMESPACE, METRICS_STACK_ENV, STACK_DIMENSION } from '../../functions/runtime/metric-names';

export { METRICS_NAMESPACE };

/**
 * A metric one of the library's functions publishes, by its service name, as the stack of `scope` publishes it
 * (dimensions `service` and `stack`, see `publishLibraryMetrics`): per minute, the maximum by default.
 */
export function libraryMetric(
  scope: IConstruct,
  service: string,
  metricName: string,
  props?: cloudwatch.MetricOptions,
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service, [STACK_DIMENSION]: Stack.of(scope).stackName },
    statistic: 'Maximum',
    period: Duration.minutes(1),
    ...props,
  });
}

/**
 * Tells `fn` where its library metrics go: the namespace, and its stack's name for the `stack` dimension (read by
 * the runtime's `libraryMetrics`), so that two stacks in one account and region never feed each other's alarms.
 */
export function publishLibraryMetrics(fn: lambda.Function): void {
  fn.addEnvironment(Env.METRICS_NAMESPACE, METRICS_NAMESPACE);
  fn.addEnvironment(METRICS_STACK_ENV, Stack.of(fn).stackName);
}
