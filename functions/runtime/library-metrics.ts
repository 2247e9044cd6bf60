import { Metrics } from '@aws-lambda-powertools/metrics';
import { METRICS_NAMESPACE, METRICS_STACK_ENV, STACK_DIMENSION } from './metric-names';
import { metricsOptionsFromEnvironment } from './metrics-options';

// The names live apart from Powertools (metric-names.ts), so the constructs can share them without importing it.
export { METRICS_NAMESPACE, METRICS_STACK_ENV, STACK_DIMENSION };

/** The Powertools Metrics of one of the library's functions (see `metricsOptionsFromEnvironment`). */
export function libraryMetrics(serviceName: string, env: NodeJS.ProcessEnv = process.env): Metrics {
  return new Metrics({ ...metricsOptionsFromEnvironment(serviceName, env) });
}
