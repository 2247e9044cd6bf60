import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import {
  AlertTopic,
  CompensationSweeper,
  FifoChannel,
  GROUP_METADATA,
  IdempotentConsumer,
  OutboxRelay,
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  TransactionalOutbox,
} from '../../../lib/index';
import { demoStack } from '../support/synth';

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
        // No check-back, half messages (if any) in the outbox table, and one queue (no events topic).
        .filter((role) => !['check-back-function', 'transaction-table', 'events-topic'].includes(role))
        .sort(),
    );
  });

  it('marks every role exactly once in the reference stack, each group role once per group', () => {
    // GIVEN the reference application: a check-back, its orders table declared, an events topic and three consumer
    // groups (projection and audit keep their cursors in their inboxes; shipping in its shipping table)
    const resources = Template.fromStack(demoStack()).toJSON().Resources as Record<
      string,
      { Metadata?: Record<string, unknown> }
    >;

    // WHEN its roles are read, with the group of each
    const marked = Object.values(resources)
      .filter((resource) => resource.Metadata?.[RESOURCE_ROLE_METADATA] !== undefined)
      .map((resource) => ({
        role: resource.Metadata?.[RESOURCE_ROLE_METADATA] as string,
        group: resource.Metadata?.[GROUP_METADATA] as string | undefined,
      }));

    // THEN each role of the contract marks one resource; a group's roles one per group, and only they name a group
    const groupRoles = ['queue', 'dead-letter-queue', 'inbox-table', 'consumer-function'];
    const expected = [
      ...Object.keys(RESOURCE_ROLES)
        .filter((role) => role !== 'cursor-table' && !groupRoles.includes(role))
        .map((role) => `${role}`),
      ...['projection', 'audit', 'shipping'].flatMap((group) => groupRoles.map((role) => `${role}@${group}`)),
      'cursor-table@shipping',
    ];
    expect(marked.map(({ role, group }) => (group === undefined ? role : `${role}@${group}`)).sort()).toEqual(
      expected.sort(),
    );
  });
});
