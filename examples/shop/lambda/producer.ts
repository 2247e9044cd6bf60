import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { OutboxWriter } from 'reliable-messaging-serverless/runtime';

const outbox = new OutboxWriter(DynamoDBDocumentClient.from(new DynamoDBClient({})), process.env.OUTBOX_TABLE_NAME!);

/** Moves an account to its next version and commits the event with it, in one transaction. */
export const handler = async (event: { accountId: string; version: number; balance: number }) => {
  const sequence = event.version + 1;
  return outbox.commit(
    [
      {
        Update: {
          TableName: process.env.ACCOUNTS_TABLE_NAME!,
          Key: { pk: event.accountId },
          UpdateExpression: 'SET version = :next, balance = :balance',
          ConditionExpression: 'attribute_not_exists(version) OR version = :current',
          ExpressionAttributeValues: { ':next': sequence, ':current': event.version, ':balance': event.balance },
        },
      },
    ],
    { groupKey: event.accountId, sequence, type: 'BalanceChanged', payload: { balance: event.balance } },
  );
};
