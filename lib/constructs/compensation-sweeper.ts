import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import { MetricsService, SweeperMetric } from '../../functions/runtime/metric-names';
import { BundledFunction } from './bundled-function';
import type { EventsTopic } from './events-topic';
import type { FaultInjection } from './fault-injection';
import type { FifoChannel } from './fifo-channel';
import { libraryHandler } from './library-handlers';
import { libraryMetric } from './library-metric';
import { destinationOf } from './publish-destination';
import { markRole } from './resource-role';
import { runOnSchedule } from './scheduled-run';
import type { TransactionalOutbox } from './transactional-outbox';
import { validateDuration, validateRange } from './validation';

export interface CompensationSweeperProps {
  readonly outbox: TransactionalOutbox;
  /**
   * The FIFO queue the sweep re-sends to (`QUEUE_URL`, `sqs:SendMessage`): the single-queue pipeline. Give exactly
   * one of `channel` and `topic`.
   * @default none: `topic` is given
   */
  readonly channel?: FifoChannel;
  /**
   * The SNS FIFO topic the sweep re-publishes to (`TOPIC_ARN`, `EventsTopic.grantPublish`), when messages fan out to
   * consumer groups. Give exactly one of `channel` and `topic`.
   * @default none: `channel` is given
   */
  readonly topic?: EventsTopic;
  /** Where a message given up on is announced. */
  readonly alertTopic: sns.ITopic;
  /**
   * How often the sweep runs (1 minute to 1 day).
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;
  /**
   * A PENDING message younger than this is left to the relay.
   * @default Duration.minutes(2)
   */
  readonly gracePeriod?: Duration;
  /**
   * Sweeper attempts before a message becomes FAILED (1 to 100).
   * @default 8
   */
  readonly maxAttempts?: number;
  /**
   * A message older than this becomes FAILED at its next sweep (keep it under the consumer's replay horizon).
   * @default Duration.hours(24)
   */
  readonly maxAge?: Duration;
  /**
   * Wait after the first failed attempt, doubling after each further one up to `maxBackoff`.
   * @default Duration.seconds(30)
   */
  readonly backoff?: Duration;
  /** @default Duration.minutes(15) */
  readonly maxBackoff?: Duration;
  /**
   * How often the sweeper audits the outbox (0 seconds to 1 day): its Scan finds the PENDING messages nobody marked
   * for the sweep (the relay never processed their stream record, or crashed between send and delete). The Scan
   * reads every message in flight, so a warm sweeper audits at most once per interval (a fresh one at once); 0
   * audits every run. An audit uses at most half of a run's time.
   * @default Duration.minutes(5)
   */
  readonly auditInterval?: Duration;
  /**
   * An unmarked PENDING message younger than this is left to the relay by the audit (0 seconds to 1 day): keep it
   * above the relay's iterator age in a burst, or the audit marks messages the relay is still sending (duplicate
   * sends, absorbed by SQS deduplication and the consumer's inbox).
   * @default Duration.minutes(2)
   */
  readonly auditGrace?: Duration;
  /** @default no fault injection */
  readonly faultInjection?: FaultInjection;
}

/**
 * The compensation sweep (design invariant 2): a scheduled function that re-sends PENDING outbox messages the
 * relay left behind, in sequence order per key and with their original messageId, backing off between
 * attempts; after `maxAttempts` or `maxAge` it marks them FAILED (kept, visible), logs an error and alerts.
 * It publishes the outbox's state as metrics (namespace `ReliableMessaging`, service `compensation-sweeper`).
 */
export class CompensationSweeper extends Construct {
  public readonly function: lambda.Function;
  public readonly rule: events.Rule;
  /** How often the sweep runs. */
  public readonly schedule: Duration;
  /**
   * The longest time between two audits of a sweeper that keeps running: the audit interval, plus the wait for the
   * next scheduled run, in whole minutes.
   */
  public readonly auditPeriod: Duration;

  constructor(scope: Construct, id: string, props: CompensationSweeperProps) {
    super(scope, id);
    validateRange('maxAttempts', props.maxAttempts, 1, 100);
    validateDuration('schedule', props.schedule, Duration.minutes(1), Duration.days(1));
    validateDuration('gracePeriod', props.gracePeriod, Duration.seconds(0), Duration.days(1));
    validateDuration('maxAge', props.maxAge, Duration.minutes(1), Duration.days(14));
    validateDuration('backoff', props.backoff, Duration.seconds(0), Duration.hours(6));
    validateDuration('maxBackoff', props.maxBackoff, Duration.seconds(0), Duration.days(1));
    validateDuration('auditInterval', props.auditInterval, Duration.seconds(0), Duration.days(1));
    validateDuration('auditGrace', props.auditGrace, Duration.seconds(0), Duration.days(1));
    const destination = destinationOf('CompensationSweeper', props);

    this.schedule = props.schedule ?? Duration.minutes(1);
    const auditInterval = props.auditInterval ?? Duration.minutes(5);
    this.auditPeriod = Duration.minutes(
      Math.ceil((auditInterval.toSeconds() + this.schedule.toSeconds()) / 60 - 1e-9),
    );
    this.function = new BundledFunction(this, 'Handler', {
      ...libraryHandler('sweeper'),
      timeout: Duration.minutes(5),
      faultInjection: props.faultInjection,
      environment: {
        [Env.OUTBOX_TABLE_NAME]: props.outbox.table.tableName,
        ...destination.environment,
        [Env.ALERT_TOPIC_ARN]: props.alertTopic.topicArn,
        [Env.POWERTOOLS_SERVICE_NAME]: MetricsService.SWEEPER,
        [Env.SWEEP_GRACE_PERIOD_SECONDS]: String((props.gracePeriod ?? Duration.minutes(2)).toSeconds()),
        [Env.SWEEP_MAX_ATTEMPTS]: String(props.maxAttempts ?? 8),
        [Env.SWEEP_MAX_AGE_SECONDS]: String((props.maxAge ?? Duration.hours(24)).toSeconds()),
        [Env.SWEEP_BACKOFF_BASE_SECONDS]: String((props.backoff ?? Duration.seconds(30)).toSeconds()),
        [Env.SWEEP_BACKOFF_MAX_SECONDS]: String((props.maxBackoff ?? Duration.minutes(15)).toSeconds()),
        [Env.SWEEP_AUDIT_INTERVAL_SECONDS]: String(auditInterval.toSeconds()),
        [Env.SWEEP_AUDIT_GRACE_SECONDS]: String((props.auditGrace ?? Duration.minutes(2)).toSeconds()),
        // A run ends before the next one starts (and before its timeout): runs do not overlap and fight over keys.
        [Env.SWEEP_RUN_SECONDS]: String(Math.min(this.schedule.toSeconds(), Duration.minutes(5).toSeconds())),
      },
    }).function;
    markRole(this.function, 'sweeper-function');
    // Read/write data: the sweep's index Queries, leases and deletes, and the audit's Scan of the table.
    props.outbox.grantReadWriteMessages(this.function);
    destination.grantSend(this.function);
    props.alertTopic.grantPublish(this.function);

    this.rule = runOnSchedule(this, 'Schedule', this.function, {
      every: props.schedule ?? Duration.minutes(1),
      description: 'Runs the outbox compensation sweep',
    });
  }

  private metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(this, MetricsService.SWEEPER, name, props);
  }

  /** Age of the oldest message not yet sent (seconds). */
  metricOldestPendingAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.OLDEST_PENDING_AGE_SECONDS, props);
  }

  /** Messages not yet sent. */
  metricPending(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.OUTBOX_PENDING, props);
  }

  /** Messages given up on (FAILED, waiting for an operator). */
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.OUTBOX_FAILED, props);
  }

  /** Sweep runs that ended without an error (the heartbeat), summed per schedule period. */
  metricPassesCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.SWEEP_COMPLETED, { statistic: 'Sum', period: this.schedule, ...props });
  }

  /** Outbox audits that read the whole outbox (the audit's heartbeat), summed per `auditPeriod`. */
  metricAuditsCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.OUTBOX_AUDIT_COMPLETED, {
      statistic: 'Sum',
      period: this.auditPeriod,
      ...props,
    });
  }

  /**
   * PENDING messages the outbox audit found that nobody had marked for the sweep (the relay never processed their
   * record, or crashed between send and delete): above 0, look at the relay's mapping and errors.
   */
  metricAuditMarked(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.OUTBOX_AUDIT_MARKED, { statistic: 'Sum', ...props });
  }

  /** Messages re-sent by sweeps. */
  metricResent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(SweeperMetric.SWEEP_RESENT, { statistic: 'Sum', ...props });
  }
}
