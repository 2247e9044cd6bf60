import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { SQSEvent } from 'aws-lambda';
import {
  IdempotentOrderedConsumer,
  consumerOptionsFromEnvironment,
  parseEnvelope,
  processFifoBatch,
} from 'reliable-messaging-serverless/runtime';

const consumer = new IdempotentOrderedConsumer({
  ...consumerOptionsFromEnvironment(),
  dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({})),
  effects: [],
  cursor: { tableName: process.env.VIEW_TABLE_NAME!, key: (groupKey) => ({ pk: groupKey }) },
  cursorEffect: { name: 'latest', attributes: (message) => ({ latestType: message.type }) },
});

/** Applies each account's events once and in order to its view. */
export const handler = (event: SQSEvent) =>
  processFifoBatch(event, async (record) => {
    await consumer.consume(parseEnvelope(record.body));
  });
