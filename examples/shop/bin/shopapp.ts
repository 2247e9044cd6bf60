#!/usr/bin/env node
import { App, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { MessagingFunction, ReliableMessaging } from 'reliable-messaging-serverless';

const app = new App();
const stack = new Stack(app, 'ShopMessaging');

// The outbox, the FIFO channel, the relay, the sweeper, the alert topic, the alarms and the dashboard.
const messaging = new ReliableMessaging(stack, 'Messaging');

// The producer: moves an account to its next version and commits the event with it, in one transaction.
const accounts = new dynamodb.TableV2(stack, 'Accounts', {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
});
const producer = new MessagingFunction(stack, 'ProducerFunction', {
  entry: 'lambda/producer.ts',
  environment: { ACCOUNTS_TABLE_NAME: accounts.tableName },
});
// Grants the outbox and the accounts table, sets OUTBOX_TABLE_NAME, and tells the ops CLI's reconcile where each
// account's last committed version is.
messaging.addProducer(producer, {
  producerTable: { table: accounts, keyAttribute: 'pk', sequenceAttribute: 'version' },
});

// The consumer: applies each account's events once and in order to its view, whose items are its cursors
// ({ pk: accountId, lastSequence }): granted, passed to the function, and read by the ops CLI's reconcile.
const views = new dynamodb.TableV2(stack, 'Views', {
  partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
});
const consumer = new MessagingFunction(stack, 'ConsumerFunction', { entry: 'lambda/consumer.ts' });
messaging.addConsumer('Consumer', { handler: consumer, cursorTable: { table: views, keyAttribute: 'pk' } });
