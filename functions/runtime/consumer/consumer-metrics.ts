import { type CountMetrics, emfCountMetrics } from '../count-metrics';
import { CONSUMER_METRICS_SERVICE } from '../metric-names';
import { metricsOptionsFromEnvironment } from '../metrics-options';

/**
 * The counts a consumer handler publishes (`UnreadableMessages`, `KeysParked`), as EMF lines, where the stack's
 * alarms look: namespace `METRICS_NAMESPACE` (default `ReliableMessaging`), dimensions `service` =
 * `idempotent-consumer` (`CONSUMER_METRICS_SERVICE`) and `stack` = `METRICS_STACK_NAME` — both set by the
 * `IdempotentConsumer` construct. Throws a `ConfigurationError` when `METRICS_STACK_NAME` is not set.
 */
export function consumerMetricsFromEnvironment(
  env: Readonly<Record<string, string | undefined>> = process.env,
  write?: (line: string) => void,
): CountMetrics {
  return emfCountMetrics(metricsOptionsFromEnvironment(CONSUMER_METRICS_SERVICE, env), write);
}
