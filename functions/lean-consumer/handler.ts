import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { unitAccountantFromEnvironment } from '../runtime/accounting/unit-accounting';
import { documentClient } from '../runtime/clients';
import { processFifoBatch } from '../runtime/consumer/fifo-batch';
import { IdempotentOrderedConsumer } from '../runtime/consumer/idempotent-ordered-consumer';
import { resendToContinue } from '../runtime/consumer/release-continuation';
import { requiredEnv } from '../runtime/errors';
import { parseEnvelope } from '../runtime/outbox/outbox-message';

/**
 * FOR BENCHMARKS ONLY (the LeanBenchPipeline construct): the consumer in its leanest configuration. Its one effect
 * is a per-key view (the key's latest message) kept on the item that is also the key's cursor, so an in-order
 * message costs one conditional UpdateItem and no read; duplicates, gaps and parking work as everywhere else.
 */
const logger = new Logger({ serviceName: 'lean-consumer' });
const dynamodbClient = new DynamoDBClient({});
const accountant = unitAccountantFromEnvironment('lean-consumer');
accountant?.instrumentDynamoDb(dynamodbClient);
const viewTableName = requiredEnv('VIEW_TABLE_NAME');

const consumer = new IdempotentOrderedConsumer({
  dynamodb: documentClient(dynamodbClient),
  inboxTableName: requiredEnv('INBOX_TABLE_NAME'),
  retentionSeconds: Number(requiredEnv('INBOX_RETENTION_SECONDS')),
  claimSeconds: Number(requiredEnv('INBOX_CLAIM_SECONDS')),
  parkAfterFailures: Number(requiredEnv('PARK_AFTER_FAILURES')),
  continueRelease: resendToContinue(new SQSClient({}), requiredEnv('QUEUE_URL')),
  effects: [],
  cursor: { tableName: viewTableName, key: (groupKey) => ({ pk: groupKey }) },
  cursorEffect: {
    name: 'latest',
    attributes: (message) => ({ latestType: message.type, latestMessageId: message.messageId }),
  },
  onParked: async (parked) => logger.error('key parked', { ...parked }),
});

async function consumeRecord(record: SQSRecord, context: Context): Promise<void> {
  const message = parseEnvelope(record.body);
  // Transient failures are retried in-process, within the time this invocation has left.
  const result = await consumer.consume(message, {
    remainingTimeMs: () => context.getRemainingTimeInMillis(),
  });
  logger.info('consumed', {
    messageId: message.messageId,
    sequence: message.sequence,
    outcome: result.outcome,
  });
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const response = await processFifoBatch(
    event,
    (record) => consumeRecord(record, context),
    (record, error) => logger.warn('record failed', { messageId: record.messageId, error: error as Error }),
  );
  if (accountant !== undefined) {
    logger.info('unit accounting', { unitAccounting: accountant.take(), records: event.Records.length });
  }
  return response;
};
