import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import {
  CheckBackMetric,
  FAILED_HALF_MESSAGES_METRIC,
  MetricsService,
} from '../../functions/runtime/metric-names';
import { BundledFunction } from './bundled-function';
import type { FaultInjection } from './fault-injection';
import { libraryHandler } from './library-handlers';
import { libraryMetric } from './library-metric';
import { markRole } from './resource-role';
import { runOnSchedule } from './scheduled-run';
import { grantItemActions } from './table-grants';
import type { TransactionalOutbox } from './transactional-outbox';
import { validateDuration, validateRange } from './validation';

export interface TransactionCheckBackProps {
  readonly outbox: TransactionalOutbox;
  /**
   * The producer's checker: a function that receives a `TransactionCheckRequest` and answers
   * `{ "status": "COMMIT" | "ROLLBACK" | "UNKNOWN" }`. An error or no answer within `checkerTimeout` is UNKNOWN.
   */
  readonly checker: lambda.IFunction;
  /** The tables whose items half messages commit to (their version is bumped by a commit). */
  readonly aggregateTables: readonly dynamodb.ITable[];
  /**
   * The tables where producers record their local steps (`localStep` of a prepared transaction): a rollback checks,
   * in its own transaction, that the step's record does not exist, so it needs `ConditionCheckItem` on them.
   * @default none (transactions prepared without a `localStep`)
   */
  readonly localStepTables?: readonly dynamodb.ITable[];
  readonly alertTopic: sns.ITopic;
  /**
   * Time between two checks of one open transaction (10 s to 1 hour). When shorter than `schedule`, each run makes
   * several passes this far apart.
   * @default Duration.seconds(30)
   */
  readonly checkInterval?: Duration;
  /**
   * Checks before an undecided transaction becomes FAILED (1 to 100).
   * @default 15
   */
  readonly maxChecks?: number;
  /**
   * How long the checker may take to answer.
   * @default Duration.seconds(5)
   */
  readonly checkerTimeout?: Duration;
  /**
   * How often the check-back runs (1 minute to 1 day).
   * @default Duration.minutes(1)
   */
  readonly schedule?: Duration;
  /**
   * The functions that prepare transactions (the producers). Each gets `PREPARE_TIMEOUT_SECONDS` in its
   * environment, and none may live longer than the prepare timeout: a producer still running its local step when the
   * check-back starts asking would race the checker.
   * @default none
   */
  readonly producers?: readonly lambda.Function[];
  /**
   * How long after its prepare a transaction is left to its producer before the check-back asks the checker. At
   * least the longest producer's timeout (refused at synth otherwise).
   * @default the longest producer's timeout, and at least 6 seconds (RocketMQ's transaction timeout)
   */
  readonly prepareTimeout?: Duration;
  /** @default no fault injection */
  readonly faultInjection?: FaultInjection;
}

/** RocketMQ's transaction timeout: the shortest prepare timeout this construct derives. */
const MIN_DERIVED_PREPARE_TIMEOUT = Duration.seconds(6);

/** A Lambda function's timeout when none is set. */
const LAMBDA_DEFAULT_TIMEOUT = Duration.seconds(3);

/**
 * The prepare timeout: `requested`, refused when shorter than a producer's timeout, or derived from the producers.
 */
function prepareTimeoutFor(requested: Duration | undefined, producers: readonly lambda.Function[]): Duration {
  const lifetimes = producers.map((fn) => ({ fn, timeout: fn.timeout ?? LAMBDA_DEFAULT_TIMEOUT }));
  if (requested === undefined) {
    const longest = Math.max(
      MIN_DERIVED_PREPARE_TIMEOUT.toSeconds(),
      ...lifetimes.map((l) => l.timeout.toSeconds()),
    );
    return Duration.seconds(longest);
  }
  if (requested.isUnresolved()) return requested;
  for (const { fn, timeout } of lifetimes) {
    if (!timeout.isUnresolved() && requested.toSeconds() < timeout.toSeconds()) {
      throw new Error(
        `prepareTimeout (${requested.toHumanString()}) is shorter than the timeout of producer ${fn.node.path} ` +
          `(${timeout.toHumanString()}): the check-back could roll back a transaction whose producer is still ` +
          `running its local step; use a prepareTimeout of at least ${timeout.toHumanString()}, or leave it unset`,
      );
    }
  }
  return requested;
}

/**
 * The check-back of transactional ("half") messages (design invariant 8), after RocketMQ: a scheduled function
 * that asks the producer's checker about transactions PREPARED for longer than their timeout (`prepareTimeout`: at
 * least the producers' own timeout, handed to them as `PREPARE_TIMEOUT_SECONDS`), every `checkInterval`, up to `maxChecks` times; COMMIT and ROLLBACK resolve the transaction as the
 * producer would, and after the last undecided check it becomes FAILED with an error log and an SNS alert.
 * Metrics: `OpenHalfMessages`, `OldestHalfMessageAgeSeconds`, `HalfMessagesFailed` (given up on in the run),
 * `FailedHalfMessages` (FAILED and not yet resolved, every pass), `AlertPublishFailures` (service
 * `transaction-check-back`).
 */
export class TransactionCheckBack extends Construct {
  public readonly function: lambda.Function;
  public readonly rule: events.Rule;
  /** How long a transaction is left to its producer before the check-back asks (see `prepareTimeout`). */
  public readonly prepareTimeout: Duration;
  /** How often the check-back is invoked. */
  public readonly schedule: Duration;

  constructor(scope: Construct, id: string, props: TransactionCheckBackProps) {
    super(scope, id);
    validateRange('maxChecks', props.maxChecks, 1, 100);
    validateDuration('checkInterval', props.checkInterval, Duration.seconds(10), Duration.hours(1));
    validateDuration('checkerTimeout', props.checkerTimeout, Duration.seconds(1), Duration.minutes(1));
    validateDuration('schedule', props.schedule, Duration.minutes(1), Duration.days(1));
    validateDuration('prepareTimeout', props.prepareTimeout, Duration.seconds(1), Duration.hours(1));
    this.prepareTimeout = prepareTimeoutFor(props.prepareTimeout, props.producers ?? []);
    for (const producer of props.producers ?? []) {
      producer.addEnvironment(Env.PREPARE_TIMEOUT_SECONDS, String(this.prepareTimeout.toSeconds()));
      props.outbox.addTransactionEnvironment(producer);
    }

    const schedule = props.schedule ?? Duration.minutes(1);
    this.schedule = schedule;
    const interval = props.checkInterval ?? Duration.seconds(30);
    const checkerTimeout = props.checkerTimeout ?? Duration.seconds(5);
    const passes = Math.max(1, Math.floor(schedule.toSeconds() / interval.toSeconds()));
    this.function = new BundledFunction(this, 'Handler', {
      ...libraryHandler('check-back'),
      faultInjection: props.faultInjection,
      timeout: Duration.seconds(
        Math.min(900, passes * (interval.toSeconds() + checkerTimeout.toSeconds() + 30)),
      ),
      environment: {
        [Env.OUTBOX_TABLE_NAME]: props.outbox.table.tableName,
        [Env.ALERT_TOPIC_ARN]: props.alertTopic.topicArn,
        [Env.CHECKER_FUNCTION_NAME]: props.checker.functionName,
        [Env.CHECK_INTERVAL_SECONDS]: String(interval.toSeconds()),
        [Env.MAX_CHECKS]: String(props.maxChecks ?? 15),
        [Env.CHECKER_TIMEOUT_SECONDS]: String(checkerTimeout.toSeconds()),
        [Env.PASSES_PER_INVOCATION]: String(passes),
        [Env.POWERTOOLS_SERVICE_NAME]: MetricsService.CHECK_BACK,
      },
    }).function;
    markRole(this.function, 'check-back-function');
    // Half messages in a table of their own: TRANSACTION_TABLE_NAME, and only what a pass does there and in the outbox.
    props.outbox.addTransactionEnvironment(this.function);
    props.outbox.grantCheckBack(this.function);
    // A transaction prepared under an idempotency key completes (or releases) the key when it is resolved.
    props.outbox.grantIdempotencyKeys(this.function);
    // A commit reads the aggregate's version and bumps it (in the commit's transaction): nothing else.
    for (const table of props.aggregateTables)
      grantItemActions(table, this.function, 'GetItem', 'UpdateItem');
    // A rollback checks, in its transaction, that the local step's record does not exist.
    for (const table of props.localStepTables ?? [])
      grantItemActions(table, this.function, 'ConditionCheckItem');
    // It invokes the checker by its unqualified name: no grant on its versions and aliases (`grantInvoke` adds `<arn>:*`).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.checker.functionArn] }),
    );
    props.alertTopic.grantPublish(this.function);

    this.rule = runOnSchedule(this, 'Schedule', this.function, {
      every: schedule,
      description: 'Checks transactional messages left open',
    });
  }

  private metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric(this, MetricsService.CHECK_BACK, name, props);
  }

  /** Transactions prepared and not yet resolved. */
  metricOpen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(CheckBackMetric.OPEN_HALF_MESSAGES, props);
  }

  /** Age of the oldest open transaction (seconds). */
  metricOldestOpenAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(CheckBackMetric.OLDEST_HALF_MESSAGE_AGE_SECONDS, props);
  }

  /** Transactions given up on. */
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(CheckBackMetric.HALF_MESSAGES_FAILED, { statistic: 'Sum', ...props });
  }

  /**
   * FAILED transactions waiting for an operator to commit or roll them back: a gauge every pass publishes, counting
   * every one of them again (however it became FAILED), until it is resolved.
   */
  metricFailedOpen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(FAILED_HALF_MESSAGES_METRIC, props);
  }

  /** Check-back passes that ended without an error (the heartbeat), summed per schedule period. */
  metricPassesCompleted(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric(CheckBackMetric.CHECK_BACK_COMPLETED, {
      statistic: 'Sum',
      period: this.schedule,
      ...props,
    });
  }
}
