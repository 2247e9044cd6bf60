import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { TransactionCheckBack } from '../../../lib/constructs/transaction-check-back';
import { TransactionalOutbox } from '../../../lib/constructs/transactional-outbox';
import { awsTemplate, testStack } from '../support/synth';

function parts() {
  const stack = testStack();
  const outbox = new TransactionalOutbox(stack, 'Outbox');
  const checker = new lambda.Function(stack, 'Checker', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({ status: "UNKNOWN" })'),
  });
  const aggregates = new dynamodb.Table(stack, 'Aggregates', {
    partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
  });
  const alertTopic = new sns.Topic(stack, 'Alerts');
  return { stack, outbox, checker, aggregates, alertTopic };
}

function producer(stack: ReturnType<typeof testStack>, timeout?: Duration): lambda.Function {
  return new lambda.Function(stack, 'Producer', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout,
  });
}

describe('TransactionCheckBack: the prepare timeout against the producers’ lifetime', () => {
  it('fails at synth if the prepare timeout is shorter than a producer’s timeout, naming both', () => {
    // GIVEN a producer that may run for 15 s
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    const api = producer(stack, Duration.seconds(15));

    // WHEN / THEN
    expect(
      () =>
        new TransactionCheckBack(stack, 'CheckBack', {
          outbox,
          checker,
          aggregateTables: [aggregates],
          alertTopic,
          producers: [api],
          prepareTimeout: Duration.seconds(6),
        }),
    ).toThrow(
      /prepareTimeout \(6 seconds\) is shorter than the timeout of producer .*Producer \(15 seconds\)/,
    );
  });

  it('derives the prepare timeout from the longest producer, and hands it to every producer', () => {
    // GIVEN
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    const api = producer(stack, Duration.seconds(15));

    // WHEN
    const checkBack = new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
      producers: [api],
    });

    // THEN
    expect(checkBack.prepareTimeout.toSeconds()).toBe(15);
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 15,
      Environment: { Variables: { PREPARE_TIMEOUT_SECONDS: '15' } },
    });
  });

  it('accepts a prepare timeout equal to or longer than the producers’ timeouts', () => {
    // GIVEN
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    const api = producer(stack, Duration.seconds(15));

    // WHEN
    const checkBack = new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
      producers: [api],
      prepareTimeout: Duration.seconds(20),
    });

    // THEN
    expect(checkBack.prepareTimeout.toSeconds()).toBe(20);
  });

  it('derives at least RocketMQ’s 6 s, counting a producer without a timeout as Lambda’s 3 s', () => {
    // GIVEN
    const { stack, outbox, checker, aggregates, alertTopic } = parts();

    // WHEN
    const checkBack = new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
      producers: [producer(stack)],
    });

    // THEN
    expect(checkBack.prepareTimeout.toSeconds()).toBe(6);
  });
});

describe('TransactionCheckBack', () => {
  it('defaults after RocketMQ: checks every 30 s (two passes a minute), at most 15 times, checker timeout 5 s', () => {
    // GIVEN
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    // WHEN
    new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
    });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CHECK_INTERVAL_SECONDS: '30',
          MAX_CHECKS: '15',
          CHECKER_TIMEOUT_SECONDS: '5',
          PASSES_PER_INVOCATION: '2',
          CHECKER_FUNCTION_NAME: { Ref: Match.stringLikeRegexp('^Checker') },
        }),
      },
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(1 minute)' });
  });

  it('may invoke the checker, write the aggregate tables and publish alerts', () => {
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
    });
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy')).flatMap(
      (policy) =>
        policy.Properties.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>,
    );
    const allowed = (action: string, resource: RegExp) =>
      statements.some(
        (statement) =>
          [statement.Action].flat().includes(action) && resource.test(JSON.stringify(statement.Resource)),
      );
    expect(allowed('lambda:InvokeFunction', /Checker/)).toBe(true);
    expect(allowed('dynamodb:UpdateItem', /Aggregates/)).toBe(true);
    expect(allowed('sns:Publish', /Alerts/)).toBe(true);
  });

  it('fails if maxChecks is 0', () => {
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    expect(
      () =>
        new TransactionCheckBack(stack, 'CheckBack', {
          outbox,
          checker,
          aggregateTables: [aggregates],
          alertTopic,
          maxChecks: 0,
        }),
    ).toThrow('maxChecks must be an integer from 1 to 100; got 0');
  });

  it('fails if the check interval is under 10 s', () => {
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    expect(
      () =>
        new TransactionCheckBack(stack, 'CheckBack', {
          outbox,
          checker,
          aggregateTables: [aggregates],
          alertTopic,
          checkInterval: Duration.seconds(5),
        }),
    ).toThrow(/checkInterval must be from 10 seconds to 1 hour; got 5 seconds/);
  });
});

describe('the demo stack with transactional payments', () => {
  const template = awsTemplate();

  it('serves POST /orders/{orderId}/payments', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', {
      RouteKey: 'POST /orders/{orderId}/payments',
    });
  });

  it('expires resolved transactions through the outbox TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'groupKey', KeyType: 'HASH' },
        { AttributeName: 'sequence', KeyType: 'RANGE' },
      ],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('alarms on every FAILED transaction still waiting for an operator, counted by every pass (threshold 0)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'ReliableMessaging',
      MetricName: 'FailedHalfMessages',
      Dimensions: Match.arrayWith([{ Name: 'service', Value: 'transaction-check-back' }]),
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
    });
  });

  it('alarms on the oldest open transaction and on FAILED transactions', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OldestHalfMessageAgeSeconds',
      Threshold: 300,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^AlertsTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'HalfMessagesFailed',
      Threshold: 0,
    });
  });
});

describe('half messages in a transaction table of their own (TransactionalOutbox transactionTable)', () => {
  type Statement = { Action: string | string[]; Resource: unknown };

  function partsWithTransactionTable() {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox', { transactionTable: true });
    const checker = new lambda.Function(stack, 'Checker', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({ status: "UNKNOWN" })'),
    });
    const aggregates = new dynamodb.Table(stack, 'Aggregates', {
      partitionKey: { name: 'id', type: dynamodb.AttributeType.STRING },
    });
    const alertTopic = new sns.Topic(stack, 'Alerts');
    return { stack, outbox, checker, aggregates, alertTopic };
  }

  /** The DynamoDB actions `rolePrefix`'s policies allow on the table whose logical ID starts with `tablePrefix`. */
  function actionsOn(template: Template, rolePrefix: string, tablePrefix: string): string[] {
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((policy) =>
      JSON.stringify(policy.Properties.Roles).includes(`"${rolePrefix}`),
    );
    const statements = policies.flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
    );
    return statements
      .filter((statement) => JSON.stringify(statement.Resource).includes(`"${tablePrefix}`))
      .flatMap((statement) => [statement.Action].flat())
      .filter((action) => action.startsWith('dynamodb:'))
      .sort();
  }

  const tableVariable = (template: Template, name: string) =>
    Object.values(template.findResources('AWS::Lambda::Function'))
      .map((fn) => fn.Properties.Environment?.Variables?.[name])
      .filter((value) => value !== undefined);

  it('builds the transaction table as durable as the outbox: same key, TTL, T# index, KMS, PITR, deletion protection, RETAIN, no stream', () => {
    // GIVEN / WHEN
    const { stack, outbox } = partsWithTransactionTable();

    // THEN
    const template = Template.fromStack(stack);
    const id = stack.getLogicalId(outbox.transactionTable!.node.defaultChild as dynamodb.CfnTable);
    expect(id).toMatch(/^OutboxTransactions/);
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Metadata: { 'reliable-messaging:role': 'transaction-table' },
      Properties: {
        KeySchema: [
          { AttributeName: 'groupKey', KeyType: 'HASH' },
          { AttributeName: 'sequence', KeyType: 'RANGE' },
        ],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
        SSESpecification: {
          SSEEnabled: true,
          SSEType: 'KMS',
          KMSMasterKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxKey'), 'Arn'] },
        },
        StreamSpecification: Match.absent(),
        GlobalSecondaryIndexes: [
          Match.objectLike({
            IndexName: 'unsent',
            KeySchema: [
              { AttributeName: 'sweepShard', KeyType: 'HASH' },
              { AttributeName: 'sweepOrder', KeyType: 'RANGE' },
            ],
          }),
        ],
      },
    });
    expect(outbox.halfMessageTable).toBe(outbox.transactionTable);
  });

  it('builds no transaction table by default: half messages live in the outbox table', () => {
    // GIVEN / WHEN
    const { stack, outbox, checker, aggregates, alertTopic } = parts();
    new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
    });

    // THEN
    const template = Template.fromStack(stack);
    expect(outbox.transactionTable).toBeUndefined();
    expect(outbox.halfMessageTable).toBe(outbox.table);
    template.resourceCountIs('AWS::DynamoDB::Table', 2); // the outbox and the aggregates
    expect(tableVariable(template, 'TRANSACTION_TABLE_NAME')).toEqual([]);
    // the check-back reads and writes the outbox as before
    expect(actionsOn(template, 'CheckBackHandler', 'OutboxMessages')).toEqual(
      expect.arrayContaining([
        'dynamodb:Query',
        'dynamodb:UpdateItem',
        'dynamodb:GetItem',
        'dynamodb:PutItem',
      ]),
    );
  });

  it('lets a transactional producer prepare and resolve in the transaction table, and only put messages in the outbox', () => {
    // GIVEN
    const { stack, outbox } = partsWithTransactionTable();
    const api = producer(stack);

    // WHEN
    outbox.addProducer(api, { transactionalMessages: true });

    // THEN
    const template = Template.fromStack(stack);
    expect(actionsOn(template, 'ProducerServiceRole', 'OutboxTransactions')).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
    ]);
    expect([...new Set(actionsOn(template, 'ProducerServiceRole', 'OutboxMessages'))]).toEqual([
      'dynamodb:ConditionCheckItem',
      'dynamodb:PutItem',
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: {
          OUTBOX_TABLE_NAME: { Ref: Match.stringLikeRegexp('^OutboxMessages') },
          TRANSACTION_TABLE_NAME: { Ref: Match.stringLikeRegexp('^OutboxTransactions') },
        },
      },
    });
  });

  it('gives an ordinary producer neither the transaction table nor its name', () => {
    // GIVEN
    const { stack, outbox } = partsWithTransactionTable();

    // WHEN
    outbox.addProducer(producer(stack));

    // THEN
    const template = Template.fromStack(stack);
    expect(actionsOn(template, 'ProducerServiceRole', 'OutboxTransactions')).toEqual([]);
    expect(tableVariable(template, 'TRANSACTION_TABLE_NAME')).toEqual([]);
  });

  it('lets the check-back query, read and update the transaction table, put the committed message in the outbox, and nothing more', () => {
    // GIVEN
    const { stack, outbox, checker, aggregates, alertTopic } = partsWithTransactionTable();
    const api = producer(stack);

    // WHEN
    new TransactionCheckBack(stack, 'CheckBack', {
      outbox,
      checker,
      aggregateTables: [aggregates],
      alertTopic,
      producers: [api],
    });

    // THEN
    const template = Template.fromStack(stack);
    expect(actionsOn(template, 'CheckBackHandler', 'OutboxTransactions')).toEqual([
      'dynamodb:GetItem',
      'dynamodb:Query',
      'dynamodb:UpdateItem',
    ]);
    expect(actionsOn(template, 'CheckBackHandler', 'OutboxMessages')).toEqual(['dynamodb:PutItem']);
    const transactionTable = { Ref: Match.stringLikeRegexp('^OutboxTransactions') };
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'transaction-check-back',
          TRANSACTION_TABLE_NAME: transactionTable,
        }),
      },
    });
    // the producers it watches resolve in the same table
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { PREPARE_TIMEOUT_SECONDS: '6', TRANSACTION_TABLE_NAME: transactionTable } },
    });
  });
});
