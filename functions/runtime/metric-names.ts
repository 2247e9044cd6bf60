import { Env } from './environment';

/** The CloudWatch namespace of the metrics the library's functions publish (EMF, through Powertools Metrics). */
export const METRICS_NAMESPACE = 'ReliableMessaging';

/**
 * The dimension that says which stack published a metric, beside Powertools' `service`: two stacks in one account
 * and region publish the same metric names, and each stack's alarms must see its own only.
 */
export const STACK_DIMENSION = 'stack';

/** The environment variable the constructs set to the function's stack name (the value of `STACK_DIMENSION`). */
export const METRICS_STACK_ENV = Env.METRICS_STACK_NAME;

/** The check-back's gauge of FAILED transactions waiting for an operator, counted again by every pass. */
export const FAILED_HALF_MESSAGES_METRIC = 'FailedHalfMessages';

/** Alerts of a give-up (FAILED transaction or outbox message) that SNS did not take: the check-back's and the sweeper's. */
export const ALERT_PUBLISH_FAILURES_METRIC = 'AlertPublishFailures';

/** The inbox monitor's heartbeat: one per inspection that ended without an error. */
export const INBOX_MONITOR_COMPLETED_METRIC = 'InboxMonitorCompleted';

/**
 * The consumer's count of messages whose body is not even a readable envelope (they are parked with their reason,
 * never applied), published under service {@link CONSUMER_METRICS_SERVICE}.
 */
export const UNREADABLE_MESSAGES_METRIC = 'UnreadableMessages';

/** The `service` dimension of the metrics the runtime publishes from a user's consumer function. */
export const CONSUMER_METRICS_SERVICE = 'idempotent-consumer';
