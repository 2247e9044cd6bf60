import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { AlertTopic } from '../../../lib/constructs/alert-topic';
import { FifoChannel } from '../../../lib/constructs/fifo-channel';
import { CURSOR_TABLE_METADATA, RESOURCE_ROLE_METADATA } from '../../../lib/constructs/resource-roles';
import { testStack } from '../support/synth';

function consumerFunction(stack: Stack, id = 'ConsumerFunction'): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
}

function viewsTable(stack: Stack, id = 'Views', sortKey?: string): dynamodb.TableV2 {
  return new dynamodb.TableV2(stack, id, {
    partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    ...(sortKey === undefined ? {} : { sortKey: { name: sortKey, type: dynamodb.AttributeType.STRING } }),
  });
}

/** The resources marked as the cursor table, with their attributes metadata. */
function cursorTables(stack: Stack): unknown[] {
  const resources = Template.fromStack(stack).toJSON().Resources as Record<
    string,
    { Metadata?: Record<string, unknown> }
  >;
  return Object.values(resources)
    .filter((resource) => resource.Metadata?.[RESOURCE_ROLE_METADATA] === 'cursor-table')
    .map((resource) => resource.Metadata?.[CURSOR_TABLE_METADATA]);
}

function pipeline(stack: Stack) {
  return { channel: new FifoChannel(stack, 'Channel'), alerts: new AlertTopic(stack, 'Alerts') };
}

describe("IdempotentConsumer's cursorTable", () => {
  it('grants the handler the table, tells it the table and its key attribute, and declares it to the ops CLI', () => {
    // GIVEN
    const stack = testStack();
    const { channel, alerts } = pipeline(stack);
    const views = viewsTable(stack);

    // WHEN
    channel.addConsumer('Consumer', {
      handler: consumerFunction(stack),
      alertTopic: alerts.topic,
      cursorTable: { table: views, keyAttribute: 'pk' },
    });

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CURSOR_TABLE_NAME: { Ref: Match.stringLikeRegexp('^Views') },
          CURSOR_KEY_ATTRIBUTE: 'pk',
        }),
      },
    });
    const statements = Object.entries(template.findResources('AWS::IAM::Policy'))
      .filter(([logicalId]) => logicalId.startsWith('ConsumerFunction'))
      .flatMap(
        ([, policy]) =>
          (policy.Properties as { PolicyDocument: { Statement: { Action: string[]; Resource: unknown }[] } })
            .PolicyDocument.Statement,
      );
    expect(
      statements.some(
        (statement) =>
          [statement.Action].flat().includes('dynamodb:UpdateItem') &&
          JSON.stringify(statement.Resource).includes('"Views'),
      ),
    ).toBe(true);
    expect(cursorTables(stack)).toEqual([{ keyAttribute: 'pk' }]);
  });

  it('declares nothing and sets no cursor variables without it (the cursors are in the inbox)', () => {
    // GIVEN
    const stack = testStack();
    const { channel, alerts } = pipeline(stack);

    // WHEN
    channel.addConsumer('Consumer', { handler: consumerFunction(stack), alertTopic: alerts.topic });

    // THEN
    expect(cursorTables(stack)).toEqual([]);
    const variables = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function')).map(
      (fn) =>
        (fn.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables,
    );
    expect(variables.some((vars) => vars?.CURSOR_TABLE_NAME !== undefined)).toBe(false);
  });

  it('fails if the key attribute is not the partition key, naming both', () => {
    const stack = testStack();
    const { channel, alerts } = pipeline(stack);
    expect(() =>
      channel.addConsumer('Consumer', {
        handler: consumerFunction(stack),
        alertTopic: alerts.topic,
        cursorTable: { table: viewsTable(stack), keyAttribute: 'accountId' },
      }),
    ).toThrow(/cursorTable\.keyAttribute must be the partition key of .*Views \('pk'\); got 'accountId'/);
  });

  it('fails if the table has a sort key', () => {
    const stack = testStack();
    const { channel, alerts } = pipeline(stack);
    expect(() =>
      channel.addConsumer('Consumer', {
        handler: consumerFunction(stack),
        alertTopic: alerts.topic,
        cursorTable: { table: viewsTable(stack, 'Views', 'sk'), keyAttribute: 'pk' },
      }),
    ).toThrow(/cursorTable .*Views has a sort key \('sk'\)/);
  });

  it('fails if the key attribute is empty', () => {
    const stack = testStack();
    const { channel, alerts } = pipeline(stack);
    expect(() =>
      channel.addConsumer('Consumer', {
        handler: consumerFunction(stack),
        alertTopic: alerts.topic,
        cursorTable: { table: viewsTable(stack), keyAttribute: ' ' },
      }),
    ).toThrow("cursorTable.keyAttribute must name an attribute; got ' '");
  });

  it('fails if the stack already declares another cursor table', () => {
    // GIVEN a consumer with its cursor table
    const stack = testStack();
    const { channel, alerts } = pipeline(stack);
    channel.addConsumer('First', {
      handler: consumerFunction(stack, 'First'),
      alertTopic: alerts.topic,
      cursorTable: { table: viewsTable(stack, 'Views'), keyAttribute: 'pk' },
    });

    // WHEN / THEN a second consumer declares another one
    expect(() =>
      channel.addConsumer('Second', {
        handler: consumerFunction(stack, 'Second'),
        alertTopic: alerts.topic,
        cursorTable: { table: viewsTable(stack, 'Others'), keyAttribute: 'pk' },
      }),
    ).toThrow(/already declares .*Views as a consumer's cursor table; got .*Others too/);
  });

  it('fails if the table is not in the consumer stack', () => {
    // GIVEN a table of another stack
    const app = new App();
    const stack = new Stack(app, 'Consumers');
    const tables = new Stack(app, 'Tables');
    const { channel, alerts } = pipeline(stack);

    // WHEN / THEN
    expect(() =>
      channel.addConsumer('Consumer', {
        handler: consumerFunction(stack),
        alertTopic: alerts.topic,
        cursorTable: { table: viewsTable(tables), keyAttribute: 'pk' },
      }),
    ).toThrow(/cursorTable Tables\/Views has no resource in stack Consumers/);
  });
});
