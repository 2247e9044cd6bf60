import type { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { FifoChannel } from '../../../lib/constructs/fifo-channel';
import { PRODUCER_TABLE_UNDECLARED_WARNING } from '../../../lib/constructs/producer-table';
import { PRODUCER_TABLE_METADATA, RESOURCE_ROLE_METADATA } from '../../../lib/constructs/resource-roles';
import { TransactionalOutbox } from '../../../lib/constructs/transactional-outbox';
import { testStack } from '../support/synth';

function producerFunction(stack: Stack, id = 'ProducerFunction'): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
}

function accountsTable(stack: Stack, id = 'Accounts', sortKey?: string): dynamodb.TableV2 {
  return new dynamodb.TableV2(stack, id, {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    ...(sortKey === undefined ? {} : { sortKey: { name: sortKey, type: dynamodb.AttributeType.STRING } }),
  });
}

/** The resources marked as the producer table, with their attributes metadata. */
function producerTables(stack: Stack): unknown[] {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Metadata?: Record<string, unknown> }
  >;
  return Object.values(resources)
    .filter((resource) => resource.Metadata?.[RESOURCE_ROLE_METADATA] === 'producer-table')
    .map((resource) => resource.Metadata?.[PRODUCER_TABLE_METADATA]);
}

const declared = { keyAttribute: 'pk', sequenceAttribute: 'version' };

describe('TransactionalOutbox.addProducer', () => {
  it('lets the producer put outbox messages and tells it the outbox table', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const producer = producerFunction(stack);

    // WHEN
    outbox.addProducer(producer);

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { OUTBOX_TABLE_NAME: { Ref: Match.stringLikeRegexp('^OutboxMessages') } } },
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: ['dynamodb:PutItem', 'dynamodb:ConditionCheckItem'] }),
        ]),
      },
    });
    expect(producerTables(stack)).toEqual([]);
  });

  it('grants the producer table and declares it for the ops CLI with its key and sequence attributes', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const accounts = accountsTable(stack);

    // WHEN
    outbox.addProducer(producerFunction(stack), { producerTable: { table: accounts, ...declared } });

    // THEN
    expect(producerTables(stack)).toEqual([declared]);
    for (const action of ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem']) {
      Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Action: Match.arrayWith([action]),
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Accounts'), 'Arn'] },
            }),
          ]),
        },
      });
    }
  });

  it('accepts the same table declared by two producers with the same attributes, marked once', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const accounts = accountsTable(stack);
    outbox.addProducer(producerFunction(stack, 'One'), { producerTable: { table: accounts, ...declared } });
    outbox.addProducer(producerFunction(stack, 'Two'), { producerTable: { table: accounts, ...declared } });
    expect(producerTables(stack)).toEqual([declared]);
  });

  it('fails if a second, different producer table is declared in the stack', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    outbox.addProducer(producerFunction(stack, 'One'), {
      producerTable: { table: accountsTable(stack, 'Accounts'), ...declared },
    });
    expect(() =>
      outbox.addProducer(producerFunction(stack, 'Two'), {
        producerTable: { table: accountsTable(stack, 'Ledger'), ...declared },
      }),
    ).toThrow(/already declares TestStack\/Accounts as its producer table; got TestStack\/Ledger too/);
  });

  it('fails if the same table is declared again with other attributes', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const accounts = accountsTable(stack);
    outbox.addProducer(producerFunction(stack, 'One'), { producerTable: { table: accounts, ...declared } });
    expect(() =>
      outbox.addProducer(producerFunction(stack, 'Two'), {
        producerTable: { table: accounts, keyAttribute: 'pk', sequenceAttribute: 'revision' },
      }),
    ).toThrow(
      "TestStack/Accounts is already declared as the producer table with keyAttribute 'pk' and sequenceAttribute 'version'; got 'pk' and 'revision'",
    );
  });

  it.each([
    ['TableV2', (stack: Stack) => accountsTable(stack)],
    [
      'Table',
      (stack: Stack) =>
        new dynamodb.Table(stack, 'Accounts', {
          partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        }),
    ],
  ])('fails if keyAttribute is not the partition key of a %s', (_kind, table) => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    expect(() =>
      outbox.addProducer(producerFunction(stack), {
        producerTable: { table: table(stack), keyAttribute: 'accountId', sequenceAttribute: 'version' },
      }),
    ).toThrow(
      "producerTable.keyAttribute must be the partition key of TestStack/Accounts ('pk'); got 'accountId'",
    );
    expect(producerTables(stack)).toEqual([]);
  });

  it('fails if the producer table has a sort key', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    expect(() =>
      outbox.addProducer(producerFunction(stack), {
        producerTable: { table: accountsTable(stack, 'Accounts', 'sk'), ...declared },
      }),
    ).toThrow(/producerTable TestStack\/Accounts has a sort key \('sk'\)/);
  });

  it.each([
    [
      { keyAttribute: '', sequenceAttribute: 'version' },
      "producerTable.keyAttribute must name an attribute; got ''",
    ],
    [
      { keyAttribute: 'pk', sequenceAttribute: ' ' },
      "producerTable.sequenceAttribute must name an attribute; got ' '",
    ],
    [
      { keyAttribute: 'pk', sequenceAttribute: 'pk' },
      "producerTable.keyAttribute and sequenceAttribute must be two attributes; got 'pk' for both",
    ],
  ])('fails if the attributes are %o', (attributes, message) => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    expect(() =>
      outbox.addProducer(producerFunction(stack), {
        producerTable: { table: accountsTable(stack), ...attributes },
      }),
    ).toThrow(message);
  });

  it('grants an imported table but cannot declare it: warns that reconcile needs it on the command line', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const imported = dynamodb.Table.fromTableName(stack, 'Imported', 'accounts');

    // WHEN
    outbox.addProducer(producerFunction(stack), { producerTable: { table: imported, ...declared } });

    // THEN
    expect(producerTables(stack)).toEqual([]);
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Outbox',
      Match.stringLikeRegexp('has no resource in stack TestStack'),
    );
    expect(PRODUCER_TABLE_UNDECLARED_WARNING).toBe('reliable-messaging:producerTableUndeclared');
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: Match.arrayWith(['dynamodb:PutItem', 'dynamodb:UpdateItem']) }),
        ]),
      },
    });
  });

  it('grants transactional messages and idempotency keys when asked', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox', { idempotencyKeys: true });

    // WHEN
    outbox.addProducer(producerFunction(stack), { transactionalMessages: true, idempotencyKeys: true });

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: [
              'dynamodb:PutItem',
              'dynamodb:UpdateItem',
              'dynamodb:GetItem',
              'dynamodb:ConditionCheckItem',
            ],
            Resource: Match.arrayWith([{ 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxMessages'), 'Arn'] }]),
          }),
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:DeleteItem']),
            Resource: Match.arrayWith([
              { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxIdempotencyKeys'), 'Arn'] },
            ]),
          }),
        ]),
      },
    });
  });

  it('fails if idempotencyKeys is asked of an outbox without an idempotency table', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    expect(() => outbox.addProducer(producerFunction(stack), { idempotencyKeys: true })).toThrow(
      'TestStack/Outbox: addProducer(TestStack/ProducerFunction) asks for idempotencyKeys, but the outbox has no idempotency table: build the TransactionalOutbox with idempotencyKeys: true',
    );
  });
});

describe('FifoChannel.addConsumer', () => {
  it("consumes the channel's queue and sets the consumer's environment, as IdempotentConsumer does", () => {
    // GIVEN
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    const handler = producerFunction(stack, 'ConsumerFunction');

    // WHEN
    const consumer = channel.addConsumer('Consumer', { handler, alertTopic: new sns.Topic(stack, 'Alerts') });

    // THEN
    expect(consumer.handler).toBe(handler);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ChannelQueue'), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          INBOX_TABLE_NAME: Match.anyValue(),
          QUEUE_URL: { Ref: Match.stringLikeRegexp('^ChannelQueue') },
          ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('^Alerts') },
        }),
      },
    });
  });
});
