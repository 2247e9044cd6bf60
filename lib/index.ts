// The constructs' public entry point (`reliable-messaging-serverless`). The reference application's stacks and the
// bench-only constructs (NaiveBaseline, LeanBenchPipeline, OrdersHttpApi, FaultInjection) are not part of it.
export * from './constructs/alert-topic';
export * from './constructs/bundled-function';
export * from './constructs/cfn-lint-acknowledgment';
export * from './constructs/compensation-sweeper';
export * from './constructs/consumer-group';
export * from './constructs/cursor-table';
export * from './constructs/durable-table';
export * from './constructs/events-topic';
export * from './constructs/explicit-kms-actions';
export * from './constructs/fifo-channel';
export * from './constructs/idempotent-consumer';
export * from './constructs/library-metric';
export * from './constructs/messaging-alarms';
export * from './constructs/messaging-function';
export * from './constructs/ops-command';
export * from './constructs/outbox-relay';
export * from './constructs/producer-table';
export * from './constructs/reliable-messaging';
export * from './constructs/resource-role';
export * from './constructs/scheduled-run';
export * from './constructs/table-grants';
export * from './constructs/transaction-check-back';
export * from './constructs/transactional-outbox';
