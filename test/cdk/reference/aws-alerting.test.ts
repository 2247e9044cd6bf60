import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ALERT_TOPIC_UNSUBSCRIBED_WARNING } from '../../../lib/constructs/alert-topic';
import { awsSynth, type CfnTemplate, type SynthesizedStack } from '../support/aws-synth';
import { synthWarnings } from '../support/synth-warnings';
import { logicalIdOf, property, resourceOfOutput, resourcesOfType } from './support/template-access';

/** The outputs naming the consumer function of each group: projection, audit, shipping. */
const CONSUMER_OUTPUTS = [
  'ConsumerFunctionName',
  'AuditConsumerFunctionName',
  'ShippingConsumerFunctionName',
];

let stack: SynthesizedStack;
let template: CfnTemplate;

beforeAll(async () => {
  [stack] = (await awsSynth()) as [SynthesizedStack];
  template = stack.template;
}, 600_000);

describe('alerting in the AWS synth (cdk synth of bin/app.ts with cdk.json)', () => {
  it("allows the consumers' recursive loop (SQS → consumer → its own queue) and no other function's", () => {
    // GIVEN the consumer of each group
    const consumers = CONSUMER_OUTPUTS.map((output) => resourceOfOutput(template, output));
    // WHEN
    const allowed = resourcesOfType(template, 'AWS::Lambda::Function')
      .filter(([, fn]) => property(fn, 'RecursiveLoop') !== undefined)
      .map(([id, fn]) => [id, property(fn, 'RecursiveLoop')]);
    // THEN
    expect(allowed.sort()).toEqual(consumers.map((consumer) => [consumer, 'Allow']).sort());
  });

  it.each(CONSUMER_OUTPUTS)(
    'alarms the alert topic when Lambda drops the recursive invocations of %s',
    (output) => {
      // GIVEN
      const consumer = resourceOfOutput(template, output);
      const topic = resourceOfOutput(template, 'AlertTopicArn');
      // WHEN
      const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(
        ([, alarm]) =>
          property(alarm, 'MetricName') === 'RecursiveInvocationsDropped' &&
          JSON.stringify(property(alarm, 'Dimensions')).includes(`"${consumer}"`),
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
    },
  );

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
