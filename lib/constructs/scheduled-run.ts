import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { acknowledgeCfnLint } from './cfn-lint-acknowledgment';

export interface ScheduledRunProps {
  /** How often the function runs (at least a minute). */
  readonly every: Duration;
  readonly description: string;
}

/** The longest an EventBridge target may hold an event (its `maxEventAge` range is 1 minute to 24 hours). */
const TARGET_MAX_EVENT_AGE = Duration.hours(24);
/** The longest Lambda may hold an asynchronous invocation (its `maxEventAge` range is 1 minute to 6 hours). */
const ASYNC_MAX_EVENT_AGE = Duration.hours(6);

const atMost = (duration: Duration, limit: Duration): Duration =>
  duration.toSeconds() <= limit.toSeconds() ? duration : limit;

/**
 * Runs `fn` every `every` from an EventBridge rule, and never retries a run: neither EventBridge (delivery) nor
 * Lambda (asynchronous invocation) retries, and neither keeps an undelivered event longer than one period. A failed
 * run waits for the next tick, which does the same work on fresher data; the function's Errors alarm tells of it.
 */
export function runOnSchedule(
  scope: Construct,
  id: string,
  fn: lambda.Function,
  props: ScheduledRunProps,
): events.Rule {
  fn.configureAsyncInvoke({ retryAttempts: 0, maxEventAge: atMost(props.every, ASYNC_MAX_EVENT_AGE) });
  const rule = new events.Rule(scope, id, {
    description: props.description,
    schedule: events.Schedule.rate(props.every),
    targets: [
      new targets.LambdaFunction(fn, {
        retryAttempts: 0,
        maxEventAge: atMost(props.every, TARGET_MAX_EVENT_AGE),
      }),
    ],
  });
  acknowledgeCfnLint(
    rule.node.defaultChild as events.CfnRule,
    'ES4000',
    'A scheduled tick that cannot be delivered needs no dead-letter queue: the next tick does the same work',
  );
  for (const permission of rule.node.findAll().filter((c) => c instanceof lambda.CfnPermission)) {
    acknowledgeCfnLint(
      permission,
      'ES1007',
      'A failed scheduled run needs no on-failure destination: the next tick retries it and the Errors alarm tells of it',
    );
  }
  return rule;
}
