/**
 * The environment variables the constructs put in the functions' environment and the handlers (the library's own
 * and a user's consumer, through `consumerOptionsFromEnvironment`) read: each name is written here once.
 */
export const Env = {
  /** The transactional outbox table (relay, sweeper, check-back). */
  OUTBOX_TABLE_NAME: 'OUTBOX_TABLE_NAME',
  /**
   * The table of half messages (producers of transactional messages, check-back), when they live in a table of their
   * own (`TransactionalOutbox`'s `transactionTable`); unset, they are in the outbox table.
   */
  TRANSACTION_TABLE_NAME: 'TRANSACTION_TABLE_NAME',
  /** The FIFO channel's queue (relay, sweeper). */
  QUEUE_URL: 'QUEUE_URL',
  /**
   * The SNS FIFO events topic the relay and the sweeper publish to when the pipeline fans out to consumer groups
   * (`EventsTopic`); when set, it wins over `QUEUE_URL`.
   */
  TOPIC_ARN: 'TOPIC_ARN',
  /**
   * The consumer group a consumer belongs to (`ConsumerGroup`): in its log lines and alerts, and what a test stack's
   * `poisonGroup` fault matches.
   */
  CONSUMER_GROUP: 'CONSUMER_GROUP',
  /**
   * The message types a consumer applies, a JSON array of strings (`IdempotentConsumer`'s `messageTypes`): any other
   * message of a key moves the key's cursor with no effect, so gap detection stays exact. Unset: every type.
   */
  CONSUMER_MESSAGE_TYPES: 'CONSUMER_MESSAGE_TYPES',
  /** The SNS topic of the alerts (sweeper, check-back, consumer). */
  ALERT_TOPIC_ARN: 'ALERT_TOPIC_ARN',
  /** The CloudWatch namespace of the library's metrics. */
  METRICS_NAMESPACE: 'METRICS_NAMESPACE',
  /** The stack a function belongs to: the `stack` dimension of the library's metrics (see `libraryMetrics`). */
  METRICS_STACK_NAME: 'METRICS_STACK_NAME',
  /** Powertools' service name of a function (its logs' `service` and its metrics' `service` dimension). */
  POWERTOOLS_SERVICE_NAME: 'POWERTOOLS_SERVICE_NAME',
  /** The consumer's inbox table (consumer, inbox monitor). */
  INBOX_TABLE_NAME: 'INBOX_TABLE_NAME',
  /**
   * The consumer's own table that keeps its cursors (a per-key view), and its partition key attribute (whose value
   * is the key): set by `IdempotentConsumer`'s `cursorTable`; unset, the cursors are in the inbox table.
   */
  CURSOR_TABLE_NAME: 'CURSOR_TABLE_NAME',
  CURSOR_KEY_ATTRIBUTE: 'CURSOR_KEY_ATTRIBUTE',
  /** How long the consumer remembers a consumed messageId, in seconds. */
  INBOX_RETENTION_SECONDS: 'INBOX_RETENTION_SECONDS',
  /** How long a consumer's claim on a message lasts, in seconds. */
  INBOX_CLAIM_SECONDS: 'INBOX_CLAIM_SECONDS',
  /** The idempotency strategy of each effect, JSON (`{ "default": …, "effects": { … } }`). */
  IDEMPOTENCY_STRATEGIES: 'IDEMPOTENCY_STRATEGIES',
  /** Failed attempts of one message after which the consumer parks its key. */
  PARK_AFTER_FAILURES: 'PARK_AFTER_FAILURES',
  /** The sweeper's policy, in seconds or counts. */
  SWEEP_GRACE_PERIOD_SECONDS: 'SWEEP_GRACE_PERIOD_SECONDS',
  SWEEP_MAX_ATTEMPTS: 'SWEEP_MAX_ATTEMPTS',
  SWEEP_MAX_AGE_SECONDS: 'SWEEP_MAX_AGE_SECONDS',
  SWEEP_BACKOFF_BASE_SECONDS: 'SWEEP_BACKOFF_BASE_SECONDS',
  SWEEP_BACKOFF_MAX_SECONDS: 'SWEEP_BACKOFF_MAX_SECONDS',
  SWEEP_LEASE_SECONDS: 'SWEEP_LEASE_SECONDS',
  /** How long one sweep runs at most (the schedule's period, capped), in seconds. */
  SWEEP_RUN_SECONDS: 'SWEEP_RUN_SECONDS',
  /**
   * The sweeper's outbox audit (`OutboxAudit`), in seconds: at most one audit per interval per warm sweeper
   * (default 300; 0 audits every run), and how old an unmarked PENDING message must be before the audit marks it
   * for the sweep (default 120; keep it above the relay's expected iterator age).
   */
  SWEEP_AUDIT_INTERVAL_SECONDS: 'SWEEP_AUDIT_INTERVAL_SECONDS',
  SWEEP_AUDIT_GRACE_SECONDS: 'SWEEP_AUDIT_GRACE_SECONDS',
  /** The check-back's checker function and policy. */
  CHECKER_FUNCTION_NAME: 'CHECKER_FUNCTION_NAME',
  CHECKER_TIMEOUT_SECONDS: 'CHECKER_TIMEOUT_SECONDS',
  CHECK_INTERVAL_SECONDS: 'CHECK_INTERVAL_SECONDS',
  MAX_CHECKS: 'MAX_CHECKS',
  PASSES_PER_INVOCATION: 'PASSES_PER_INVOCATION',
  /**
   * How long a producer's transaction may stay PREPARED before the check-back asks the checker, in seconds: set by
   * `TransactionCheckBack` on every producer it is given.
   */
  PREPARE_TIMEOUT_SECONDS: 'PREPARE_TIMEOUT_SECONDS',
  /** `true`: a function logs, per invocation, the requests and capacity units it used (`npm run bench` reads them). */
  UNIT_ACCOUNTING: 'UNIT_ACCOUNTING',
} as const;

export type EnvName = (typeof Env)[keyof typeof Env];
