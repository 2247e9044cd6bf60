import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CompensationSweeper } from './compensation-sweeper';
import type { FifoChannel } from './fifo-channel';
import { heartbeatAlarm } from './heartbeat-alarm';
import type { IdempotentConsumer } from './idempotent-consumer';
import type { OutboxRelay } from './outbox-relay';
import type { TransactionCheckBack } from './transaction-check-back';
import { validateDuration, validateRange } from './validation';

export interface MessagingAlarmThresholds {
  /**
   * Oldest message waiting in the queue: consumers are not keeping up.
   * @default Duration.minutes(5)
   */
  readonly oldestQueuedMessageAge?: Duration;
  /**
   * Messages waiting in the queue: a backlog that consumers are not draining.
   * @default 10000
   */
  readonly queueBacklog?: number;
  /**
   * How far the relay is behind the outbox stream.
   * @default Duration.minutes(1)
   */
  readonly relayIteratorAge?: Duration;
  /**
   * Oldest committed message not yet sent (as the sweeper last saw it).
   * @default Duration.minutes(5)
   */
  readonly oldestUnsentAge?: Duration;
  /**
   * Oldest transaction (half message) neither committed nor rolled back.
   * @default Duration.minutes(5)
   */
  readonly oldestOpenTransactionAge?: Duration;
  /**
   * Oldest message held back by a gap (waiting for its predecessor).
   * @default Duration.minutes(5)
   */
  readonly oldestGapAge?: Duration;
}

export interface MessagingAlarmsProps {
  /** Every alarm notifies this topic when it fires and when it recovers. */
  readonly alertTopic: sns.ITopic;
  readonly channel: FifoChannel;
  readonly relay: OutboxRelay;
  readonly sweeper: CompensationSweeper;
  /**
   * The check-back of transactional messages, if any: alarms on its oldest open transaction and on FAILED ones.
   * @default no transactional messages
   */
  readonly checkBack?: TransactionCheckBack;
  /**
   * An idempotent consumer: alarms on its oldest open gap and on parked keys, and on its inbox monitor (heartbeat,
   * errors and throttles).
   * @default none
   */
  readonly consumer?: IdempotentConsumer;
  /**
   * Further functions whose errors and throttles alarm, by a stable name (the relay and the sweeper are included).
   * @default none
   */
  readonly functions?: Readonly<Record<string, lambda.IFunction>>;
  /** @default see each threshold */
  readonly thresholds?: MessagingAlarmThresholds;
}

/**
 * The alarms that say a message may be stuck or lost, each notifying the alert topic, and a dashboard of the
 * same signals: dead-letter queue not empty, oldest queued message, relay iterator age, relay failure queue
 * not empty, oldest unsent outbox message, FAILED outbox messages, and errors and throttles of every function.
 */
export class MessagingAlarms extends Construct {
  /** Every alarm, by a stable name. */
  public readonly alarms: Readonly<Record<string, cloudwatch.Alarm>>;
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MessagingAlarmsProps) {
    super(scope, id);
    const thresholds = props.thresholds ?? {};
    validateDuration(
      'oldestQueuedMessageAge',
      thresholds.oldestQueuedMessageAge,
      Duration.seconds(1),
      Duration.days(14),
    );
    validateRange('queueBacklog', thresholds.queueBacklog, 1, 100_000_000);
    validateDuration('relayIteratorAge', thresholds.relayIteratorAge, Duration.seconds(1), Duration.days(1));
    validateDuration('oldestUnsentAge', thresholds.oldestUnsentAge, Duration.seconds(1), Duration.days(14));
    validateDuration(
      'oldestOpenTransactionAge',
      thresholds.oldestOpenTransactionAge,
      Duration.seconds(1),
      Duration.days(14),
    );

    const action = new actions.SnsAction(props.alertTopic);
    const alarms: Record<string, cloudwatch.Alarm> = {};
    /**
     * An alarm on a metric: missing data is not breaching. A gauge a scheduled function of the library publishes on
     * every run (`gauge`) ignores missing data instead: no data means its publisher is dead, not that all is well, so
     * the alarm keeps its state (an alarm in ALARM never turns OK because the function stopped), and the function's
     * heartbeat alarm says it is dead.
     */
    const add = (
      name: string,
      metric: cloudwatch.Metric,
      threshold: number,
      description: string,
      kind: 'event' | 'gauge' = 'event',
    ) => {
      const alarm = metric.createAlarm(this, name, {
        alarmDescription: description,
        threshold,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData:
          kind === 'gauge' ? cloudwatch.TreatMissingData.IGNORE : cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms[name] = alarm;
    };

    const period = Duration.minutes(1);
    add(
      'DeadLetterMessages',
      props.channel.metricDeadLetterMessages({ period }),
      0,
      'Messages in the dead-letter queue: a consumer failed them repeatedly. Repair: npm run ops -- redrive',
    );
    add(
      'OldestQueuedMessageAge',
      props.channel.metricOldestMessageAge({ period }),
      (thresholds.oldestQueuedMessageAge ?? Duration.minutes(5)).toSeconds(),
      'The oldest queued message is older than the threshold: consumers are not keeping up or a key is blocked.',
    );
    add(
      'QueueBacklog',
      props.channel.metricBacklog({ period }),
      thresholds.queueBacklog ?? 10_000,
      'The queue holds more messages than the threshold: raise the consumer maxConcurrency or look at its errors.',
    );
    add(
      'RelayIteratorAge',
      props.relay.metricIteratorAge({ period }),
      (thresholds.relayIteratorAge ?? Duration.minutes(1)).toMilliseconds(),
      'The relay is behind the outbox stream.',
    );
    // New give-ups in the period (messages sent to the failure queue), not its depth: nothing drains that queue,
    // so a depth alarm would stay in ALARM for its 14-day retention after one give-up and hide every later one.
    add(
      'RelayFailures',
      props.relay.failureQueue.metricNumberOfMessagesSent({ period, statistic: 'Sum' }),
      0,
      'The relay gave up on stream records in the last minute; their messages stay PENDING in the outbox for the sweeper.',
    );
    add(
      'OldestUnsentMessageAge',
      props.sweeper.metricOldestPendingAge({ period }),
      (thresholds.oldestUnsentAge ?? Duration.minutes(5)).toSeconds(),
      'A committed message has not been sent for longer than the threshold.',
      'gauge',
    );
    add(
      'FailedMessages',
      props.sweeper.metricFailed({ period }),
      0,
      'Outbox messages were given up on (FAILED). Repair: npm run ops -- retry-failed',
      'gauge',
    );

    if (props.checkBack !== undefined) {
      add(
        'OldestOpenTransactionAge',
        props.checkBack.metricOldestOpenAge({ period }),
        (thresholds.oldestOpenTransactionAge ?? Duration.minutes(5)).toSeconds(),
        'A transactional message has been neither committed nor rolled back for longer than the threshold.',
        'gauge',
      );
      add(
        'FailedTransactions',
        props.checkBack.metricFailed({ period }),
        0,
        'The check-back gave up on transactions (alert sent per transaction). Repair: resolve them by hand.',
      );
      add(
        'FailedTransactionsOpen',
        props.checkBack.metricFailedOpen({ period }),
        0,
        'Transactions are FAILED and wait for an operator (counted by every check-back pass, however they became FAILED). Repair: npm run ops -- resolve --transaction T --commit (or --rollback)',
        'gauge',
      );
    }
    if (props.consumer !== undefined) {
      add(
        'OldestGapAge',
        props.consumer.metricOldestHeldAge({ period }),
        (thresholds.oldestGapAge ?? Duration.minutes(5)).toSeconds(),
        'A message has waited for its predecessor longer than the threshold: a message of its key is missing.',
        'gauge',
      );
      add(
        'ParkedKeys',
        props.consumer.metricParkedKeys({ period }),
        0,
        'Keys are parked: one of their messages kept failing. Repair: fix the cause, then replay the key.',
        'gauge',
      );
      add(
        'ConsumerRecursiveInvocationsDropped',
        props.consumer.metricRecursiveInvocationsDropped({ period }),
        0,
        "Lambda stopped the consumer's hand-over of a held chain through its own queue as a recursive loop: that key stalls. Check that the consumer's recursive loop is Allow, then replay the key.",
      );
    }
    // The safety net watches itself: no completed sweep (or check-back pass) in three schedule periods alarms.
    const heartbeats: Record<string, cloudwatch.Alarm> = {
      SweeperHeartbeat: heartbeatAlarm(
        this,
        'SweeperHeartbeat',
        props.sweeper.metricPassesCompleted(),
        props.sweeper.schedule,
        'No compensation sweep completed in three schedule periods: nothing re-sends what the relay left behind.',
      ),
      ...(props.checkBack === undefined
        ? {}
        : {
            CheckBackHeartbeat: heartbeatAlarm(
              this,
              'CheckBackHeartbeat',
              props.checkBack.metricPassesCompleted(),
              props.checkBack.schedule,
              'No check-back pass completed in three schedule periods: open transactions are not being resolved.',
            ),
          }),
      ...(props.consumer === undefined
        ? {}
        : {
            InboxMonitorHeartbeat: heartbeatAlarm(
              this,
              'InboxMonitorHeartbeat',
              props.consumer.metricMonitorPassesCompleted(),
              props.consumer.monitorSchedule,
              'No inbox inspection completed in three schedule periods: the gap and parked-key alarms see nothing new.',
            ),
          }),
    };
    for (const [name, alarm] of Object.entries(heartbeats)) {
      alarm.addAlarmAction(action);
      alarm.addOkAction(action);
      alarms[name] = alarm;
    }

    const functions: Record<string, lambda.IFunction> = {
      Relay: props.relay.function,
      Sweeper: props.sweeper.function,
      ...(props.checkBack === undefined ? {} : { CheckBack: props.checkBack.function }),
      ...(props.consumer === undefined ? {} : { InboxMonitor: props.consumer.monitor }),
      ...props.functions,
    };
    for (const [name, fn] of Object.entries(functions)) {
      add(
        `${name}Errors`,
        fn.metricErrors({ period, statistic: 'Sum' }),
        0,
        `Function ${name} failed invocations.`,
      );
      add(
        `${name}Throttles`,
        fn.metricThrottles({ period, statistic: 'Sum' }),
        0,
        `Function ${name} was throttled.`,
      );
    }
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(alarms), width: 24 })],
        [
          graph('Unsent outbox messages', [props.sweeper.metricPending(), props.sweeper.metricFailed()]),
          graph('Oldest unsent message (s)', [props.sweeper.metricOldestPendingAge()]),
          graph('Relay iterator age (ms)', [props.relay.metricIteratorAge()]),
        ],
        [
          graph('Queue backlog', [props.channel.metricBacklog(), props.channel.metricDeadLetterMessages()]),
          graph('Oldest queued message (s)', [props.channel.metricOldestMessageAge()]),
          graph(
            'Errors',
            Object.entries(functions).map(([name, fn]) => fn.metricErrors({ label: name, statistic: 'Sum' })),
          ),
        ],
      ],
    });
  }
}

function graph(title: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: 8 });
}
