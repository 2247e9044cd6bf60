import { Logger } from '@aws-lambda-powertools/logger';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import { documentClient, requiredEnv, UnitAccountant } from 'reliable-messaging-serverless/runtime';

/**
 * The naive baseline `npm run bench` compares against (never part of a real stack): one Lambda invocation per
 * message (batch size 1), and idempotency the way Powertools Idempotency records it — an INPROGRESS record put
 * conditionally, the effect, then the record updated to COMPLETED with its expiry.
 */
const logger = new Logger({ serviceName: 'naive-baseline' });
const dynamodbClient = new DynamoDBClient({});
const accountant = new UnitAccountant('naive-consumer');
accountant.instrumentDynamoDb(dynamodbClient);
const dynamodb = documentClient(dynamodbClient);
const tableName = requiredEnv('NAIVE_TABLE_NAME');

export const handler = async (event: SQSEvent): Promise<void> => {
  for (const record of event.Records) {
    const message = JSON.parse(record.body) as { messageId: string; key: string; text: string };
    const now = Math.floor(Date.now() / 1000);
    try {
      await dynamodb.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: `idempotency#${message.messageId}`,
            status: 'INPROGRESS',
            expiration: now + 3600,
            in_progress_expiration: now + 30,
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiration < :now',
          ExpressionAttributeValues: { ':now': now },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) continue; // already processed
      throw error;
    }
    await dynamodb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `view#${message.key}` },
        UpdateExpression: 'SET notes = list_append(if_not_exists(notes, :empty), :note)',
        ExpressionAttributeValues: { ':empty': [], ':note': [message.text] },
      }),
    );
    await dynamodb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `idempotency#${message.messageId}` },
        UpdateExpression: 'SET #status = :completed, #data = :data, expiration = :expiration',
        ExpressionAttributeNames: { '#status': 'status', '#data': 'data' },
        ExpressionAttributeValues: { ':completed': 'COMPLETED', ':data': '{}', ':expiration': now + 3600 },
      }),
    );
  }
  logger.info('unit accounting', { unitAccounting: accountant.take(), records: event.Records.length });
};
