export * from './constructs/alert-topic';
export * from './constructs/bundled-function';
export * from './constructs/durable-table';
export * from './constructs/fifo-channel';
export * from './constructs/idempotent-consumer';
export * from './constructs/outbox-relay';
export * from './constructs/transactional-outbox';
export * from './stacks/reliable-messaging-demo-stack';
