import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { unitAccountantFromEnvironment } from '../runtime/accounting/unit-accounting';
import { documentClient } from '../runtime/clients';
import { Env } from '../runtime/environment';
import { requiredEnv } from '../runtime/errors';
import { injectAmbiguousWrites } from '../runtime/faults/ambiguous-writes';
import { type FaultSource, faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { dropSkippedRecords, relayFaultHooks } from '../runtime/faults/relay-faults';
import { injectSendFaults, injectServiceFaults, injectThrottling } from '../runtime/faults/service-faults';
import { MetricsService } from '../runtime/metric-names';
import { senderFromEnvironment } from '../runtime/relay/destination-from-environment';
import { OutboxPublisher, type RelayHooks, type RelayProblem } from '../runtime/relay/outbox-publisher';
import { relayedMessages } from '../runtime/relay/relayed-messages';
import { relayCandidates } from '../runtime/relay/stream-records';

const logger = new Logger({ serviceName: MetricsService.RELAY });
// The events topic when the pipeline fans out to consumer groups (TOPIC_ARN), else the channel's queue.
const sender = senderFromEnvironment();
const dynamodbClient = new DynamoDBClient({});
const accountant = unitAccountantFromEnvironment('relay');
accountant?.instrumentDynamoDb(dynamodbClient);
if (sender.kind === 'topic') accountant?.instrumentSns(sender.client);
else accountant?.instrumentSqs(sender.client);
// Fault injection exists only in test builds: in any other bundle FAULT_INJECTION_ENABLED is `false` and every
// block guarded by it, with the fault code it calls, is removed by the bundler.
let faults: FaultSource | undefined;
let hooks: RelayHooks | undefined;
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  faults = faultSourceFromEnvironment();
  injectSendFaults(sender.client, faults);
  injectThrottling(sender.client, faults);
  injectThrottling(dynamodbClient, faults);
  injectServiceFaults(sender.client, faults);
  injectServiceFaults(dynamodbClient, faults);
  injectAmbiguousWrites(dynamodbClient, faults);
  hooks = relayFaultHooks(faults, sender.destination);
}
/** Problems of the current invocation, by kind (one invocation at a time per instance). */
let problemCounts: Partial<Record<RelayProblem['kind'], number>> = {};
const relay = new OutboxPublisher({
  destination: sender.destination,
  dynamodb: documentClient(dynamodbClient),
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
 * Outbox stream → FIFO queue, or FIFO topic (`TOPIC_ARN`). One `relayed` line per invocation names the messages
 * sent and failed with their `messageId` and `traceparent` (at most 50, failures first). Failed records go back through the partial batch response, and are marked for the
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
    destination: sender.kind,
    ...relayedMessages(result),
  });
  if (accountant !== undefined) logger.info('unit accounting', { unitAccounting: accountant.take() });
  return { batchItemFailures: result.failed.map((candidate) => ({ itemIdentifier: candidate.recordId })) };
};
