import { Logger } from '@aws-lambda-powertools/logger';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBBatchResponse, DynamoDBStreamEvent } from 'aws-lambda';
import { documentClient } from '../runtime/clients';
import { requiredEnv } from '../runtime/errors';
import { OutboxRelay } from '../runtime/relay/outbox-relay';
import { relayCandidates } from '../runtime/relay/stream-records';

const logger = new Logger({ serviceName: 'outbox-relay' });
const relay = new OutboxRelay({
  sqs: new SQSClient({}),
  dynamodb: documentClient(),
  queueUrl: requiredEnv('QUEUE_URL'),
  outboxTableName: requiredEnv('OUTBOX_TABLE_NAME'),
  onProblem: (problem) => logger.warn('relay problem', { ...problem }),
});

/** Outbox stream → FIFO queue. Failed records go back through the partial batch response. */
export const handler = async (event: DynamoDBStreamEvent): Promise<DynamoDBBatchResponse> => {
  const candidates = relayCandidates(event.Records);
  const result = await relay.relay(candidates);
  logger.info('relayed', {
    records: event.Records.length,
    sent: result.sent.length,
    failed: result.failed.length,
    notDeleted: result.notDeleted,
  });
  return { batchItemFailures: result.failed.map((candidate) => ({ itemIdentifier: candidate.recordId })) };
};
