// The runtime library's public entry point (`reliable-messaging-serverless/runtime`): what a producer or consumer
// Lambda function of an application imports. Everything else under functions/ is internal.

export { WriteConditionError } from './atomic-write';
export type {
  ConsumerEnvironment,
  ConsumerEnvironmentOptions,
} from './consumer/consumer-environment';
export {
  consumerOptionsFromEnvironment,
  guardedEffectsFromEnvironment,
} from './consumer/consumer-environment';
export type { CursorEffect, CursorLocation } from './consumer/cursor-location';
export { CursorEffectAttributeError, inboxCursor } from './consumer/cursor-location';
export type {
  DynamoEffect,
  EffectGuardOptions,
  IdempotencyStrategy,
  VersionTarget,
} from './consumer/effect-strategies';
export { IDEMPOTENCY_STRATEGIES, VersionMismatchError } from './consumer/effect-strategies';
export { type FifoBatchOptions, OutOfTimeError, processFifoBatch } from './consumer/fifo-batch';
export type { FifoBatchEvent, FifoBatchResponse, FifoRecord } from './consumer/fifo-records';
export type {
  ConsumeOutcome,
  ConsumeResult,
  GuardedEffect,
  IdempotentOrderedConsumerOptions,
  ParkedKey,
} from './consumer/idempotent-ordered-consumer';
export { CursorMovedError, IdempotentOrderedConsumer } from './consumer/idempotent-ordered-consumer';
export { keyParkedAlert } from './consumer/key-parked-alert';
export { resendToContinue } from './consumer/release-continuation';
export { Env, type EnvName } from './environment';
export {
  ConfigurationError,
  InvalidEnvelopeError,
  MessageInProgressError,
  ReliableMessagingError,
  TransactionConflictError,
} from './errors';
export type {
  AggregateRef,
  CheckResult,
  TransactionCheckRequest,
  TransactionCheckResponse,
} from './half/half-message';
export { AggregateNotFoundError, TransactionNotOpenError } from './half/half-message';
export type {
  CheckBackPolicy,
  CheckBackReport,
  OpenTransactionCheckerOptions,
} from './half/open-transaction-checker';
export { OpenTransactionChecker } from './half/open-transaction-checker';
export type {
  CommitOutcome,
  PreparedTransaction,
  PrepareInput,
  RollbackOutcome,
  TransactionalProducerOptions,
} from './half/transactional-producer';
export { TransactionalProducer } from './half/transactional-producer';
export type { MessageEnvelope } from './outbox/outbox-message';
export { parseEnvelope } from './outbox/outbox-message';
export type { CommittedMessage, NewOutboxMessage, TransactItem } from './outbox/outbox-writer';
export { MAX_BUSINESS_ITEMS, OutboxCommitError, OutboxWriter } from './outbox/outbox-writer';
export type { OutboxPublisherOptions, RelayResult } from './relay/outbox-publisher';
export { OutboxPublisher } from './relay/outbox-publisher';
export type { OutboxSweeperOptions, SweepPolicy, SweepReport } from './sweeper/outbox-sweeper';
export { OutboxSweeper, SweepFailedError } from './sweeper/outbox-sweeper';
export type { RetryTransientOptions } from './transient-errors';
export {
  isOutcomeUnknown,
  isTransientCancellation,
  isTransientError,
  retryTransient,
  TransientFailureError,
} from './transient-errors';
