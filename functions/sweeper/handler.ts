import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context } from 'aws-lambda';
import { unitAccountantFromEnvironment } from '../runtime/accounting/unit-accounting';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { injectAmbiguousWrites } from '../runtime/faults/ambiguous-writes';
import { faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { injectSendFaults, injectServiceFaults, injectThrottling } from '../runtime/faults/service-faults';
import { libraryMetrics } from '../runtime/library-metrics';
import { ALERT_PUBLISH_FAILURES_METRIC, MetricsService, SweeperMetric } from '../runtime/metric-names';
import { senderFromEnvironment } from '../runtime/relay/destination-from-environment';
import { OutboxPublisher } from '../runtime/relay/outbox-publisher';
import { relayedMessages } from '../runtime/relay/relayed-messages';
import { OutboxAudit, type OutboxAuditReport } from '../runtime/sweeper/outbox-audit';
import { OutboxSweeper, SweepFailedError, type SweepReport } from '../runtime/sweeper/outbox-sweeper';
import { auditBeforeSweep, auditPolicyFromEnvironment } from './audit-before-sweep';

const logger = new Logger({ serviceName: MetricsService.SWEEPER });
const metrics = libraryMetrics(MetricsService.SWEEPER);
// The events topic when the pipeline fans out to consumer groups (TOPIC_ARN), else the channel's queue. Its client
// is not the alerts' (a send fault must not fail an alert).
const sender = senderFromEnvironment();
const dynamodbClient = new DynamoDBClient({});
const accountant = unitAccountantFromEnvironment('sweeper');
accountant?.instrumentDynamoDb(dynamodbClient);
if (sender.kind === 'topic') accountant?.instrumentSns(sender.client);
else accountant?.instrumentSqs(sender.client);
// Fault injection exists only in test builds (see the relay's handler).
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  const faults = faultSourceFromEnvironment();
  injectSendFaults(sender.client, faults);
  injectThrottling(sender.client, faults);
  injectThrottling(dynamodbClient, faults);
  injectServiceFaults(sender.client, faults);
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
    destination: sender.destination,
    dynamodb,
    outboxTableName,
    onProblem: (problem) => logger.warn('send problem', { ...problem }),
    // One line per batch (≤ 10 messages of one key): what the sweep re-sent or failed, with the correlation ids.
    onRelayed: (result) =>
      logger.info('resent', {
        destination: sender.kind,
        sent: result.sent.length,
        failed: result.failed.length,
        ...relayedMessages(result),
      }),
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

// Finds the PENDING messages nobody marked for the sweep (never relayed, or sent and not deleted).
const audit = new OutboxAudit({ dynamodb, outboxTableName, policy: auditPolicyFromEnvironment() });

/** A sweep run's report, with the outbox audit's that ran before it. */
export interface AuditedSweepReport extends SweepReport {
  readonly audit: OutboxAuditReport;
}

/**
 * Scheduled: first audit the outbox (at most once per `SWEEP_AUDIT_INTERVAL_SECONDS`, within half of the run's
 * time) and mark for the sweep what nobody marked; then re-send stale PENDING messages, give up loudly on exhausted ones, and publish the outbox's state. A run
 * stops before its timeout and the next one continues. Each run that ends without an error publishes the
 * `SweepCompleted` heartbeat, whose absence alarms; a run that could not sweep some keys still publishes what it saw,
 * then fails; so does a run whose audit failed (after sweeping), without the heartbeat.
 */
export const handler = async (
  _event?: unknown,
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<AuditedSweepReport> => {
  const remainingTimeMs = runBudget(context);
  const audited = await auditBeforeSweep(audit, remainingTimeMs);
  if (audited.error !== undefined)
    logger.error('the outbox audit failed; sweeping what is marked', { error: audited.error as Error });
  try {
    const report = await sweeper.sweep({ remainingTimeMs });
    if (audited.error === undefined) metrics.addMetric(SweeperMetric.SWEEP_COMPLETED, MetricUnit.Count, 1);
    publish(report, audited.report);
    logger.info('swept', { ...report, audit: audited.report });
    if (audited.error !== undefined) throw audited.error;
    return { ...report, audit: audited.report };
  } catch (error) {
    if (error instanceof SweepFailedError) publish(error.report, audited.report);
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

function publish(report: SweepReport, audit: OutboxAuditReport): void {
  if (audit.audited) {
    // The audit's heartbeat: an audit that read the whole outbox. What it marked, nobody else had (see OutboxAudit).
    if (audit.complete) metrics.addMetric(SweeperMetric.OUTBOX_AUDIT_COMPLETED, MetricUnit.Count, 1);
    metrics.addMetric(SweeperMetric.OUTBOX_AUDIT_MARKED, MetricUnit.Count, audit.marked);
    metrics.addMetric(SweeperMetric.OUTBOX_AUDIT_SCANNED, MetricUnit.Count, audit.scanned);
    metrics.addMetric(SweeperMetric.OUTBOX_AUDIT_READ_UNITS, MetricUnit.Count, audit.readCapacityUnits);
  }
  metrics.addMetric(SweeperMetric.OUTBOX_PENDING, MetricUnit.Count, report.pending);
  metrics.addMetric(SweeperMetric.OUTBOX_FAILED, MetricUnit.Count, report.failed);
  metrics.addMetric(
    SweeperMetric.OLDEST_PENDING_AGE_SECONDS,
    MetricUnit.Seconds,
    report.oldestPendingAgeSeconds,
  );
  metrics.addMetric(SweeperMetric.SWEEP_RESENT, MetricUnit.Count, report.resent);
  metrics.addMetric(SweeperMetric.SWEEP_SEND_FAILURES, MetricUnit.Count, report.sendFailures);
  metrics.addMetric(SweeperMetric.SWEEP_MARKED_FAILED, MetricUnit.Count, report.markedFailed);
  metrics.addMetric(ALERT_PUBLISH_FAILURES_METRIC, MetricUnit.Count, report.alertFailures);
  metrics.publishStoredMetrics();
}
