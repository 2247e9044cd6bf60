import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  boundedClientConfig,
  documentClient,
  fifoConsumerHandler,
  requiredEnv,
  unitAccountantFromEnvironment,
} from 'reliable-messaging-serverless/runtime';

/**
 * FOR BENCHMARKS ONLY (the LeanBenchPipeline construct): the consumer in its leanest configuration. Its one effect
 * is a per-key view (the key's latest message) kept on the item that is also the key's cursor, so an in-order
 * message costs one conditional UpdateItem and no read; duplicates, gaps and parking work as everywhere else.
 */
const logger = new Logger({ serviceName: 'lean-consumer' });
// Every SDK call ends within the batch's time reserve (boundedClientConfig), and is counted for the unit accounting.
const dynamodbClient = new DynamoDBClient(boundedClientConfig());
const accountant = unitAccountantFromEnvironment('lean-consumer');
accountant?.instrumentDynamoDb(dynamodbClient);

const consumeBatch = fifoConsumerHandler<SQSRecord>({
  dynamodb: documentClient(dynamodbClient),
  cursor: { tableName: requiredEnv('VIEW_TABLE_NAME'), key: (groupKey) => ({ pk: groupKey }) },
  cursorEffect: {
    name: 'latest',
    attributes: (message) => ({ latestType: message.type, latestMessageId: message.messageId }),
  },
  onConsumed: (_record, result) =>
    logger.info('consumed', {
      messageId: result.message.messageId,
      sequence: result.message.sequence,
      outcome: result.outcome,
    }),
  onFailure: (record, error) =>
    logger.warn('record failed', { messageId: record.messageId, error: error as Error }),
  onUnreadable: (record, error) =>
    logger.error('unreadable message: it goes to the dead-letter queue', {
      messageId: record.messageId,
      error,
    }),
  onParked: (parked) => logger.error('key parked', { ...parked }),
});

export const handler = async (event: SQSEvent, context: Context): Promise<SQSBatchResponse> => {
  const response = await consumeBatch(event, context);
  if (accountant !== undefined) {
    logger.info('unit accounting', {
      unitAccounting: accountant.take(),
      records: event.Records.length,
      // Keys (message groups) in the batch: records of one key run one after the other, of different keys at once.
      groups: new Set(event.Records.map((record) => record.attributes.MessageGroupId)).size,
    });
  }
  return response;
};
