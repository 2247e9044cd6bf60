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
 * The `service` dimension of the metrics `fifoConsumerHandler` publishes for a user's consumer (whatever the
 * function's own service name), so the constructs' alarms find them by name: `libraryMetric(scope,
 * CONSUMER_METRICS_SERVICE, UNREADABLE_MESSAGES_METRIC)`.
 */
export const CONSUMER_METRICS_SERVICE = 'idempotent-consumer';

/** A queue message whose key, sequence or message id cannot be read: it fails on to the dead-letter queue. */
export const UNREADABLE_MESSAGES_METRIC = 'UnreadableMessages';

/** A key that became parked (one of its messages kept failing, or could never be applied), its alert sent. */
export const KEYS_PARKED_METRIC = 'KeysParked';

/**
 * The `service` of each of the library's own functions: its logs' service name and its metrics' `service`
 * dimension. The handler publishes under it, the construct sets it and its alarms and dashboards read by it.
 */
export const MetricsService = {
  RELAY: 'outbox-relay',
  SWEEPER: 'compensation-sweeper',
  CHECK_BACK: 'transaction-check-back',
  INBOX_MONITOR: 'inbox-monitor',
} as const;

/** The sweeper's metrics (service {@link MetricsService.SWEEPER}). */
export const SweeperMetric = {
  SWEEP_COMPLETED: 'SweepCompleted',
  OUTBOX_AUDIT_COMPLETED: 'OutboxAuditCompleted',
  OUTBOX_AUDIT_MARKED: 'OutboxAuditMarked',
  OUTBOX_AUDIT_SCANNED: 'OutboxAuditScanned',
  OUTBOX_AUDIT_READ_UNITS: 'OutboxAuditReadUnits',
  OUTBOX_PENDING: 'OutboxPending',
  OUTBOX_FAILED: 'OutboxFailed',
  OLDEST_PENDING_AGE_SECONDS: 'OldestPendingAgeSeconds',
  SWEEP_RESENT: 'SweepResent',
  SWEEP_SEND_FAILURES: 'SweepSendFailures',
  SWEEP_MARKED_FAILED: 'SweepMarkedFailed',
} as const;

/** The check-back's metrics (service {@link MetricsService.CHECK_BACK}), besides {@link FAILED_HALF_MESSAGES_METRIC}. */
export const CheckBackMetric = {
  CHECK_BACK_COMPLETED: 'CheckBackCompleted',
  OPEN_HALF_MESSAGES: 'OpenHalfMessages',
  OLDEST_HALF_MESSAGE_AGE_SECONDS: 'OldestHalfMessageAgeSeconds',
  HALF_MESSAGES_FAILED: 'HalfMessagesFailed',
} as const;

/** The inbox monitor's metrics (service {@link MetricsService.INBOX_MONITOR}), besides its heartbeat. */
export const InboxMonitorMetric = {
  HELD_MESSAGES: 'HeldMessages',
  OLDEST_HELD_AGE_SECONDS: 'OldestHeldAgeSeconds',
  PARKED_MESSAGES: 'ParkedMessages',
  PARKED_KEYS: 'ParkedKeys',
} as const;
