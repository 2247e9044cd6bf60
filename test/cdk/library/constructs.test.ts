import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { FifoChannel } from '../../../lib/constructs/fifo-channel';
import { IdempotentConsumer } from '../../../lib/constructs/idempotent-consumer';
import { OutboxRelay } from '../../../lib/constructs/outbox-relay';
import { TransactionalOutbox } from '../../../lib/constructs/transactional-outbox';
import { testStack } from '../support/synth';

function someFunction(stack: ReturnType<typeof testStack>) {
  return new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout: Duration.seconds(20),
  });
}

describe('FifoChannel', () => {
  it('fails if maxReceiveCount is outside 1 to 1,000', () => {
    const stack = testStack();
    expect(() => new FifoChannel(stack, 'Channel', { maxReceiveCount: 0 })).toThrow(
      'maxReceiveCount must be an integer from 1 to 1000; got 0',
    );
  });

  it('fails if retention is over 14 days', () => {
    const stack = testStack();
    expect(() => new FifoChannel(stack, 'Channel', { retentionPeriod: Duration.days(15) })).toThrow(
      /retentionPeriod must be from 1 minute to 14 days; got 15 days/,
    );
  });

  it('creates its own rotating KMS key when none is given', () => {
    const stack = testStack();
    new FifoChannel(stack, 'Channel');
    Template.fromStack(stack).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('turns on high-throughput FIFO when asked', () => {
    const stack = testStack();
    new FifoChannel(stack, 'Channel', { highThroughput: true });
    Template.fromStack(stack).hasResourceProperties('AWS::SQS::Queue', {
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
    });
  });
});

describe('OutboxRelay', () => {
  it('fails if batchSize is 0', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const channel = new FifoChannel(stack, 'Channel');
    expect(() => new OutboxRelay(stack, 'Relay', { outbox, channel, batchSize: 0 })).toThrow(
      'batchSize must be an integer from 1 to 10000; got 0',
    );
  });

  it('fails if maxRecordAge is under a minute', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const channel = new FifoChannel(stack, 'Channel');
    expect(
      () => new OutboxRelay(stack, 'Relay', { outbox, channel, maxRecordAge: Duration.seconds(10) }),
    ).toThrow(/maxRecordAge must be from 1 minute to 7 days/);
  });

  it('may send to the queue, remove sent messages and mark unsent ones for the sweep, and nothing more on the outbox table', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const channel = new FifoChannel(stack, 'Channel');
    new OutboxRelay(stack, 'Relay', { outbox, channel, batchSize: 50, parallelizationFactor: 2 });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 50,
      ParallelizationFactor: 2,
    });
    const actions = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.flatMap((statement: { Action: string | string[] }) =>
        [statement.Action].flat(),
      ),
    );
    expect(actions).toContain('dynamodb:DeleteItem');
    expect(actions).toContain('dynamodb:BatchWriteItem');
    expect(actions).toContain('dynamodb:UpdateItem');
    expect(actions).not.toContain('dynamodb:PutItem');
    expect(actions).not.toContain('dynamodb:Scan');
    expect(actions).not.toContain('dynamodb:Query');
  });
});

describe('TransactionalOutbox', () => {
  it('lets a producer put and condition-check messages only', () => {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const fn = someFunction(stack);
    outbox.grantWriteMessages(fn);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    const tableActions = statements
      .flatMap((statement: { Action: string | string[] }) => [statement.Action].flat())
      .filter((action: string) => action.startsWith('dynamodb:'));
    expect(tableActions.sort()).toEqual(['dynamodb:ConditionCheckItem', 'dynamodb:PutItem']);
  });
});

describe('IdempotentConsumer', () => {
  it('fails if a strategy is not one of unique, version, transaction', () => {
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    expect(
      () =>
        new IdempotentConsumer(stack, 'Consumer', {
          queue: channel.queue,
          handler: someFunction(stack),
          alertTopic: new sns.Topic(stack, 'Alerts'),
          effectStrategies: { view: 'optimistic' as 'version' },
        }),
    ).toThrow("effectStrategies.view must be one of unique, version, transaction; got 'optimistic'");
  });

  it('tells the handler the strategy of each effect, when to park, and where to alert; indexes what needs attention', () => {
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    new IdempotentConsumer(stack, 'Consumer', {
      queue: channel.queue,
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'Alerts'),
      strategy: 'unique',
      effectStrategies: { view: 'version' },
      parkAfterFailures: 2,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          IDEMPOTENCY_STRATEGIES: JSON.stringify({ default: 'unique', effects: { view: 'version' } }),
          PARK_AFTER_FAILURES: '2',
          ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('^Alerts') },
        }),
      },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: [
        Match.objectLike({
          IndexName: 'attention',
          KeySchema: [
            { AttributeName: 'attention', KeyType: 'HASH' },
            { AttributeName: 'since', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'KEYS_ONLY' },
        }),
      ],
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('fails if maxConcurrency is under 2', () => {
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    expect(
      () =>
        new IdempotentConsumer(stack, 'Consumer', {
          queue: channel.queue,
          handler: someFunction(stack),
          alertTopic: new sns.Topic(stack, 'Alerts'),
          maxConcurrency: 1,
        }),
    ).toThrow('maxConcurrency must be an integer from 2 to 1000; got 1');
  });

  it('fails if batchSize is over the FIFO maximum of 10', () => {
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    expect(
      () =>
        new IdempotentConsumer(stack, 'Consumer', {
          queue: channel.queue,
          handler: someFunction(stack),
          alertTopic: new sns.Topic(stack, 'Alerts'),
          batchSize: 11,
        }),
    ).toThrow('batchSize must be an integer from 1 to 10; got 11');
  });

  it('sets a claim time 30 s above the handler timeout and the retention in the environment', () => {
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    new IdempotentConsumer(stack, 'Consumer', {
      queue: channel.queue,
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'Alerts'),
      retention: Duration.days(20),
    });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          INBOX_CLAIM_SECONDS: '50',
          INBOX_RETENTION_SECONDS: String(20 * 24 * 3600),
          INBOX_TABLE_NAME: Match.anyValue(),
        },
      },
    });
  });
});
