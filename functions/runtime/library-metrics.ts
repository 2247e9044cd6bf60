import { Metrics } from '@aws-lambda-powertools/metrics';
import { Env } from './environment';
import { requiredEnv } from './errors';
import { METRICS_NAMESPACE, METRICS_STACK_ENV, STACK_DIMENSION } from './metric-names';

// The names live apart from Powertools (metric-names.ts), so the constructs can share them without importing it.
export { METRICS_NAMESPACE, METRICS_STACK_ENV, STACK_DIMENSION };

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
