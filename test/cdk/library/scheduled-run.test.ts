import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { acknowledgeCfnLint } from '../../../lib/constructs/cfn-lint-acknowledgment';
import { runOnSchedule } from '../../../lib/constructs/scheduled-run';
import { testStack } from '../support/synth';

function scheduled(every: Duration): Template {
  const stack = testStack();
  const fn = new lambda.Function(stack, 'Fn', {
    runtime: lambda.Runtime.NODEJS_24_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => {}'),
  });
  runOnSchedule(stack, 'Schedule', fn, { every, description: 'test' });
  return Template.fromStack(stack);
}

describe('runOnSchedule', () => {
  it.each([
    [Duration.minutes(5), 300, 300],
    [Duration.hours(12), 43_200, 21_600],
    [Duration.days(2), 86_400, 21_600],
  ])(
    'every %s: no retries, events kept at most one period (target %i s, Lambda %i s)',
    (every, target, async) => {
      // WHEN
      const template = scheduled(every);
      // THEN
      template.hasResourceProperties('AWS::Events::Rule', {
        Targets: [{ RetryPolicy: { MaximumRetryAttempts: 0, MaximumEventAgeInSeconds: target } }],
      });
      template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: async,
      });
    },
  );
});

describe('acknowledgeCfnLint', () => {
  it('keeps every acknowledged rule of a resource, each with its reason', () => {
    // GIVEN
    const template = scheduled(Duration.minutes(1));
    // THEN
    const rules = template.findResources('AWS::Events::Rule');
    const metadata = Object.values(rules)[0]!.Metadata as Record<string, unknown>;
    expect(metadata['cfn-lint']).toEqual({ config: { ignore_checks: ['ES4000'] } });
    expect(Object.keys(metadata['cfn-lint-reasons'] as object)).toEqual(['ES4000']);
  });

  it.each([
    ['ES-4000', 'a reason', /must be a cfn-lint rule id/],
    ['ES4000', '  ', /needs a reason/],
  ])('fails if the rule is %j and the reason %j', (rule, reason, error) => {
    // GIVEN
    const stack = testStack();
    const fn = new lambda.CfnFunction(stack, 'Fn', { code: {}, role: 'arn:aws:iam::1:role/r' });
    // WHEN / THEN
    expect(() => acknowledgeCfnLint(fn, rule, reason)).toThrow(error);
  });
});
