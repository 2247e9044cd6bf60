import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import type { CompensationSweeper } from './compensation-sweeper';
import type { ConsumerGroup } from './consumer-group';
import type { EventsTopic } from './events-topic';
import type { FifoChannel } from './fifo-channel';
import { heartbeatAlarm } from './heartbeat-alarm';
import type { IdempotentConsumer } from './idempotent-consumer';
import { opsCommand } from './ops-command';
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
   * The events topic of consumer groups, when the relay publishes to one: alarms on deliveries SNS failed to make
   * (`TopicNotificationsFailed`; each went to its group's dead-letter queue) and on those it could not even put there
   * (`TopicNotificationsLost`), and graphs them. The groups join with `addConsumerGroup`.
   * @default no topic (a single queue)
   */
  readonly topic?: EventsTopic;
  /**
   * The check-back of transactional messages, if any: alarms on its oldest open transaction and on FAILED ones.
   * @default no transactional messages
   */
  readonly checkBack?: TransactionCheckBack;
  /**
   * An idempotent consumer: alarms on its oldest open gap, parked keys, unreadable messages and on its inbox monitor
   * (heartbeat, errors and throttles). Further consumers (or this one, under its own name): `addConsumer`.
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

/** How `MessagingAlarms.addConsumer` names a consumer's alarms. */
export interface ConsumerAlarmsOptions {
  /**
   * The prefix of the consumer's alarm names (`<name>OldestGapAge`, `<name>ParkedKeys`, `<name>Errors`, …).
   * @default the consumer's construct id
   */
  readonly name?: string;
}

/** How `MessagingAlarms.addConsumerGroup` names a group's alarms. */
export interface ConsumerGroupAlarmsOptions {
  /**
   * The prefix of the group's alarm names (`<name>DeadLetterMessages`, `<name>OldestQueuedMessageAge`,
   * `<name>QueueBacklog`, and its consumer's: `<name>OldestGapAge`, `<name>ParkedKeys`, `<name>Errors`, …).
   * @default the group's construct id
   */
  readonly name?: string;
}

/** The names of one consumer's alarms. */
interface ConsumerAlarmNames {
  readonly oldestGapAge: string;
  readonly parkedKeys: string;
  readonly recursiveInvocationsDropped: string;
  readonly unreadableMessages: string;
  readonly monitorHeartbeat: string;
  /** The inbox monitor's errors and throttles: `<monitor>Errors`, `<monitor>Throttles`. */
  readonly monitor: string;
  /** The consumer function's errors and throttles, when they are watched. */
  readonly handler?: string;
}

/** An alarm on a metric a scheduled function of the library publishes on every run, or on a count of events. */
type AlarmKind = 'event' | 'gauge';

/**
 * The alarms that say a message may be stuck or lost, each notifying the alert topic when it fires and when it
 * recovers, and a dashboard of the same signals: dead-letter queue not empty, oldest queued message, relay iterator
 * age, relay failure queue not empty, oldest unsent outbox message, messages the outbox audit found unmarked, FAILED
 * outbox messages, heartbeats of the scheduled functions and of the outbox audit, each consumer's gaps, parked keys and unreadable messages, and errors and throttles of every
 * function. Descriptions name the repair: `npx reliable-messaging-ops <command> --stack <this stack>`.
 *
 * Consumers and functions built later join with `addConsumer` and `addFunction`.
 */
export class MessagingAlarms extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;
  private readonly action: actions.SnsAction;
  private readonly byName: Record<string, cloudwatch.Alarm> = {};
  /** The alarm status widget's list: alarms added later appear in it (the dashboard renders at synth). */
  private readonly statusAlarms: cloudwatch.IAlarm[] = [];
  private readonly errorsGraph: cloudwatch.GraphWidget;
  private readonly thresholds: MessagingAlarmThresholds;

  constructor(scope: Construct, id: string, props: MessagingAlarmsProps) {
    super(scope, id);
    const thresholds = props.thresholds ?? {};
    this.thresholds = thresholds;
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
    validateDuration('oldestGapAge', thresholds.oldestGapAge, Duration.seconds(1), Duration.days(14));

    this.action = new actions.SnsAction(props.alertTopic);
    this.errorsGraph = graph('Errors', []);

    const period = Duration.minutes(1);
    this.add(
      'DeadLetterMessages',
      props.channel.metricDeadLetterMessages({ period }),
      0,
      `Messages in the dead-letter queue: a consumer failed them repeatedly. Repair: ${opsCommand(this, 'redrive')}`,
    );
    this.add(
      'OldestQueuedMessageAge',
      props.channel.metricOldestMessageAge({ period }),
      (thresholds.oldestQueuedMessageAge ?? Duration.minutes(5)).toSeconds(),
      'The oldest queued message is older than the threshold: consumers are not keeping up or a key is blocked.',
    );
    this.add(
      'QueueBacklog',
      props.channel.metricBacklog({ period }),
      thresholds.queueBacklog ?? 10_000,
      'The queue holds more messages than the threshold: raise the consumer maxConcurrency or look at its errors.',
    );
    this.add(
      'RelayIteratorAge',
      props.relay.metricIteratorAge({ period }),
      (thresholds.relayIteratorAge ?? Duration.minutes(1)).toMilliseconds(),
      'The relay is behind the outbox stream.',
    );
    // New give-ups in the period (messages sent to the failure queue), not its depth: nothing drains that queue,
    // so a depth alarm would stay in ALARM for its 14-day retention after one give-up and hide every later one.
    this.add(
      'RelayFailures',
      props.relay.failureQueue.metricNumberOfMessagesSent({ period, statistic: 'Sum' }),
      0,
      'The relay gave up on stream records in the last minute; their messages stay PENDING in the outbox for the sweeper.',
    );
    this.add(
      'OldestUnsentMessageAge',
      props.sweeper.metricOldestPendingAge({ period }),
      (thresholds.oldestUnsentAge ?? Duration.minutes(5)).toSeconds(),
      'A committed message has not been sent for longer than the threshold.',
      'gauge',
    );
    this.add(
      'UnmarkedMessagesFound',
      props.sweeper.metricAuditMarked({ period }),
      0,
      "The outbox audit found PENDING messages nobody had marked for the sweep (the relay never processed their stream record, or crashed between send and delete); the sweep sends them. Look at the relay's mapping, errors and iterator age.",
    );
    this.add(
      'FailedMessages',
      props.sweeper.metricFailed({ period }),
      0,
      `Outbox messages were given up on (FAILED). Repair: ${opsCommand(this, 'retry-failed')}`,
      'gauge',
    );

    if (props.topic !== undefined) {
      this.add(
        'TopicNotificationsFailed',
        props.topic.metricNumberOfNotificationsFailed({ period }),
        0,
        `SNS failed to deliver messages of the events topic to a consumer group's queue (its key or policy refused them): they went to that group's dead-letter queue. Repair: fix the queue's policy or key, then ${opsCommand(this, 'redrive --group G')}`,
      );
      this.add(
        'TopicNotificationsLost',
        props.topic.metricNumberOfNotificationsFailedToRedriveToDlq({ period }),
        0,
        `SNS could deliver messages of the events topic neither to a group's queue nor to its dead-letter queue: that group missed them. Repair: fix the queues' policies or keys, then ${opsCommand(this, 'reconcile')}`,
      );
    }
    if (props.checkBack !== undefined) {
      this.add(
        'OldestOpenTransactionAge',
        props.checkBack.metricOldestOpenAge({ period }),
        (thresholds.oldestOpenTransactionAge ?? Duration.minutes(5)).toSeconds(),
        'A transactional message has been neither committed nor rolled back for longer than the threshold.',
        'gauge',
      );
      this.add(
        'FailedTransactions',
        props.checkBack.metricFailed({ period }),
        0,
        `The check-back gave up on transactions (alert sent per transaction). Repair: resolve each one: ${opsCommand(this, 'resolve --transaction T --commit')} (or --rollback)`,
      );
      this.add(
        'FailedTransactionsOpen',
        props.checkBack.metricFailedOpen({ period }),
        0,
        `Transactions are FAILED and wait for an operator (counted by every check-back pass, however they became FAILED). Repair: ${opsCommand(this, 'resolve --transaction T --commit')} (or --rollback)`,
        'gauge',
      );
    }
    // The safety net watches itself: no completed sweep (or check-back pass) in three schedule periods alarms.
    this.register(
      'SweeperHeartbeat',
      heartbeatAlarm(
        this,
        'SweeperHeartbeat',
        props.sweeper.metricPassesCompleted(),
        props.sweeper.schedule,
        'No compensation sweep completed in three schedule periods: nothing re-sends what the relay left behind.',
      ),
    );
    // The outbox audit is the net under the relay's marks: no complete audit in three audit periods alarms.
    this.register(
      'OutboxAuditHeartbeat',
      heartbeatAlarm(
        this,
        'OutboxAuditHeartbeat',
        props.sweeper.metricAuditsCompleted(),
        props.sweeper.auditPeriod,
        'No outbox audit completed in three audit periods: a message the relay never processed, or sent and did not delete, is not found.',
      ),
    );
    if (props.checkBack !== undefined) {
      this.register(
        'CheckBackHeartbeat',
        heartbeatAlarm(
          this,
          'CheckBackHeartbeat',
          props.checkBack.metricPassesCompleted(),
          props.checkBack.schedule,
          'No check-back pass completed in three schedule periods: open transactions are not being resolved.',
        ),
      );
    }
    this.addFunction('Relay', props.relay.function);
    this.addFunction('Sweeper', props.sweeper.function);
    if (props.checkBack !== undefined) this.addFunction('CheckBack', props.checkBack.function);
    if (props.consumer !== undefined) {
      // The names the alarms had before consumers could be added by name: kept, so a deployed stack keeps its alarms.
      this.watchConsumer(props.consumer, {
        oldestGapAge: 'OldestGapAge',
        parkedKeys: 'ParkedKeys',
        recursiveInvocationsDropped: 'ConsumerRecursiveInvocationsDropped',
        unreadableMessages: 'UnreadableMessages',
        monitorHeartbeat: 'InboxMonitorHeartbeat',
        monitor: 'InboxMonitor',
      });
    }
    for (const [name, fn] of Object.entries(props.functions ?? {})) this.addFunction(name, fn);

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.hours(3),
      widgets: [
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.statusAlarms, width: 24 })],
        [
          graph('Unsent outbox messages', [props.sweeper.metricPending(), props.sweeper.metricFailed()]),
          graph('Oldest unsent message (s)', [props.sweeper.metricOldestPendingAge()]),
          graph('Relay iterator age (ms)', [props.relay.metricIteratorAge()]),
        ],
        [
          graph('Queue backlog', [props.channel.metricBacklog(), props.channel.metricDeadLetterMessages()]),
          graph('Oldest queued message (s)', [props.channel.metricOldestMessageAge()]),
          this.errorsGraph,
        ],
        ...(props.topic === undefined
          ? []
          : [
              [
                graph('Events topic: failed deliveries', [
                  props.topic.metricNumberOfNotificationsFailed({ label: 'to dead-letter queues' }),
                  props.topic.metricNumberOfNotificationsFailedToRedriveToDlq({ label: 'lost' }),
                ]),
              ],
            ]),
      ],
    });
  }

  /** Every alarm, by a stable name (alarms added later included). */
  get alarms(): Readonly<Record<string, cloudwatch.Alarm>> {
    return this.byName;
  }

  /**
   * Watches a consumer built after these alarms: its oldest open gap, parked keys, unreadable messages and
   * recursive-loop stops, its inbox monitor (heartbeat, errors, throttles) and its function's errors and throttles.
   * Alarm names start with `options.name` (default: the consumer's construct id). Fails if an alarm of that name
   * exists already (the same consumer added twice, or two consumers of one name).
   */
  addConsumer(consumer: IdempotentConsumer, options: ConsumerAlarmsOptions = {}): void {
    const name = options.name ?? consumer.node.id;
    this.watchConsumer(consumer, consumerAlarmNamesOf(name));
  }

  /**
   * Watches a consumer group (`ConsumerGroup`): its dead-letter queue, oldest queued message and backlog, and its
   * consumer as `addConsumer` does, all named after `options.name` (default: the group's construct id), and a row of
   * the dashboard for its queue. Fails, adding nothing, if an alarm of one of those names exists already.
   */
  addConsumerGroup(group: ConsumerGroup, options: ConsumerGroupAlarmsOptions = {}): void {
    const name = options.name ?? group.node.id;
    const names = {
      deadLetterMessages: `${name}DeadLetterMessages`,
      oldestQueuedMessageAge: `${name}OldestQueuedMessageAge`,
      queueBacklog: `${name}QueueBacklog`,
    };
    for (const taken of [...Object.values(names), ...consumerAlarmNames(name)]) this.refuseTaken(taken);
    const period = Duration.minutes(1);
    const channel = group.channel;
    this.add(
      names.deadLetterMessages,
      channel.metricDeadLetterMessages({ period }),
      0,
      `Messages in the dead-letter queue of consumer group '${group.groupName}': its consumer failed them repeatedly, or SNS could not deliver them. Repair: ${opsCommand(this, `redrive --group ${group.groupName}`)}`,
    );
    this.add(
      names.oldestQueuedMessageAge,
      channel.metricOldestMessageAge({ period }),
      (this.thresholds.oldestQueuedMessageAge ?? Duration.minutes(5)).toSeconds(),
      `The oldest message queued for consumer group '${group.groupName}' is older than the threshold: its consumer is not keeping up or a key is blocked.`,
    );
    this.add(
      names.queueBacklog,
      channel.metricBacklog({ period }),
      this.thresholds.queueBacklog ?? 10_000,
      `The queue of consumer group '${group.groupName}' holds more messages than the threshold: raise its consumer's maxConcurrency or look at its errors.`,
    );
    this.addConsumer(group.consumer, { name });
    this.dashboard.addWidgets(
      graph(`Group ${group.groupName}: backlog`, [
        channel.metricBacklog(),
        channel.metricDeadLetterMessages(),
      ]),
      graph(`Group ${group.groupName}: oldest queued message (s)`, [channel.metricOldestMessageAge()]),
      graph(`Group ${group.groupName}: inbox`, [
        group.consumer.metricOldestHeldAge(),
        group.consumer.metricParkedKeys(),
        group.consumer.metricUnreadableMessages(),
      ]),
    );
  }

  /**
   * Alarms on the errors and throttles of a function (`<name>Errors`, `<name>Throttles`) and graphs its errors.
   * Fails if alarms of that name exist already.
   */
  addFunction(name: string, fn: lambda.IFunction): void {
    this.refuseTaken(`${name}Errors`);
    this.refuseTaken(`${name}Throttles`);
    const period = Duration.minutes(1);
    this.add(
      `${name}Errors`,
      fn.metricErrors({ period, statistic: 'Sum' }),
      0,
      `Function ${name} failed invocations.`,
    );
    this.add(
      `${name}Throttles`,
      fn.metricThrottles({ period, statistic: 'Sum' }),
      0,
      `Function ${name} was throttled.`,
    );
    this.errorsGraph.addLeftMetric(fn.metricErrors({ label: name, statistic: 'Sum' }));
  }

  private watchConsumer(consumer: IdempotentConsumer, names: ConsumerAlarmNames): void {
    // Every name checked before any alarm is made: a refused consumer adds nothing.
    const functions = [names.monitor, ...(names.handler === undefined ? [] : [names.handler])];
    for (const name of [
      names.oldestGapAge,
      names.parkedKeys,
      names.recursiveInvocationsDropped,
      names.unreadableMessages,
      names.monitorHeartbeat,
      ...functions.flatMap((fn) => [`${fn}Errors`, `${fn}Throttles`]),
    ]) {
      this.refuseTaken(name);
    }
    const period = Duration.minutes(1);
    this.add(
      names.oldestGapAge,
      consumer.metricOldestHeldAge({ period }),
      (this.thresholds.oldestGapAge ?? Duration.minutes(5)).toSeconds(),
      'A message has waited for its predecessor longer than the threshold: a message of its key is missing.',
      'gauge',
    );
    this.add(
      names.parkedKeys,
      consumer.metricParkedKeys({ period }),
      0,
      `Keys are parked: one of their messages kept failing. Repair: fix the cause, then ${opsCommand(this, 'replay --key K')}`,
      'gauge',
    );
    this.add(
      names.recursiveInvocationsDropped,
      consumer.metricRecursiveInvocationsDropped({ period }),
      0,
      `Lambda stopped the consumer's hand-over of a held chain through its own queue as a recursive loop: that key stalls. Check that the consumer's recursive loop is Allow, then ${opsCommand(this, 'replay --key K')}`,
    );
    this.add(
      names.unreadableMessages,
      consumer.metricUnreadableMessages({ period }),
      0,
      `The consumer received messages that are not readable envelopes (not sent by this stack's relay, or damaged): they were parked with their reason, never applied. See them: ${opsCommand(this, 'status')}; then fix their sender.`,
    );
    this.register(
      names.monitorHeartbeat,
      heartbeatAlarm(
        this,
        names.monitorHeartbeat,
        consumer.metricMonitorPassesCompleted(),
        consumer.monitorSchedule,
        'No inbox inspection completed in three schedule periods: the gap and parked-key alarms see nothing new.',
      ),
    );
    this.addFunction(names.monitor, consumer.monitor);
    if (names.handler !== undefined) this.addFunction(names.handler, consumer.handler);
  }

  /**
   * An alarm on a metric: missing data is not breaching. A gauge a scheduled function of the library publishes on
   * every run (`gauge`) ignores missing data instead: no data means its publisher is dead, not that all is well, so
   * the alarm keeps its state (an alarm in ALARM never turns OK because the function stopped), and the function's
   * heartbeat alarm says it is dead.
   */
  private add(
    name: string,
    metric: cloudwatch.Metric,
    threshold: number,
    description: string,
    kind: AlarmKind = 'event',
  ): void {
    this.refuseTaken(name);
    const alarm = metric.createAlarm(this, name, {
      alarmDescription: description,
      threshold,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData:
        kind === 'gauge' ? cloudwatch.TreatMissingData.IGNORE : cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.register(name, alarm);
  }

  /** Notifies the alert topic when the alarm fires and when it recovers, and lists it. */
  private register(name: string, alarm: cloudwatch.Alarm): void {
    alarm.addAlarmAction(this.action);
    alarm.addOkAction(this.action);
    this.byName[name] = alarm;
    this.statusAlarms.push(alarm);
  }

  private refuseTaken(name: string): void {
    if (name in this.byName) {
      throw new Error(
        `${this.node.path} already has an alarm named ${name}: give the consumer or function another name`,
      );
    }
  }
}

/** The names of the alarms `addConsumer` makes for a consumer named `name`. */
function consumerAlarmNamesOf(name: string): ConsumerAlarmNames {
  return {
    oldestGapAge: `${name}OldestGapAge`,
    parkedKeys: `${name}ParkedKeys`,
    recursiveInvocationsDropped: `${name}RecursiveInvocationsDropped`,
    unreadableMessages: `${name}UnreadableMessages`,
    monitorHeartbeat: `${name}InboxMonitorHeartbeat`,
    monitor: `${name}InboxMonitor`,
    handler: name,
  };
}

/** Every alarm name of a consumer's alarms (its functions' errors and throttles included). */
function consumerAlarmNames(name: string): string[] {
  const names = consumerAlarmNamesOf(name);
  const functions = [names.monitor, ...(names.handler === undefined ? [] : [names.handler])];
  return [
    names.oldestGapAge,
    names.parkedKeys,
    names.recursiveInvocationsDropped,
    names.unreadableMessages,
    names.monitorHeartbeat,
    ...functions.flatMap((fn) => [`${fn}Errors`, `${fn}Throttles`]),
  ];
}

function graph(title: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: 8 });
}
