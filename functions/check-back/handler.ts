import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { Context } from 'aws-lambda';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { injectAmbiguousWrites } from '../runtime/faults/ambiguous-writes';
import { faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { lambdaChecker } from '../runtime/half/lambda-checker';
import { type CheckBackReport, OpenTransactionChecker } from '../runtime/half/open-transaction-checker';
import { TransactionalProducer } from '../runtime/half/transactional-producer';
import { libraryMetrics } from '../runtime/library-metrics';
import {
  ALERT_PUBLISH_FAILURES_METRIC,
  CheckBackMetric,
  FAILED_HALF_MESSAGES_METRIC,
  MetricsService,
} from '../runtime/metric-names';

const logger = new Logger({ serviceName: MetricsService.CHECK_BACK });
const metrics = libraryMetrics(MetricsService.CHECK_BACK);
const dynamodbClient = new DynamoDBClient({});
// Fault injection exists only in test builds (see the relay's handler).
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  injectAmbiguousWrites(dynamodbClient, faultSourceFromEnvironment());
}
const dynamodb = documentClient(dynamodbClient);
const outboxTableName = requiredEnv(Env.OUTBOX_TABLE_NAME);
// Half messages in a table of their own (unset or empty: in the outbox table, as stacks built before it).
const transactionTableName = process.env[Env.TRANSACTION_TABLE_NAME] || outboxTableName;
const checkerTimeoutMs = Number(process.env[Env.CHECKER_TIMEOUT_SECONDS] ?? '5') * 1000;
const intervalSeconds = Number(requiredEnv(Env.CHECK_INTERVAL_SECONDS));
const passes = Math.max(1, Number(process.env[Env.PASSES_PER_INVOCATION] ?? '1'));

const checkBack = new OpenTransactionChecker({
  dynamodb,
  sns: new SNSClient({}),
  producer: new TransactionalProducer({ dynamodb, outboxTableName, transactionTableName }),
  outboxTableName,
  transactionTableName,
  alertTopicArn: requiredEnv(Env.ALERT_TOPIC_ARN),
  checker: lambdaChecker(
    // A checker that does not answer in time counts as UNKNOWN: no retries, a hard request timeout.
    new LambdaClient({
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: checkerTimeoutMs }),
    }),
    requiredEnv(Env.CHECKER_FUNCTION_NAME),
    // Logged before the check counts as UNKNOWN: the error and its cause (a missing permission, a timeout, …).
    (problem) => logger.warn('checker gave no answer', { ...problem }),
  ),
  policy: { checkIntervalSeconds: intervalSeconds, maxChecks: Number(requiredEnv(Env.MAX_CHECKS)) },
  onError: (transactionId, error) =>
    logger.warn('could not resolve a transaction', { transactionId, error: error as Error }),
  onResolved: (resolved) => logger.info('transaction resolved', { ...resolved }),
  onFailed: (failed) => logger.error('transaction FAILED: the checker never gave an answer', { ...failed }),
  onAlertFailed: (failed, error) =>
    logger.error('could not publish the alert of a FAILED transaction', { ...failed, error: error as Error }),
});

/**
 * Scheduled: checks transactions left open. When the check interval is shorter than the schedule, one invocation
 * runs several passes, `interval` apart; a pass stops before the invocation's timeout and the next one continues.
 * Each pass that ends without an error counts in the `CheckBackCompleted` heartbeat, whose absence alarms.
 */
export const handler = async (
  event?: { passes?: number },
  context?: Pick<Context, 'getRemainingTimeInMillis'>,
): Promise<CheckBackReport[]> => {
  const reports: CheckBackReport[] = [];
  const remainingTimeMs = context && (() => context.getRemainingTimeInMillis());
  // An operator (or a test) may ask for a single pass now: `{ "passes": 1 }`.
  const runs = typeof event?.passes === 'number' && event.passes >= 1 ? Math.floor(event.passes) : passes;
  try {
    for (let pass = 0; pass < runs; pass++) {
      if (pass > 0) {
        if ((remainingTimeMs?.() ?? Number.POSITIVE_INFINITY) < intervalSeconds * 1000 + 15_000) break;
        await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000));
      }
      const report = await checkBack.checkOnce({ remainingTimeMs });
      reports.push(report);
      logger.info('checked open transactions', { ...report });
      if (!report.complete) break;
    }
  } finally {
    publish(reports);
  }
  return reports;
};

function publish(reports: readonly CheckBackReport[]): void {
  const last = reports.at(-1);
  if (last === undefined) return;
  metrics.addMetric(CheckBackMetric.CHECK_BACK_COMPLETED, MetricUnit.Count, reports.length);
  metrics.addMetric(CheckBackMetric.OPEN_HALF_MESSAGES, MetricUnit.Count, last.open);
  metrics.addMetric(
    CheckBackMetric.OLDEST_HALF_MESSAGE_AGE_SECONDS,
    MetricUnit.Seconds,
    last.oldestOpenAgeSeconds,
  );
  metrics.addMetric(
    CheckBackMetric.HALF_MESSAGES_FAILED,
    MetricUnit.Count,
    reports.reduce((sum, r) => sum + r.failed, 0),
  );
  metrics.addMetric(FAILED_HALF_MESSAGES_METRIC, MetricUnit.Count, last.failedOpen);
  metrics.addMetric(
    ALERT_PUBLISH_FAILURES_METRIC,
    MetricUnit.Count,
    reports.reduce((sum, r) => sum + r.alertFailures, 0),
  );
  metrics.publishStoredMetrics();
}
