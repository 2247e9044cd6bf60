import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  AlertTopic,
  CompensationSweeper,
  FifoChannel,
  IdempotentConsumer,
  OutboxRelay,
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  TransactionalOutbox,
} from '../../lib/index';
import { demoStack } from './synth';

describe('the resources the ops CLI finds by role', () => {
  it('marks each library resource of a stack with its role, once', () => {
    // GIVEN a user's stack built with the constructs
    const stack = new Stack(new App(), 'Shop');
    const alerts = new AlertTopic(stack, 'Alerts');
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const channel = new FifoChannel(stack, 'Channel');
    new OutboxRelay(stack, 'Relay', { outbox, channel });
    new CompensationSweeper(stack, 'Sweeper', { outbox, channel, alertTopic: alerts.topic });
    const handler = new lambda.Function(stack, 'ConsumerFunction', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    const views = new dynamodb.TableV2(stack, 'Views', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    new IdempotentConsumer(stack, 'Consumer', {
      queue: channel.queue,
      handler,
      alertTopic: alerts.topic,
      cursorTable: { table: views, keyAttribute: 'pk' },
    });
    const accounts = new dynamodb.TableV2(stack, 'Accounts', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    const producer = new lambda.Function(stack, 'ProducerFunction', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    outbox.addProducer(producer, {
      producerTable: { table: accounts, keyAttribute: 'pk', sequenceAttribute: 'version' },
    });

    // WHEN it is synthesized
    const resources = Template.fromStack(stack).toJSON().Resources as Record<
      string,
      { Metadata?: Record<string, unknown> }
    >;

    // THEN every role but the check-back's (not in this stack) marks exactly one resource
    const roles = Object.values(resources)
      .map((resource) => resource.Metadata?.[RESOURCE_ROLE_METADATA])
      .filter((role) => role !== undefined);
    expect(roles.sort()).toEqual(
      Object.keys(RESOURCE_ROLES)
        // No check-back, and half messages (if any) in the outbox table.
        .filter((role) => role !== 'check-back-function' && role !== 'transaction-table')
        .sort(),
    );
  });

  it('marks every role exactly once in the reference stack, the producer table included', () => {
    // GIVEN the reference application, which has a check-back and declares its orders table (its consumer keeps its
    // cursors in the inbox: no cursor table)
    const resources = Template.fromStack(demoStack()).toJSON().Resources as Record<
      string,
      { Metadata?: Record<string, unknown> }
    >;

    // WHEN its roles are read
    const roles = Object.values(resources)
      .map((resource) => resource.Metadata?.[RESOURCE_ROLE_METADATA])
      .filter((role) => role !== undefined);

    // THEN each role of the contract marks one resource
    expect(roles.sort()).toEqual(
      Object.keys(RESOURCE_ROLES)
        .filter((role) => role !== 'cursor-table')
        .sort(),
    );
  });
});
