import { Metrics } from '@aws-lambda-powertools/metrics';
import { Env } from './environment';
import { requiredEnv } from './errors';

/** The CloudWatch namespace of the metrics the library's functions publish (EMF, through Powertools Metrics). */
export const METRICS_NAMESPACE = 'ReliableMessaging';

/**
 * The dimension that says which stack published a metric, beside Powertools' `service`: two stacks in one account
 * and region publish the same metric names, and each stack's alarms must see its own only.
 */
export const STACK_DIMENSION = 'stack';

/** The environment variable the constructs set to the function's stack name (the value of `STACK_DIMENSION`). */
export const METRICS_STACK_ENV = Env.METRICS_STACK_NAME;

/**
 * The Powertools Metrics of one of the library's functions: namespace `METRICS_NAMESPACE` (or `METRICS_NAMESPACE`
 * from the environment), dimension `service` = `serviceName` and `stack` = the stack the function belongs to
 * (`METRICS_STACK_NAME`, required: a metric without it would never reach the stack's alarms).
 */
export function libraryMetrics(serviceName: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  return new Metrics({
    namespace: env[Env.METRICS_NAMESPACE] ?? METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: { [STACK_DIMENSION]: requiredEnv(METRICS_STACK_ENV, env) },
  });
}
