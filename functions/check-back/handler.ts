import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SNSClient } from '@aws-sdk/client-sns';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { lambdaChecker } from '../runtime/half/lambda-checker';
import { type CheckBackReport, TransactionCheckBack } from '../runtime/half/transaction-check-back';
import { TransactionalProducer } from '../runtime/half/transactional-producer';

const logger = new Logger({ serviceName: 'transaction-check-back' });
const metrics = new Metrics({
  namespace: process.env[Env.METRICS_NAMESPACE] ?? 'ReliableMessaging',
  serviceName: 'transaction-check-back',
});
const dynamodb = documentClient();
const outboxTableName = requiredEnv(Env.OUTBOX_TABLE_NAME);
const checkerTimeoutMs = Number(process.env[Env.CHECKER_TIMEOUT_SECONDS] ?? '5') * 1000;
const intervalSeconds = Number(requiredEnv(Env.CHECK_INTERVAL_SECONDS));
const passes = Math.max(1, Number(process.env[Env.PASSES_PER_INVOCATION] ?? '1'));

const checkBack = new TransactionCheckBack({
  dynamodb,
  sns: new SNSClient({}),
  producer: new TransactionalProducer({ dynamodb, outboxTableName }),
  outboxTableName,
  alertTopicArn: requiredEnv(Env.ALERT_TOPIC_ARN),
  checker: lambdaChecker(
    // A checker that does not answer in time counts as UNKNOWN: no retries, a hard request timeout.
    new LambdaClient({
      maxAttempts: 1,
      requestHandler: new NodeHttpHandler({ requestTimeout: checkerTimeoutMs }),
    }),
    requiredEnv(Env.CHECKER_FUNCTION_NAME),
  ),
  policy: { checkIntervalSeconds: intervalSeconds, maxChecks: Number(requiredEnv(Env.MAX_CHECKS)) },
  onError: (transactionId, error) =>
    logger.warn('could not resolve a transaction', { transactionId, error: error as Error }),
  onFailed: (failed) => logger.error('transaction FAILED: the checker never gave an answer', { ...failed }),
});

/**
 * Scheduled: checks transactions left open. When the check interval is shorter than the schedule, one invocation
 * runs several passes, `interval` apart.
 */
export const handler = async (event?: { passes?: number }): Promise<CheckBackReport[]> => {
  const reports: CheckBackReport[] = [];
  // An operator (or a test) may ask for a single pass now: `{ "passes": 1 }`.
  const runs = typeof event?.passes === 'number' && event.passes >= 1 ? Math.floor(event.passes) : passes;
  for (let pass = 0; pass < runs; pass++) {
    if (pass > 0) await new Promise((resolve) => setTimeout(resolve, intervalSeconds * 1000));
    const report = await checkBack.checkOnce();
    reports.push(report);
    logger.info('checked open transactions', { ...report });
  }
  const last = reports[reports.length - 1]!;
  metrics.addMetric('OpenHalfMessages', MetricUnit.Count, last.open);
  metrics.addMetric('OldestHalfMessageAgeSeconds', MetricUnit.Seconds, last.oldestOpenAgeSeconds);
  metrics.addMetric(
    'HalfMessagesFailed',
    MetricUnit.Count,
    reports.reduce((sum, r) => sum + r.failed, 0),
  );
  metrics.publishStoredMetrics();
  return reports;
};
