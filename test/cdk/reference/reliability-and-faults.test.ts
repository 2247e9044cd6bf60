import { Match } from 'aws-cdk-lib/assertions';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { awsTemplate } from '../support/synth';

describe('compensation sweeper, alarms and dashboard (AWS synth)', () => {
  const template = awsTemplate();

  it('runs the sweeper every minute', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(1 minute)',
      State: 'ENABLED',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SweeperHandlerFunction'), 'Arn'] },
        }),
      ],
    });
  });

  it('gives the sweeper its default policy: 2 min grace, 8 attempts, 24 h, 30 s backoff doubling to 15 min, an audit every 5 min after 2 min', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SWEEP_GRACE_PERIOD_SECONDS: '120',
          SWEEP_MAX_ATTEMPTS: '8',
          SWEEP_MAX_AGE_SECONDS: String(24 * 3600),
          SWEEP_BACKOFF_BASE_SECONDS: '30',
          SWEEP_BACKOFF_MAX_SECONDS: '900',
          SWEEP_AUDIT_INTERVAL_SECONDS: '300',
          SWEEP_AUDIT_GRACE_SECONDS: '120',
          ALERT_TOPIC_ARN: Match.anyValue(),
        }),
      },
    });
  });

  it('alarms when no outbox audit completed in three audit periods (5 min interval + 1 min schedule), and on any message the audit found unmarked', () => {
    // THEN
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OutboxAuditCompleted',
      Period: 360,
      EvaluationPeriods: 3,
      ComparisonOperator: 'LessThanThreshold',
      Threshold: 1,
      TreatMissingData: 'breaching',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OutboxAuditMarked',
      Statistic: 'Sum',
      ComparisonOperator: 'GreaterThanThreshold',
      Threshold: 0,
    });
  });

  it('lets the sweeper publish alerts to the alert topic', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: 'sns:Publish',
            Resource: { Ref: Match.stringLikeRegexp('^AlertsTopic') },
          }),
        ]),
      },
    });
  });

  it('alarms on the DLQ, queue age, relay iterator age and failures, unsent age, FAILED messages, and every function', () => {
    const alarms = template.findResources('AWS::CloudWatch::Alarm');
    const byMetric = Object.values(alarms).map(
      (alarm) => `${alarm.Properties.Namespace}/${alarm.Properties.MetricName}`,
    );
    expect(byMetric).toEqual(
      expect.arrayContaining([
        'AWS/SQS/ApproximateNumberOfMessagesVisible',
        'AWS/SQS/ApproximateAgeOfOldestMessage',
        'AWS/Lambda/IteratorAge',
        'ReliableMessaging/OldestPendingAgeSeconds',
        'ReliableMessaging/OutboxFailed',
        'ReliableMessaging/UnreadableMessages',
      ]),
    );
    // relay, sweeper, check-back, API, payment checker, and each group's consumer and inbox monitor (3 groups)
    expect(byMetric.filter((metric) => metric === 'AWS/Lambda/Errors')).toHaveLength(11);
    expect(byMetric.filter((metric) => metric === 'AWS/Lambda/Throttles')).toHaveLength(11);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: expect.stringMatching(/^AlertsTopic/) }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: expect.stringMatching(/^AlertsTopic/) }]);
    }
  });

  it('never lets a dead publisher turn an alarm OK: heartbeats breach on missing data, scheduled gauges keep their state', () => {
    const expected: Record<string, string> = {
      // the heartbeats of the scheduled functions
      SweepCompleted: 'breaching',
      CheckBackCompleted: 'breaching',
      InboxMonitorCompleted: 'breaching',
      OutboxAuditCompleted: 'breaching',
      // the gauges they publish on every run: missing data means a dead publisher, which its heartbeat reports
      OldestPendingAgeSeconds: 'ignore',
      OutboxFailed: 'ignore',
      OldestHalfMessageAgeSeconds: 'ignore',
      FailedHalfMessages: 'ignore',
      OldestHeldAgeSeconds: 'ignore',
      ParkedKeys: 'ignore',
      // events and AWS metrics: no data is nothing happening
      HalfMessagesFailed: 'notBreaching',
      OutboxAuditMarked: 'notBreaching',
      NumberOfMessagesSent: 'notBreaching',
      Errors: 'notBreaching',
      Throttles: 'notBreaching',
      ApproximateNumberOfMessagesVisible: 'notBreaching',
      ApproximateAgeOfOldestMessage: 'notBreaching',
      IteratorAge: 'notBreaching',
      RecursiveInvocationsDropped: 'notBreaching',
      UnreadableMessages: 'notBreaching',
      NumberOfNotificationsFailed: 'notBreaching',
      NumberOfNotificationsFailedToRedriveToDlq: 'notBreaching',
    };
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    const named = alarms.filter((alarm) => alarm.Properties.MetricName !== undefined);
    expect(named.length).toBeGreaterThan(20);
    for (const alarm of named) {
      expect([alarm.Properties.MetricName, alarm.Properties.TreatMissingData]).toEqual([
        alarm.Properties.MetricName,
        expected[alarm.Properties.MetricName as string],
      ]);
    }
    expect(new Set(named.map((alarm) => alarm.Properties.MetricName))).toEqual(
      new Set(Object.keys(expected)),
    );
  });

  it('alarms on errors and throttles of the inbox monitor', () => {
    for (const metric of ['Errors', 'Throttles']) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: metric,
        Dimensions: [
          { Name: 'FunctionName', Value: { Ref: Match.stringLikeRegexp('^ConsumerMonitorFunction') } },
        ],
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
    }
  });

  it.each([
    ['SweepCompleted', 'compensation-sweeper'],
    ['CheckBackCompleted', 'transaction-check-back'],
    ['InboxMonitorCompleted', 'inbox-monitor'],
  ])(
    'alarms when no %s heartbeat came in three schedule periods, missing data breaching',
    (metric, service) => {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'ReliableMessaging',
        MetricName: metric,
        Dimensions: Match.arrayWith([{ Name: 'service', Value: service }]),
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 3,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      });
    },
  );

  it('gives the outbox a sparse index of unsent messages and open transactions, keys and decision attributes only', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'groupKey', KeyType: 'HASH' },
        { AttributeName: 'sequence', KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: [
        {
          IndexName: 'unsent',
          KeySchema: [
            { AttributeName: 'sweepShard', KeyType: 'HASH' },
            { AttributeName: 'sweepOrder', KeyType: 'RANGE' },
          ],
          Projection: {
            ProjectionType: 'INCLUDE',
            NonKeyAttributes: Match.arrayWith(['status', 'attempts']),
          },
        },
      ],
    });
  });

  it('alarms on new relay give-ups (messages sent to the failure queue in the minute), not on its depth', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SQS',
      MetricName: 'NumberOfMessagesSent',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RelayFailureQueue'), 'QueueName'] },
        },
      ],
      Statistic: 'Sum',
      Threshold: 0,
    });
    const onFailureQueueDepth = Object.values(template.findResources('AWS::CloudWatch::Alarm')).filter(
      (alarm) =>
        alarm.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
        JSON.stringify(alarm.Properties.Dimensions).includes('RelayFailureQueue'),
    );
    expect(onFailureQueueDepth).toEqual([]);
  });

  it('alarms on any FAILED message and any dead-lettered message (threshold 0)', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'OutboxFailed',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ChannelDeadLetterQueue'), 'QueueName'] },
        },
      ],
      Threshold: 0,
    });
  });

  it('alarms on a queue backlog of more than 10,000 messages', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [
        {
          Name: 'QueueName',
          Value: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ChannelQueue'), 'QueueName'] },
        },
      ],
      Threshold: 10_000,
    });
  });

  it("lets CloudWatch, for this account's alarms only, use the key of the encrypted alert topic", () => {
    template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            Condition: {
              StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
              ArnLike: { 'aws:SourceArn': Match.anyValue() },
            },
          }),
        ]),
      },
    });
  });

  it('has a dashboard', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('durability settings (docs/concepts.md "Durability")', () => {
  const template = awsTemplate();

  it('keeps queued and dead-lettered messages 14 days', () => {
    const queues = Object.values(
      template.findResources('AWS::SQS::Queue', { Properties: { FifoQueue: true } }),
    );
    // queue and dead-letter queue of each of the three groups
    expect(queues).toHaveLength(6);
    for (const queue of queues) expect(queue.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
  });

  it('retains the queues and the key when the stack is deleted', () => {
    for (const queue of Object.values(template.findResources('AWS::SQS::Queue')))
      expect(queue.DeletionPolicy).toBe('Retain');
    for (const key of Object.values(template.findResources('AWS::KMS::Key')))
      expect(key.DeletionPolicy).toBe('Retain');
  });
});

describe('fault injection is unreachable in a stack built without it', () => {
  const production = awsTemplate();
  const testStack = awsTemplate({ faultInjection: true });

  it('the production synth has no fault parameter, no fault setting and no permission to read one', () => {
    production.resourceCountIs('AWS::SSM::Parameter', 0);
    const text = JSON.stringify(production.toJSON());
    expect(text).not.toContain('FAULTS_PARAMETER_NAME');
    expect(text).not.toContain('ssm:GetParameter');
    expect(Object.keys(production.findOutputs('FaultsParameterName'))).toHaveLength(0);
  });

  it('a fault-injection synth has the parameter and gives it to every function', () => {
    testStack.resourceCountIs('AWS::SSM::Parameter', 1);
    const functions = Object.values(testStack.findResources('AWS::Lambda::Function'));
    const withFaults = functions.filter(
      (fn) => fn.Properties.Environment?.Variables?.FAULTS_PARAMETER_NAME !== undefined,
    );
    // relay, sweeper, check-back, API, payment checker, and each group's consumer and inbox monitor (3 groups):
    // every function that writes to DynamoDB may lose the answer to a write (ambiguousWriteRate)
    expect(withFaults).toHaveLength(11);
    testStack.hasOutput('FaultsParameterName', {});
  });

  /** Bundles a handler the way BundledFunction does, with the fault flag as given. */
  async function bundle(entry: string, faultInjection: boolean): Promise<string> {
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      minify: true,
      mainFields: ['module', 'main'],
      define: { FAULT_INJECTION_ENABLED: String(faultInjection) },
      logLevel: 'silent',
    });
    return result.outputFiles[0]!.text;
  }

  it.each([
    'functions/relay/handler.ts',
    'reference/functions/consumer-handler.ts',
    'reference/functions/audit-consumer-handler.ts',
    'reference/functions/shipping-consumer-handler.ts',
    'functions/sweeper/handler.ts',
    'reference/functions/api-handler.ts',
    'reference/functions/payment-checker-handler.ts',
    'functions/check-back/handler.ts',
    'functions/inbox-monitor/handler.ts',
  ])('the production bundle of %s contains no fault code', async (entry) => {
    const production = await bundle(entry, false);
    const withFaults = await bundle(entry, true);
    expect(withFaults).toContain('FAULTS_PARAMETER_NAME');
    expect(production).not.toContain('FAULTS_PARAMETER_NAME');
    expect(production).not.toContain('injected fault');
    expect(production).not.toContain('GetParameterCommand');
  });
});
