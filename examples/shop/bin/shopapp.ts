#!/usr/bin/env node
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import {
  AlertTopic,
  CompensationSweeper,
  FifoChannel,
  IdempotentConsumer,
  MessagingAlarms,
  OutboxRelay,
  TransactionalOutbox,
} from 'reliable-messaging-serverless';

const app = new App();
const stack = new Stack(app, 'ShopMessaging');

const alerts = new AlertTopic(stack, 'Alerts');
const outbox = new TransactionalOutbox(stack, 'Outbox');
const channel = new FifoChannel(stack, 'Channel');
const relay = new OutboxRelay(stack, 'Relay', { outbox, channel });
const sweeper = new CompensationSweeper(stack, 'Sweeper', { outbox, channel, alertTopic: alerts.topic });

const accounts = new dynamodb.TableV2(stack, 'Accounts', {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
});
const producer = new NodejsFunction(stack, 'ProducerFunction', {
  entry: 'lambda/producer.ts',
  runtime: lambda.Runtime.NODEJS_22_X,
  environment: { OUTBOX_TABLE_NAME: outbox.table.tableName, ACCOUNTS_TABLE_NAME: accounts.tableName },
});
accounts.grantReadWriteData(producer);
outbox.grantWriteMessages(producer);

const views = new dynamodb.TableV2(stack, 'Views', {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
});
const handler = new NodejsFunction(stack, 'ConsumerFunction', {
  entry: 'lambda/consumer.ts',
  runtime: lambda.Runtime.NODEJS_22_X,
  environment: { VIEW_TABLE_NAME: views.tableName },
});
views.grantReadWriteData(handler);
const consumer = new IdempotentConsumer(stack, 'Consumer', { queue: channel.queue, handler, alertTopic: alerts.topic });

new MessagingAlarms(stack, 'Alarms', { alertTopic: alerts.topic, channel, relay, sweeper, consumer });
