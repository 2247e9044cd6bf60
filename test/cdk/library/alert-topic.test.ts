import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { EmailSubscription, SqsSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { describe, expect, it } from 'vitest';
import { ALERT_TOPIC_UNSUBSCRIBED_WARNING, AlertTopic } from '../../../lib/constructs/alert-topic';
import { projectRoot } from '../../../tools/paths';
import { testStack } from '../support/synth';
import { synthWarnings } from '../support/synth-warnings';

/** Runs bin/app.ts as `cdk synth -c …` would (cdk.json's context plus `context`), without bundling the functions. */
function synthApp(context: Record<string, unknown>) {
  const cdkJson = JSON.parse(readFileSync(path.join(projectRoot, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  const outdir = mkdtempSync(path.join(os.tmpdir(), 'alert-subscriptions-'));
  const result = spawnSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['bin/app.ts'], {
    cwd: projectRoot,
    encoding: 'utf8',
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ ...cdkJson.context, ...context, 'aws:cdk:bundling-stacks': [] }),
    },
  });
  const template = () =>
    JSON.parse(readFileSync(path.join(outdir, 'ReliableMessagingDemo.template.json'), 'utf8')) as {
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
  const warnings = () => synthWarnings(outdir);
  return { status: result.status, stderr: result.stderr, template, warnings };
}

const NO_SUBSCRIBER = Match.stringLikeRegexp(`no subscriber.*${ALERT_TOPIC_UNSUBSCRIBED_WARNING}`);

describe('AlertTopic: who is told', () => {
  it('subscribes what AlertTopic is given to the topic', () => {
    // GIVEN
    const stack = testStack();
    // WHEN
    new AlertTopic(stack, 'Alerts', { subscriptions: [new EmailSubscription('ops@example.com')] });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('has no subscription by default', () => {
    // GIVEN
    const stack = testStack();
    // WHEN
    new AlertTopic(stack, 'Alerts');
    // THEN
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('mails the alerts to the address of `cdk deploy -c alertEmail=…`', () => {
    // WHEN
    const synth = synthApp({ alertEmail: 'ops@example.com' });
    // THEN
    expect(synth.status, synth.stderr).toBe(0);
    // The alert topic's (the events topic's are the consumer groups' queues).
    const subscriptions = Object.values(synth.template().Resources).filter(
      (resource) =>
        resource.Type === 'AWS::SNS::Subscription' &&
        /^AlertsTopic/.test(String((resource.Properties?.TopicArn as { Ref?: unknown } | undefined)?.Ref)),
    );
    expect(subscriptions.map((s) => [s.Properties?.Protocol, s.Properties?.Endpoint])).toEqual([
      ['email', 'ops@example.com'],
    ]);
  });

  it('fails the synth, saying what was given, if alertEmail is not an email address', () => {
    // WHEN
    const synth = synthApp({ alertEmail: 'ops at example' });
    // THEN
    expect(synth.status).not.toBe(0);
    expect(synth.stderr).toContain(
      'context alertEmail must be an email address such as ops@example.com; got "ops at example"',
    );
  });

  it("warns that an imported key's policy must let CloudWatch use it (CDK cannot add the statement)", () => {
    // GIVEN
    const stack = testStack();
    const imported = kms.Key.fromKeyArn(
      stack,
      'Imported',
      'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555',
    );
    // WHEN
    new AlertTopic(stack, 'Alerts', { encryptionKey: imported });
    // THEN
    Annotations.fromStack(stack).hasWarning(
      '/TestStack/Alerts',
      Match.stringLikeRegexp('cloudwatch.amazonaws.com'),
    );
  });
});

describe('AlertTopic: a topic nobody reads is said loudly', () => {
  it('warns at synth that every alarm and alert reaches nobody when the topic has no subscriber', () => {
    // GIVEN
    const stack = testStack();
    // WHEN
    new AlertTopic(stack, 'Alerts');
    // THEN
    Annotations.fromStack(stack).hasWarning('/TestStack/Alerts', NO_SUBSCRIBER);
  });

  it('never warns when AlertTopic is given a subscription', () => {
    // GIVEN
    const stack = testStack();
    // WHEN
    new AlertTopic(stack, 'Alerts', { subscriptions: [new EmailSubscription('ops@example.com')] });
    // THEN
    Annotations.fromStack(stack).hasNoWarning('*', NO_SUBSCRIBER);
  });

  it('never warns when a subscription is added later, even one the subscriber owns (an SQS queue)', () => {
    // GIVEN
    const stack = testStack();
    const alerts = new AlertTopic(stack, 'Alerts');
    // WHEN
    alerts.topic.addSubscription(new SqsSubscription(new sqs.Queue(stack, 'Pager')));
    // THEN
    expect(
      stack.node
        .findAll()
        .some((node) => node instanceof sns.Subscription && node.node.scope === alerts.topic),
    ).toBe(false);
    Annotations.fromStack(stack).hasNoWarning('*', NO_SUBSCRIBER);
  });

  it('warns all the same when only another topic has a subscriber', () => {
    // GIVEN
    const stack = testStack();
    new sns.Topic(stack, 'Other').addSubscription(new EmailSubscription('someone@example.com'));
    // WHEN
    new AlertTopic(stack, 'Alerts');
    // THEN
    Annotations.fromStack(stack).hasWarning('/TestStack/Alerts', NO_SUBSCRIBER);
  });

  it('warns on `cdk deploy` of the app without -c alertEmail, and not with it', () => {
    // WHEN
    const without = synthApp({});
    const withEmail = synthApp({ alertEmail: 'ops@example.com' });
    // THEN
    expect(without.status, without.stderr).toBe(0);
    expect(withEmail.status, withEmail.stderr).toBe(0);
    const unsubscribed = (warnings: string[]) =>
      warnings.filter((warning) => warning.includes(ALERT_TOPIC_UNSUBSCRIBED_WARNING));
    expect(unsubscribed(without.warnings())).toEqual([
      expect.stringMatching(/^\/ReliableMessagingDemo\/Alerts: The alert topic has no subscriber/),
    ]);
    expect(unsubscribed(withEmail.warnings())).toEqual([]);
  });
});
