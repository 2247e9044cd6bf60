import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as events from 'aws-cdk-lib/aws-events';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import { BundledFunction } from './bundled-function';
import type { FaultInjection } from './fault-injection';
import type { FifoChannel } from './fifo-channel';
import { libraryHandler } from './library-handlers';
import { libraryMetric } from './library-metric';
import { markRole } from './resource-role';
import { runOnSchedule } from './scheduled-run';
import type { TransactionalOutbox } from './transactional-outbox';
import { validateDuration, validateRange } from './validation';

export interface CompensationSweeperProps {
  readonly outbox: TransactionalOutbox;
  readonly channel: FifoChannel;
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

  constructor(scope: Construct, id: string, props: CompensationSweeperProps) {
    super(scope, id);
    validateRange('maxAttempts', props.maxAttempts, 1, 100);
    validateDuration('schedule', props.schedule, Duration.minutes(1), Duration.days(1));
    validateDuration('gracePeriod', props.gracePeriod, Duration.seconds(0), Duration.days(1));
    validateDuration('maxAge', props.maxAge, Duration.minutes(1), Duration.days(14));
    validateDuration('backoff', props.backoff, Duration.seconds(0), Duration.hours(6));
    validateDuration('maxBackoff', props.maxBackoff, Duration.seconds(0), Duration.days(1));

    this.schedule = props.schedule ?? Duration.minutes(1);
    this.function = new BundledFunction(this, 'Handler', {
      ...libraryHandler('sweeper'),
      timeout: Duration.minutes(5),
      faultInjection: props.faultInjection,
      environment: {
        [Env.OUTBOX_TABLE_NAME]: props.outbox.table.tableName,
        [Env.QUEUE_URL]: props.channel.queue.queueUrl,
        [Env.ALERT_TOPIC_ARN]: props.alertTopic.topicArn,
        [Env.POWERTOOLS_SERVICE_NAME]: 'compensation-sweeper',
        [Env.SWEEP_GRACE_PERIOD_SECONDS]: String((props.gracePeriod ?? Duration.minutes(2)).toSeconds()),
        [Env.SWEEP_MAX_ATTEMPTS]: String(props.maxAttempts ?? 8),
        [Env.SWEEP_MAX_AGE_SECONDS]: String((props.maxAge ?? Duration.hours(24)).toSeconds()),
        [Env.SWEEP_BACKOFF_BASE_SECONDS]: String((props.backoff ?? Duration.seconds(30)).toSeconds()),
        [Env.SWEEP_BACKOFF_MAX_SECONDS]: String((props.maxBackoff ?? Duration.minutes(15)).toSeconds()),
        // A run ends before the next one starts (and before its timeout): runs do not overlap and fight over keys.
        [Env.SWEEP_RUN_SECONDS]: String(Math.min(this.schedule.toSeconds(), Duration.minutes(5).toSeconds())),
      },
    }).function;
    markRole(this.function, 'sweeper-function');
    props.outbox.grantReadWriteMessages(this.function);
    props.channel.grantSendMessages(this.function);
    props.alertTopic.grantPublish(this.function);

    this.rule = runOnSchedule(this, 'Schedule', this.function, {
      every: props.schedule ?? Duration.minutes(1),
      description: 'Runs the outbox compensation sweep',
    });
  }

  private metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(this, 'compensation-sweeper', name, props);
  }

  /** Age of the oldest message not yet sent (seconds). */
  metricOldestPendingAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OldestPendingAgeSeconds', props);
  }

  /** Messages not yet sent. */
  metricPending(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OutboxPending', props);
  }

  /** Messages given up on (FAILED, waiting for an operator). */
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OutboxFailed', props);
  }

  /** Sweep runs that ended without an error (the heartbeat), summed per schedule period. */
  metricPassesCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SweepCompleted', { statistic: 'Sum', period: this.schedule, ...props });
  }

  /** Messages re-sent by sweeps. */
  metricResent(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('SweepResent', { statistic: 'Sum', ...props });
  }
}
