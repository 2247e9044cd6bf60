// The constructs' public entry point (`reliable-messaging-serverless`): what a user's CDK app builds with, by name.
// Everything else under lib/ is internal (the helpers the constructs share, the library's handlers' wiring, the ops
// CLI). The reference application's stacks and the bench-only constructs (NaiveBaseline, LeanBenchPipeline,
// OrdersHttpApi, ApiCeilingProbe) are not part of it; FaultInjection is in `reliable-messaging-serverless/testing`.
// Every change here is a change of the package's API: api/reliable-messaging-serverless.api.md lists it
// (`npm run api-report`).
/**
 * The CDK constructs of reliable messaging: the transactional outbox, its relay and sweeper, FIFO channels,
 * idempotent consumers and consumer groups, alarms, and `ReliableMessaging`, the whole pipeline in one construct.
 *
 * @module reliable-messaging-serverless
 */

export { ALERT_TOPIC_UNSUBSCRIBED_WARNING, AlertTopic, type AlertTopicProps } from './constructs/alert-topic';
export { BundledFunction, type BundledFunctionProps } from './constructs/bundled-function';
export { CompensationSweeper, type CompensationSweeperProps } from './constructs/compensation-sweeper';
export {
  ConsumerGroup,
  type ConsumerGroupProps,
  type TopicConsumerGroupProps,
} from './constructs/consumer-group';
export type { CursorTable } from './constructs/cursor-table';
export { type DurabilityProps, DurableTable, type DurableTableProps } from './constructs/durable-table';
export { EventsTopic, type EventsTopicProps, type SubscribeChannelOptions } from './constructs/events-topic';
export { ExplicitKmsActions } from './constructs/explicit-kms-actions';
export { FifoChannel, type FifoChannelProps } from './constructs/fifo-channel';
export {
  type ChannelConsumerProps,
  type IdempotencyStrategy,
  IdempotentConsumer,
  type IdempotentConsumerProps,
} from './constructs/idempotent-consumer';
export {
  type ConsumerAlarmsOptions,
  type ConsumerGroupAlarmsOptions,
  MessagingAlarms,
  type MessagingAlarmsProps,
  type MessagingAlarmThresholds,
} from './constructs/messaging-alarms';
export {
  MESSAGING_FUNCTION_BUNDLING,
  MessagingFunction,
  type MessagingFunctionProps,
} from './constructs/messaging-function';
export { OutboxRelay, type OutboxRelayProps } from './constructs/outbox-relay';
export { PRODUCER_TABLE_UNDECLARED_WARNING, type ProducerTable } from './constructs/producer-table';
export {
  type FanOutProps,
  ReliableMessaging,
  type ReliableMessagingConsumerGroupProps,
  type ReliableMessagingConsumerProps,
  type ReliableMessagingProducerOptions,
  type ReliableMessagingProps,
} from './constructs/reliable-messaging';
// The resource-role contract: the CloudFormation metadata by which the ops CLI (or any tool) finds a stack's
// resources.
export {
  CURSOR_TABLE_METADATA,
  type CursorTableAttributes,
  GROUP_METADATA,
  PRODUCER_TABLE_METADATA,
  type ProducerTableAttributes,
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  type ResourceRole,
} from './constructs/resource-roles';
export { grantIndexQuery, grantItemActions, type ItemAction } from './constructs/table-grants';
export { TransactionCheckBack, type TransactionCheckBackProps } from './constructs/transaction-check-back';
export {
  type AddProducerOptions,
  TransactionalOutbox,
  type TransactionalOutboxProps,
} from './constructs/transactional-outbox';
