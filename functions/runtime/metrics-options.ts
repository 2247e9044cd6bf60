import { Env } from './environment';
import { requiredEnv } from './errors';
import { METRICS_NAMESPACE, METRICS_STACK_ENV, STACK_DIMENSION } from './metric-names';

/** What a Powertools `Metrics` needs to publish where the stack's alarms and dashboard look. */
export interface MetricsOptions {
  readonly namespace: string;
  readonly serviceName: string;
  readonly defaultDimensions: Readonly<Record<string, string>>;
}

/**
 * The options of a function's metrics in a stack built with the library's constructs: `new Metrics(...)` of
 * `@aws-lambda-powertools/metrics` takes them as they are. Namespace `METRICS_NAMESPACE` (or the function's
 * `METRICS_NAMESPACE` environment variable), dimension `service` = `serviceName` and `stack` = the function's stack
 * (`METRICS_STACK_NAME`, required: a metric without it would never reach the stack's alarms).
 */
export function metricsOptionsFromEnvironment(
  serviceName: string,
  env: NodeJS.ProcessEnv = process.env,
): MetricsOptions {
  return {
    namespace: env[Env.METRICS_NAMESPACE] ?? METRICS_NAMESPACE,
    serviceName,
    defaultDimensions: { [STACK_DIMENSION]: requiredEnv(METRICS_STACK_ENV, env) },
  };
}
