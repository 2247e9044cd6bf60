import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { documentClient } from '../runtime/clients';
import { type InboxReport, inspectInbox } from '../runtime/consumer/inbox-monitor';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { injectAmbiguousWrites } from '../runtime/faults/ambiguous-writes';
import { faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { libraryMetrics } from '../runtime/library-metrics';
import { INBOX_MONITOR_COMPLETED_METRIC, InboxMonitorMetric, MetricsService } from '../runtime/metric-names';

const logger = new Logger({ serviceName: MetricsService.INBOX_MONITOR });
const metrics = libraryMetrics(MetricsService.INBOX_MONITOR);
const dynamodbClient = new DynamoDBClient({});
// Fault injection exists only in test builds (see the relay's handler). The monitor reads; should it ever write,
// its writes lose their answers like every other function's.
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  injectAmbiguousWrites(dynamodbClient, faultSourceFromEnvironment());
}
const dynamodb = documentClient(dynamodbClient);
const inboxTableName = requiredEnv(Env.INBOX_TABLE_NAME);

/**
 * Scheduled: publishes how long gaps have been open and what is parked, for the alarms, and the
 * `InboxMonitorCompleted` heartbeat, whose absence alarms (a dead monitor publishes nothing, and its gap and parked-key
 * alarms keep their state).
 */
export const handler = async (): Promise<InboxReport> => {
  const report = await inspectInbox(dynamodb, inboxTableName);
  metrics.addMetric(InboxMonitorMetric.HELD_MESSAGES, MetricUnit.Count, report.heldMessages);
  metrics.addMetric(
    InboxMonitorMetric.OLDEST_HELD_AGE_SECONDS,
    MetricUnit.Seconds,
    report.oldestHeldAgeSeconds,
  );
  metrics.addMetric(InboxMonitorMetric.PARKED_MESSAGES, MetricUnit.Count, report.parkedMessages);
  metrics.addMetric(InboxMonitorMetric.PARKED_KEYS, MetricUnit.Count, report.parkedKeys);
  metrics.addMetric(INBOX_MONITOR_COMPLETED_METRIC, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.info('inbox inspected', { ...report });
  return report;
};
