import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  boundedClientConfig,
  consumerOptionsFromEnvironment,
  documentClient,
  type FifoRecordContext,
  IdempotentOrderedConsumer,
  processFifoBatch,
  requiredEnv,
  unitAccountantFromEnvironment,
} from 'reliable-messaging-serverless/runtime';

/**
 * FOR BENCHMARKS ONLY (the LeanBenchPipeline construct): the consumer in its leanest configuration. Its one effect
 * is a per-key view (the key's latest message) kept on the item that is also the key's cursor, so an in-order
 * message costs one conditional UpdateItem and no read; duplicates, gaps and parking work as everywhere else.
 */
const logger = new Logger({ serviceName: 'lean-consumer' });
const dynamodbClient = new DynamoDBClient(boundedClientConfig());
const accountant = unitAccountantFromEnvironment('lean-consumer');
accountant?.instrumentDynamoDb(dynamodbClient);
const viewTableName = requiredEnv('VIEW_TABLE_NAME');
// What the IdempotentConsumer construct configured: the inbox, retention, claim, parking, its KeyParked alert.
const fromEnvironment = consumerOptionsFromEnvironment();

const consumer = new IdempotentOrderedConsumer({
  ...fromEnvironment,
  dynamodb: documentClient(dynamodbClient),
  effects: [],
  cursor: { tableName: viewTableName, key: (groupKey) => ({ pk: groupKey }) },
  cursorEffect: {
    name: 'latest',
    attributes: (message) => ({ latestType: message.type, latestMessageId: message.messageId }),
  },
  onUnreadable: (error) => logger.error('unreadable message: it goes to the dead-letter queue', { error }),
  onParked: async (parked) => {
    logger.error('key parked', { ...parked });
    await fromEnvironment.onParked(parked);
  },
});

async function consumeRecord(record: SQSRecord, time: FifoRecordContext): Promise<void> {
  // Transient failures are retried in-process, within the batch's time reserve.
  const result = await consumer.consumeBody(record.body, time);
  logger.info('consumed', {
    messageId: result.message.messageId,
    sequence: result.message.sequence,
    outcome: result.outcome,
  });
}

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const response = await processFifoBatch(
    event,
    (record, time) => consumeRecord(record, time),
    (record, error) => logger.warn('record failed', { messageId: record.messageId, error: error as Error }),
    // No record starts that could run into the timeout: a timeout would fail the records already done too.
    { remainingTimeMs: () => context.getRemainingTimeInMillis() },
  );
  if (accountant !== undefined) {
    logger.info('unit accounting', { unitAccounting: accountant.take(), records: event.Records.length });
  }
  return response;
};
