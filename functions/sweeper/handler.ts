import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context } from 'aws-lambda';
import { unitAccountantFromEnvironment } from '../runtime/accounting/unit-accounting';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { injectAmbiguousWrites } from '../runtime/faults/ambiguous-writes';
import { faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { injectSendFaults, injectServiceFaults, injectThrottling } from '../runtime/faults/service-faults';
import { libraryMetrics } from '../runtime/library-metrics';
import { ALERT_PUBLISH_FAILURES_METRIC } from '../runtime/metric-names';
import { OutboxPublisher } from '../runtime/relay/outbox-publisher';
import { OutboxSweeper, SweepFailedError, type SweepReport } from '../runtime/sweeper/outbox-sweeper';

const logger = new Logger({ serviceName: 'compensation-sweeper' });
const metrics = libraryMetrics('compensation-sweeper');
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
  injectServiceFaults(sqs, faults);
  injectServiceFaults(dynamodbClient, faults);
  injectAmbiguousWrites(dynamodbClient, faults);
}
const dynamodb = documentClient(dynamodbClient);
const outboxTableName = requiredEnv(Env.OUTBOX_TABLE_NAME);
const numberFromEnv = (name: string): number | undefined =>
  process.env[name] === undefined ? undefined : Number(process.env[name]);

const sweeper = new OutboxSweeper({
  dynamodb,
  sns: new SNSClient({}),
  relay: new OutboxPublisher({
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
  onAlertFailed: (failed, error) =>
    logger.error('could not publish the alert of a FAILED outbox message', {
      ...failed,
      error: error as Error,
    }),
});

/**
 * Scheduled: re-send stale PENDING messages, give up loudly on exhausted ones, and publish the outbox's state. A run
 * stops before its timeout and the next one continues. Each run that ends without an error publishes the
 * `SweepCompleted` heartbeat, whose absence alarms; a run that could not sweep some keys still publishes what it saw,
 * then fails.
 */
export const handler = async (
  _event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<SweepReport> => {
  try {
    const report = await sweeper.sweep({ remainingTimeMs: runBudget(context) });
    metrics.addMetric('SweepCompleted', MetricUnit.Count, 1);
    publish(report);
    logger.info('swept', { ...report });
    return report;
  } catch (error) {
    if (error instanceof SweepFailedError) publish(error.report);
    throw error;
  } finally {
    if (accountant !== undefined) logger.info('unit accounting', { unitAccounting: accountant.take() });
  }
};

/** Time left for this run: until the invocation's timeout or the end of its schedule period, whichever is first. */
function runBudget(context: Pick<Context, 'getRemainingTimeInMillis'> | undefined): () => number {
  const runSeconds = numberFromEnv(Env.SWEEP_RUN_SECONDS);
  const runEnds = runSeconds === undefined ? Number.POSITIVE_INFINITY : Date.now() + runSeconds * 1000;
  return () =>
    Math.min(context?.getRemainingTimeInMillis() ?? Number.POSITIVE_INFINITY, runEnds - Date.now());
}

function publish(report: SweepReport): void {
  metrics.addMetric('OutboxPending', MetricUnit.Count, report.pending);
  metrics.addMetric('OutboxFailed', MetricUnit.Count, report.failed);
  metrics.addMetric('OldestPendingAgeSeconds', MetricUnit.Seconds, report.oldestPendingAgeSeconds);
  metrics.addMetric('SweepResent', MetricUnit.Count, report.resent);
  metrics.addMetric('SweepSendFailures', MetricUnit.Count, report.sendFailures);
  metrics.addMetric('SweepMarkedFailed', MetricUnit.Count, report.markedFailed);
  metrics.addMetric(ALERT_PUBLISH_FAILURES_METRIC, MetricUnit.Count, report.alertFailures);
  metrics.publishStoredMetrics();
}
