import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient } from '../runtime/clients';
import { type InboxReport, inspectInbox } from '../runtime/consumer/inbox-monitor';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { libraryMetrics } from '../runtime/library-metrics';
import { INBOX_MONITOR_COMPLETED_METRIC } from '../runtime/metric-names';

const logger = new Logger({ serviceName: 'inbox-monitor' });
const metrics = libraryMetrics('inbox-monitor');
const dynamodb = documentClient();
const inboxTableName = requiredEnv(Env.INBOX_TABLE_NAME);

/**
 * Scheduled: publishes how long gaps have been open and what is parked, for the alarms, and the
 * `InboxMonitorCompleted` heartbeat, whose absence alarms (a dead monitor publishes nothing, and its gap and parked-key
 * alarms keep their state).
 */
export const handler = async (): Promise<InboxReport> => {
  const report = await inspectInbox(dynamodb, inboxTableName);
  metrics.addMetric('HeldMessages', MetricUnit.Count, report.heldMessages);
  metrics.addMetric('OldestHeldAgeSeconds', MetricUnit.Seconds, report.oldestHeldAgeSeconds);
  metrics.addMetric('ParkedMessages', MetricUnit.Count, report.parkedMessages);
  metrics.addMetric('ParkedKeys', MetricUnit.Count, report.parkedKeys);
  metrics.addMetric(INBOX_MONITOR_COMPLETED_METRIC, MetricUnit.Count, 1);
  metrics.publishStoredMetrics();
  logger.info('inbox inspected', { ...report });
  return report;
};
