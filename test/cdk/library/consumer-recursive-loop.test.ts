import type { Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { AlertTopic } from '../../../lib/constructs/alert-topic';
import { CompensationSweeper } from '../../../lib/constructs/compensation-sweeper';
import { FifoChannel } from '../../../lib/constructs/fifo-channel';
import { IdempotentConsumer } from '../../../lib/constructs/idempotent-consumer';
import { MessagingAlarms } from '../../../lib/constructs/messaging-alarms';
import { OutboxRelay } from '../../../lib/constructs/outbox-relay';
import { TransactionalOutbox } from '../../../lib/constructs/transactional-outbox';
import { testStack } from '../support/synth';

/** A stack with the messaging constructs, and a consumer when asked. */
function messagingStack(withConsumer: boolean) {
  const stack = testStack();
  const alerts = new AlertTopic(stack, 'Alerts');
  const outbox = new TransactionalOutbox(stack, 'Outbox');
  const channel = new FifoChannel(stack, 'Channel');
  const relay = new OutboxRelay(stack, 'Relay', { outbox, channel });
  const sweeper = new CompensationSweeper(stack, 'Sweeper', { outbox, channel, alertTopic: alerts.topic });
  const handler = consumerFunction(stack);
  const consumer = withConsumer
    ? new IdempotentConsumer(stack, 'Consumer', { queue: channel.queue, handler, alertTopic: alerts.topic })
    : undefined;
  new MessagingAlarms(stack, 'Alarms', { alertTopic: alerts.topic, channel, relay, sweeper, consumer });
  return { stack, handler, consumer, template: Template.fromStack(stack) };
}

function consumerFunction(stack: Stack): lambda.Function {
  return new lambda.Function(stack, 'ConsumerFunction', {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
  });
}

const logicalId = (stack: Stack, fn: lambda.Function) =>
  stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);

describe("IdempotentConsumer: the hand-over through the consumer's own queue is never stopped as a loop", () => {
  it("sets the consumer function's recursive loop to Allow, and no other function's", () => {
    // GIVEN / WHEN
    const { stack, handler, template } = messagingStack(true);

    // THEN
    const allowed = Object.entries(template.findResources('AWS::Lambda::Function'))
      .filter(([, fn]) => fn.Properties.RecursiveLoop !== undefined)
      .map(([id, fn]) => [id, fn.Properties.RecursiveLoop]);
    expect(allowed).toEqual([[logicalId(stack, handler), 'Allow']]);
  });

  it("measures the consumer's dropped recursive invocations (AWS/Lambda, summed)", () => {
    // GIVEN
    const { stack, handler, consumer } = messagingStack(true);

    // WHEN
    const metric = consumer!.metricRecursiveInvocationsDropped();

    // THEN
    expect(metric.namespace).toBe('AWS/Lambda');
    expect(metric.metricName).toBe('RecursiveInvocationsDropped');
    expect(metric.statistic).toBe('Sum');
    expect(stack.resolve(metric.dimensions)).toEqual({ FunctionName: { Ref: logicalId(stack, handler) } });
  });

  it('alarms the alert topic, when it fires and when it recovers, on any dropped recursive invocation', () => {
    // GIVEN / WHEN
    const { stack, handler, template } = messagingStack(true);

    // THEN
    const topic = { Ref: Match.stringLikeRegexp('^AlertsTopic') };
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Lambda',
      MetricName: 'RecursiveInvocationsDropped',
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack, handler) } }],
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      TreatMissingData: 'notBreaching',
      AlarmActions: [topic],
      OKActions: [topic],
      AlarmDescription: Match.stringLikeRegexp('recursive loop'),
    });
  });

  it('has no such alarm without a consumer', () => {
    // GIVEN / WHEN
    const { template } = messagingStack(false);

    // THEN
    template.resourcePropertiesCountIs(
      'AWS::CloudWatch::Alarm',
      { MetricName: 'RecursiveInvocationsDropped' },
      0,
    );
  });
});
