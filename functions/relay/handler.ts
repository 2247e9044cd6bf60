import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { unitAccountantFromEnvironment } from '../runtime/accounting/unit-accounting';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { injectAmbiguousWrites } from '../runtime/faults/ambiguous-writes';
import { type FaultSource, faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { dropSkippedRecords, relayFaultHooks } from '../runtime/faults/relay-faults';
import { injectSendFaults, injectServiceFaults, injectThrottling } from '../runtime/faults/service-faults';
import { OutboxPublisher, type RelayHooks, type RelayProblem } from '../runtime/relay/outbox-publisher';
import { relayCandidates } from '../runtime/relay/stream-records';

const logger = new Logger({ serviceName: 'outbox-relay' });
const queueUrl = requiredEnv(Env.QUEUE_URL);
const sqs = new SQSClient({});
const dynamodbClient = new DynamoDBClient({});
const accountant = unitAccountantFromEnvironment('relay');
accountant?.instrumentDynamoDb(dynamodbClient);
accountant?.instrumentSqs(sqs);
// Fault injection exists only in test builds: in any other bundle FAULT_INJECTION_ENABLED is `false` and every
// block guarded by it, with the fault code it calls, is removed by the bundler.
let faults: FaultSource | undefined;
let hooks: RelayHooks | undefined;
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  faults = faultSourceFromEnvironment();
  injectSendFaults(sqs, faults);
  injectThrottling(sqs, faults);
  injectThrottling(dynamodbClient, faults);
  injectServiceFaults(sqs, faults);
  injectServiceFaults(dynamodbClient, faults);
  injectAmbiguousWrites(dynamodbClient, faults);
  hooks = relayFaultHooks(faults, sqs, queueUrl);
}
/** Problems of the current invocation, by kind (one invocation at a time per instance). */
let problemCounts: Partial<Record<RelayProblem['kind'], number>> = {};
const relay = new OutboxPublisher({
  sqs,
  dynamodb: documentClient(dynamodbClient),
  queueUrl,
  outboxTableName: requiredEnv(Env.OUTBOX_TABLE_NAME),
  onProblem: (problem) => {
    problemCounts[problem.kind] = (problemCounts[problem.kind] ?? 0) + 1;
    logger.warn('relay problem', { ...problem });
  },
  hooks,
  transientRetry: {
    onRetry: (error, attempt, delayMs) =>
      logger.warn('transient failure; retrying in-process', { attempt, delayMs, error: error as Error }),
  },
});

/**
 * Outbox stream → FIFO queue. Failed records go back through the partial batch response, and are marked for the
 * sweep (`marked`; `markFailed` counts marks that failed, left to the sweeper's outbox audit).
 */
export const handler = async (
  event: DynamoDBStreamEvent,
  context: Context,
): Promise<DynamoDBBatchResponse> => {
  problemCounts = {};
  let candidates = relayCandidates(event.Records);
  if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
    const { kept, dropped } = await dropSkippedRecords(faults, candidates);
    if (dropped.length > 0)
      logger.warn('injected fault: records dropped unprocessed', { count: dropped.length });
    candidates = kept;
  }
  // Transient failures of the sends and deletes are retried in-process, within the time this invocation has left.
  const result = await relay.relay(candidates, { remainingTimeMs: () => context.getRemainingTimeInMillis() });
  logger.info('relayed', {
    records: event.Records.length,
    sent: result.sent.length,
    failed: result.failed.length,
    notDeleted: result.notDeleted,
    // Not sent and now in the sweep's index; a mark that failed is left to the sweeper's outbox audit.
    marked: result.marked,
    markFailed: problemCounts['mark-failed'] ?? 0,
  });
  if (accountant !== undefined) logger.info('unit accounting', { unitAccounting: accountant.take() });
  return { batchItemFailures: result.failed.map((candidate) => ({ itemIdentifier: candidate.recordId })) };
};
