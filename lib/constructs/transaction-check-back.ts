import { Duration } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import { BundledFunction } from './bundled-function';
import { libraryHandler } from './library-handlers';
import { libraryMetric, METRICS_NAMESPACE } from './library-metric';
import { markRole } from './resource-role';
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
}

/**
 * The check-back of transactional ("half") messages (design invariant 8), after RocketMQ: a scheduled function
 * that asks the producer's checker about transactions PREPARED for longer than their timeout (6 s by default, set by
 * the producer), every `checkInterval`, up to `maxChecks` times; COMMIT and ROLLBACK resolve the transaction as the
 * producer would, and after the last undecided check it becomes FAILED with an error log and an SNS alert.
 * Metrics: `OpenHalfMessages`, `OldestHalfMessageAgeSeconds`, `HalfMessagesFailed` (service `transaction-check-back`).
 */
export class TransactionCheckBack extends Construct {
  public readonly function: lambda.Function;
  public readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: TransactionCheckBackProps) {
    super(scope, id);
    validateRange('maxChecks', props.maxChecks, 1, 100);
    validateDuration('checkInterval', props.checkInterval, Duration.seconds(10), Duration.hours(1));
    validateDuration('checkerTimeout', props.checkerTimeout, Duration.seconds(1), Duration.minutes(1));
    validateDuration('schedule', props.schedule, Duration.minutes(1), Duration.days(1));

    const schedule = props.schedule ?? Duration.minutes(1);
    const interval = props.checkInterval ?? Duration.seconds(30);
    const checkerTimeout = props.checkerTimeout ?? Duration.seconds(5);
    const passes = Math.max(1, Math.floor(schedule.toSeconds() / interval.toSeconds()));
    this.function = new BundledFunction(this, 'Handler', {
      ...libraryHandler('check-back'),
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
        [Env.METRICS_NAMESPACE]: METRICS_NAMESPACE,
        [Env.POWERTOOLS_SERVICE_NAME]: 'transaction-check-back',
      },
    }).function;
    markRole(this.function, 'check-back-function');
    props.outbox.grantReadWriteMessages(this.function);
    for (const table of props.aggregateTables) table.grantReadWriteData(this.function);
    // It invokes the checker by its unqualified name: no grant on its versions and aliases (`grantInvoke` adds `<arn>:*`).
    this.function.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [props.checker.functionArn] }),
    );
    props.alertTopic.grantPublish(this.function);

    this.rule = new events.Rule(this, 'Schedule', {
      description: 'Checks transactional messages left open',
      schedule: events.Schedule.rate(schedule),
      targets: [new targets.LambdaFunction(this.function, { retryAttempts: 2 })],
    });
  }

  private metric(name: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return libraryMetric('transaction-check-back', name, props);
  }

  /** Transactions prepared and not yet resolved. */
  metricOpen(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OpenHalfMessages', props);
  }

  /** Age of the oldest open transaction (seconds). */
  metricOldestOpenAge(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('OldestHalfMessageAgeSeconds', props);
  }

  /** Transactions given up on. */
  metricFailed(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('HalfMessagesFailed', { statistic: 'Sum', ...props });
  }
}
