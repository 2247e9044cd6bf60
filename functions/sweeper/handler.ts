import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { unitAccountantFromEnvironment } from '../runtime/accounting/unit-accounting';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { injectSendFaults, injectThrottling } from '../runtime/faults/service-faults';
import { OutboxRelay } from '../runtime/relay/outbox-relay';
import { CompensationSweeper, type SweepReport } from '../runtime/sweeper/compensation-sweeper';

const logger = new Logger({ serviceName: 'compensation-sweeper' });
const metrics = new Metrics({
  namespace: process.env[Env.METRICS_NAMESPACE] ?? 'ReliableMessaging',
  serviceName: 'compensation-sweeper',
});
const sqs = new SQSClient({});
const dynamodbClient = new DynamoDBClient({});
const accountant = unitAccountantFromEnvironment('sweeper');
accountant?.instrumentDynamoDb(dynamodbClient);
accountant?.instrumentSqs(sqs);
// Fault injection exists only in test builds (see the relay's handler).
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  const faults = faultSourceFromEnvironment();
  injectSendFaults(sqs, faults);
  injectThrottling(sqs, faults);
  injectThrottling(dynamodbClient, faults);
}
const dynamodb = documentClient(dynamodbClient);
const outboxTableName = requiredEnv(Env.OUTBOX_TABLE_NAME);
const numberFromEnv = (name: string): number | undefined =>
  process.env[name] === undefined ? undefined : Number(process.env[name]);

const sweeper = new CompensationSweeper({
  dynamodb,
  sns: new SNSClient({}),
  relay: new OutboxRelay({
    sqs,
    dynamodb,
    queueUrl: requiredEnv(Env.QUEUE_URL),
    outboxTableName,
    onProblem: (problem) => logger.warn('send problem', { ...problem }),
  }),
  outboxTableName,
  alertTopicArn: requiredEnv(Env.ALERT_TOPIC_ARN),
  policy: Object.fromEntries(
    Object.entries({
      gracePeriodSeconds: numberFromEnv(Env.SWEEP_GRACE_PERIOD_SECONDS),
      maxAttempts: numberFromEnv(Env.SWEEP_MAX_ATTEMPTS),
      maxAgeSeconds: numberFromEnv(Env.SWEEP_MAX_AGE_SECONDS),
      backoffBaseSeconds: numberFromEnv(Env.SWEEP_BACKOFF_BASE_SECONDS),
      backoffMaxSeconds: numberFromEnv(Env.SWEEP_BACKOFF_MAX_SECONDS),
      leaseSeconds: numberFromEnv(Env.SWEEP_LEASE_SECONDS),
    }).filter(([, value]) => value !== undefined),
  ),
  onFailed: (failed) => logger.error('outbox message FAILED: gave up re-sending it', { ...failed }),
});

/** Scheduled: re-send stale PENDING messages, give up loudly on exhausted ones, and publish the outbox's state. */
export const handler = async (): Promise<SweepReport> => {
  const report = await sweeper.sweep();
  metrics.addMetric('OutboxPending', MetricUnit.Count, report.pending);
  metrics.addMetric('OutboxFailed', MetricUnit.Count, report.failed);
  metrics.addMetric('OutboxPrepared', MetricUnit.Count, report.prepared);
  metrics.addMetric('OldestPendingAgeSeconds', MetricUnit.Seconds, report.oldestPendingAgeSeconds);
  metrics.addMetric('SweepResent', MetricUnit.Count, report.resent);
  metrics.addMetric('SweepSendFailures', MetricUnit.Count, report.sendFailures);
  metrics.addMetric('SweepMarkedFailed', MetricUnit.Count, report.markedFailed);
  metrics.publishStoredMetrics();
  logger.info('swept', { ...report });
  if (accountant !== undefined) logger.info('unit accounting', { unitAccounting: accountant.take() });
  return report;
};
