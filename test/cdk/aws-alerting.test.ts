import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALERT_TOPIC_UNSUBSCRIBED_WARNING } from '../../lib/constructs/alert-topic';
import { awsSynth, type CfnTemplate, type SynthesizedStack } from './aws-synth';
import { synthWarnings } from './support/synth-warnings';
import { logicalIdOf, property, resourceOfOutput, resourcesOfType } from './support/template-access';

let stack: SynthesizedStack;
let template: CfnTemplate;

beforeAll(async () => {
  [stack] = (await awsSynth()) as [SynthesizedStack];
  template = stack.template;
}, 600_000);

describe('alerting in the AWS synth (cdk synth of bin/app.ts with cdk.json)', () => {
  it("allows the consumer's recursive loop (SQS → consumer → its own queue) and no other function's", () => {
    // GIVEN
    const consumer = resourceOfOutput(template, 'ConsumerFunctionName');
    // WHEN
    const allowed = resourcesOfType(template, 'AWS::Lambda::Function')
      .filter(([, fn]) => property(fn, 'RecursiveLoop') !== undefined)
      .map(([id, fn]) => [id, property(fn, 'RecursiveLoop')]);
    // THEN
    expect(allowed).toEqual([[consumer, 'Allow']]);
  });

  it("alarms the alert topic when Lambda drops the consumer's recursive invocations", () => {
    // GIVEN
    const consumer = resourceOfOutput(template, 'ConsumerFunctionName');
    const topic = resourceOfOutput(template, 'AlertTopicArn');
    // WHEN
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(
      ([, alarm]) => property(alarm, 'MetricName') === 'RecursiveInvocationsDropped',
    );
    // THEN
    expect(alarms).toHaveLength(1);
    const [, alarm] = alarms[0]!;
    expect(alarm.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      Statistic: 'Sum',
      Period: 60,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const dimensions = property(alarm, 'Dimensions') as { Name: string; Value: unknown }[];
    expect(dimensions.map((d) => [d.Name, logicalIdOf(d.Value)])).toEqual([['FunctionName', consumer]]);
    expect((property(alarm, 'AlarmActions') as unknown[]).map(logicalIdOf)).toEqual([topic]);
  });

  it('warns that nobody is alerted when deployed without -c alertEmail', () => {
    // WHEN
    const warnings = synthWarnings(path.dirname(stack.templateFile)).filter((warning) =>
      warning.includes(ALERT_TOPIC_UNSUBSCRIBED_WARNING),
    );
    // THEN
    expect(warnings).toEqual([
      expect.stringMatching(
        /^\/ReliableMessagingDemo\/Alerts: The alert topic has no subscriber.*alertEmail/,
      ),
    ]);
  });
});
