import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { MessagingAlarms } from '../../../lib/constructs/messaging-alarms';
import { ReliableMessaging } from '../../../lib/constructs/reliable-messaging';
import { testStack } from '../support/synth';

function someFunction(stack: Stack, id: string): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
}

describe('ReliableMessaging', () => {
  it('builds the whole pipeline, every part reachable', () => {
    // GIVEN
    const stack = testStack();

    // WHEN
    const messaging = new ReliableMessaging(stack, 'Messaging');

    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MessagingOutboxMessages'), 'StreamArn'] },
    });
    template.resourceCountIs('AWS::SNS::Topic', 1);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    expect(Object.keys(messaging.alarms.alarms)).toEqual(
      expect.arrayContaining(['DeadLetterMessages', 'FailedMessages', 'SweeperHeartbeat', 'RelayErrors']),
    );
    expect([messaging.outbox, messaging.channel, messaging.relay, messaging.sweeper]).toHaveLength(4);
    expect(messaging.alertTopic.topic).toBeDefined();
    expect(messaging.consumers).toEqual([]);
  });

  it("passes each part's props through", () => {
    const stack = testStack();
    new ReliableMessaging(stack, 'Messaging', {
      channel: { maxReceiveCount: 7 },
      relay: { batchSize: 50 },
      sweeper: { maxAttempts: 3 },
      outbox: { idempotencyKeys: true },
      alarms: { thresholds: { queueBacklog: 123 } },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: Match.objectLike({ maxReceiveCount: 7 }),
    });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { BatchSize: 50 });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SWEEP_MAX_ATTEMPTS: '3' }) },
    });
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'idempotencyKey', KeyType: 'HASH' }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Threshold: 123,
    });
  });

  it('encrypts every part with the one key it is given', () => {
    const stack = testStack();
    const key = new kms.Key(stack, 'Key');
    const messaging = new ReliableMessaging(stack, 'Messaging', { encryptionKey: key });
    messaging.addConsumer('Consumer', { handler: someFunction(stack, 'ConsumerFunction') });
    Template.fromStack(stack).resourceCountIs('AWS::KMS::Key', 1);
  });

  it("wires a producer: the outbox's grants and environment, and alarms on its errors", () => {
    // GIVEN
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');
    const producer = someFunction(stack, 'ProducerFunction');

    // WHEN
    messaging.addProducer(producer);

    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: { OUTBOX_TABLE_NAME: { Ref: Match.stringLikeRegexp('^MessagingOutboxMessages') } },
      },
    });
    expect(Object.keys(messaging.alarms.alarms)).toEqual(
      expect.arrayContaining(['ProducerFunctionErrors', 'ProducerFunctionThrottles']),
    );
  });

  it("adds a consumer of its channel with the pipeline's alert topic, and the consumer's alarms", () => {
    // GIVEN
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');
    const handler = someFunction(stack, 'ConsumerFunction');

    // WHEN
    const consumer = messaging.addConsumer('Orders', { handler, parkAfterFailures: 2 });

    // THEN
    expect(messaging.consumers).toEqual([consumer]);
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          PARK_AFTER_FAILURES: '2',
          ALERT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('^MessagingAlertsTopic') },
        }),
      },
    });
    expect(Object.keys(messaging.alarms.alarms)).toEqual(
      expect.arrayContaining([
        'OrdersOldestGapAge',
        'OrdersParkedKeys',
        'OrdersUnreadableMessages',
        'OrdersRecursiveInvocationsDropped',
        'OrdersInboxMonitorHeartbeat',
        'OrdersInboxMonitorErrors',
        'OrdersErrors',
        'OrdersThrottles',
      ]),
    );
  });
});

describe('MessagingAlarms with consumers added after construction', () => {
  it('shows alarms added later on its dashboard', () => {
    // GIVEN
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');

    // WHEN
    messaging.addConsumer('Orders', { handler: someFunction(stack, 'ConsumerFunction') });

    // THEN the alarm status widget lists the consumer's alarms
    const parked = messaging.alarms.alarms.OrdersParkedKeys;
    expect(parked).toBeDefined();
    const alarm = stack.getLogicalId(parked?.node.defaultChild as cloudwatch.CfnAlarm);
    const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
    expect(JSON.stringify(Object.values(dashboards)[0])).toContain(alarm);
  });

  it('fails if the same consumer is added twice', () => {
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');
    const consumer = messaging.addConsumer('Orders', { handler: someFunction(stack, 'ConsumerFunction') });
    expect(() => messaging.alarms.addConsumer(consumer, { name: 'Orders' })).toThrow(
      'TestStack/Messaging/Alarms already has an alarm named OrdersOldestGapAge: give the consumer or function another name',
    );
  });

  it('fails if a function is added under a name taken, before making any alarm', () => {
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');
    const before = Object.keys(messaging.alarms.alarms).length;
    expect(() => messaging.alarms.addFunction('Relay', someFunction(stack, 'Other'))).toThrow(
      'already has an alarm named RelayErrors',
    );
    expect(Object.keys(messaging.alarms.alarms)).toHaveLength(before);
  });

  it('fails if oldestGapAge is not from 1 second to 14 days', () => {
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');
    expect(
      () =>
        new MessagingAlarms(stack, 'More', {
          alertTopic: messaging.alertTopic.topic,
          channel: messaging.channel,
          relay: messaging.relay,
          sweeper: messaging.sweeper,
          thresholds: { oldestGapAge: Duration.days(15) },
        }),
    ).toThrow('oldestGapAge must be from 1 second to 14 days; got 15 days');
  });

  it("alarms on a consumer's unreadable messages: a count in the library's namespace, missing data not breaching", () => {
    const stack = testStack();
    const messaging = new ReliableMessaging(stack, 'Messaging');
    messaging.addConsumer('Orders', { handler: someFunction(stack, 'ConsumerFunction') });
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'ReliableMessaging',
      MetricName: 'UnreadableMessages',
      Dimensions: Match.arrayWith([
        { Name: 'service', Value: 'idempotent-consumer' },
        { Name: 'stack', Value: 'TestStack' },
      ]),
      Statistic: 'Sum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MessagingAlertsTopic') }],
      OKActions: [{ Ref: Match.stringLikeRegexp('^MessagingAlertsTopic') }],
    });
  });
});
