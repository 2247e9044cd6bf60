import { CloudWatchClient, DescribeAlarmsCommand, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACK_DIMENSION } from '../../functions/runtime/library-metrics';
import { METRICS_NAMESPACE, MetricsService, SweeperMetric } from '../../functions/runtime/metric-names';
import { AlertSubscriber } from '../../tools/stack/alert-subscriber';
import { STACK_NAME } from '../../tools/stack/outputs';
import { eventually, type Stack, stack, uniquePrefix } from './support/aws';

/**
 * On AWS the sweeper's EMF log lines become these metrics; the emulator does not extract EMF, so the test puts
 * the data point the sweeper would have produced, and checks the rest of the path: alarm → SNS → subscriber.
 */
/** What CloudWatch publishes to the alarm's topic on a state change. */
interface AlarmNotification {
  readonly AlarmName?: string;
  readonly NewStateValue?: string;
  readonly Trigger?: { readonly MetricName?: string; readonly Namespace?: string };
}

describe('alarms notify the alert topic', () => {
  let s: Stack;
  let cloudwatch: CloudWatchClient;
  beforeAll(() => {
    s = stack();
    cloudwatch = new CloudWatchClient({
      endpoint: s.endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  });

  async function putFailedCount(value: number, secondsAgo = 0): Promise<void> {
    await cloudwatch.send(
      new PutMetricDataCommand({
        Namespace: METRICS_NAMESPACE,
        MetricData: [
          {
            MetricName: SweeperMetric.OUTBOX_FAILED,
            // As the sweeper's Powertools Metrics publish it: its service and its stack (libraryMetrics).
            Dimensions: [
              { Name: 'service', Value: MetricsService.SWEEPER },
              { Name: STACK_DIMENSION, Value: STACK_NAME },
            ],
            Value: value,
            Unit: 'Count',
            Timestamp: new Date(Date.now() - secondsAgo * 1000),
          },
        ],
      }),
    );
  }

  async function failedMessagesAlarmState(): Promise<string | undefined> {
    const all = await cloudwatch.send(new DescribeAlarmsCommand({}));
    return all.MetricAlarms?.find((a) => a.AlarmName?.includes('FailedMessages'))?.StateValue;
  }

  it('FAILED outbox messages raise the FailedMessages alarm on the alert topic, and its recovery too', async () => {
    // GIVEN the alarm at OK (no FAILED message in its 1-minute window) and an on-call subscriber
    await eventually(
      'the FailedMessages alarm at OK',
      async () => {
        await putFailedCount(0);
        return (await failedMessagesAlarmState()) === 'OK' ? true : undefined;
      },
      90_000,
    );
    const subscriber = await AlertSubscriber.create(s, uniquePrefix('alarm-alerts'));

    // WHEN the sweeper reports a FAILED message (a data point 50 s old: still inside the alarm's 1-minute window)
    await putFailedCount(1, 50);

    // THEN the alarm is in ALARM and its notification reaches the subscriber
    const alarm = await eventually('the alarm notification', async () => {
      const received = (await subscriber.receive()) as AlarmNotification[];
      return received.find((n) => n.AlarmName?.includes('FailedMessages') && n.NewStateValue === 'ALARM');
    });
    expect(alarm).toMatchObject({
      NewStateValue: 'ALARM',
      Trigger: { MetricName: SweeperMetric.OUTBOX_FAILED, Namespace: METRICS_NAMESPACE },
    });
    const described = await cloudwatch.send(new DescribeAlarmsCommand({ AlarmNames: [alarm!.AlarmName!] }));
    expect(described.MetricAlarms?.[0]?.StateValue).toBe('ALARM');

    // WHEN the operator repaired it, that data point has left the window, and the count is back to 0
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    await putFailedCount(0);

    // THEN the recovery is announced too
    await eventually('the OK notification', async () => {
      const received = (await subscriber.receive()) as Array<{ AlarmName?: string; NewStateValue?: string }>;
      return received.find((n) => n.AlarmName === alarm!.AlarmName && n.NewStateValue === 'OK');
    });
  });
});
