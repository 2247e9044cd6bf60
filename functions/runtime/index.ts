// The runtime library's public entry point (`reliable-messaging-serverless/runtime`): what a producer's or consumer's
// Lambda function imports, by name. Everything else under functions/ is internal: the cores of the library's own
// handlers (relay, sweeper, audit, check-back), their clients and helpers. The ops CLI (lib/ops) is the library
// itself and imports what it needs by path. Every change here is a change of the package's API:
// api/reliable-messaging-serverless.api.md lists it (`npm run api-report`).
/**
 * The Lambda runtime: what a producer's or consumer's function imports (`OutboxWriter`, `TransactionalProducer`,
 * `fifoConsumerHandler`, `IdempotentConsumer`, …).
 *
 * @module reliable-messaging-serverless/runtime
 */

export type { UnitLedger } from './accounting/unit-accounting';
export { UnitAccountant, unitAccountantFromEnvironment } from './accounting/unit-accounting';
export {
  type BoundedClientConfig,
  boundedClientConfig,
  DEFAULT_SDK_CALL_BOUNDS,
  documentClient,
  SDK_CALL_BOUNDS_ENV,
  type SdkCallBounds,
  sdkCallBoundsFromEnvironment,
  worstCaseCallMs,
} from './clients';
export type { ConsumerEnvironment, ConsumerEnvironmentOptions } from './consumer/consumer-environment';
export {
  consumerGroupFromEnvironment,
  consumerOptionsFromEnvironment,
  guardedEffectsFromEnvironment,
  messageTypesFromEnvironment,
} from './consumer/consumer-environment';
export type { ConsumerHandlerHooks, OnParked } from './consumer/consumer-handler-hooks';
export { consumerMetricsFromEnvironment } from './consumer/consumer-metrics';
export {
  type Correlated,
  type CorrelationFields,
  messageCorrelation,
  recordCorrelation,
} from './consumer/correlation-fields';
export type { CursorEffect, CursorLocation } from './consumer/cursor-location';
export {
  CursorEffectAttributeError,
  CursorIncrement,
  CursorValueOr,
  cursorIncrement,
  cursorValueOr,
  inboxCursor,
} from './consumer/cursor-location';
export type {
  DynamoEffect,
  EffectGuardOptions,
  IdempotencyStrategy,
  VersionTarget,
} from './consumer/effect-strategies';
export { IDEMPOTENCY_STRATEGIES, VersionMismatchError } from './consumer/effect-strategies';
export {
  type FifoBatchOptions,
  type FifoRecordContext,
  OutOfTimeError,
  processFifoBatch,
} from './consumer/fifo-batch';
export {
  type ConsumerHandlerOptions,
  type FifoConsumerHandler,
  type FifoConsumerHandlerOptions,
  fifoConsumerHandler,
  fifoConsumerHandlerOf,
  type LambdaTimeContext,
} from './consumer/fifo-consumer-handler';
export type { FifoBatchEvent, FifoBatchResponse, FifoRecord } from './consumer/fifo-records';
export type {
  BodyConsumeResult,
  ConsumeContext,
  ConsumeOutcome,
  ConsumeResult,
  GuardedEffect,
  IdempotentConsumerOptions,
  ParkedKey,
} from './consumer/idempotent-consumer';
export {
  CursorMovedError,
  DEFAULT_TIME_RESERVE_MS,
  IdempotentConsumer,
  IdempotentOrderedConsumer,
  type IdempotentOrderedConsumerOptions,
  KeyUnparkedError,
} from './consumer/idempotent-consumer';
export { UnreadableMessageError } from './consumer/unreadable-message';
export { type CountMetrics, emfCountMetrics } from './count-metrics';
export { Env, type EnvName } from './environment';
export {
  ConfigurationError,
  InvalidEnvelopeError,
  MessageInProgressError,
  ReliableMessagingError,
  requiredEnv,
  TransactionConflictError,
} from './errors';
export type {
  AggregateRef,
  CheckResult,
  HalfMessageIdempotency,
  HalfMessageItem,
  HalfMessageStatus,
  LocalStepRef,
  TransactionCheckRequest,
  TransactionCheckResponse,
} from './half/half-message';
export {
  AggregateNotFoundError,
  CommitOutcomeUnknownError,
  TransactionNotOpenError,
} from './half/half-message';
export type {
  CommitOutcome,
  PreparedTransaction,
  PrepareInput,
  PrepareOptions,
  RollbackOutcome,
  TransactionalProducerOptions,
} from './half/transactional-producer';
export { TransactionalProducer } from './half/transactional-producer';
export {
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  requestFingerprint,
  validateIdempotencyKey,
} from './idempotency/idempotency-key';
export type {
  ClaimOutcome,
  IdempotencyClaim,
  IdempotencyRecord,
  IdempotencyStoreOptions,
  IdempotentRequest,
  StoredResponse,
} from './idempotency/idempotency-store';
export { IdempotencyStore } from './idempotency/idempotency-store';
export { newMessageId } from './ids';
export {
  CONSUMER_METRICS_SERVICE,
  KEYS_PARKED_METRIC,
  METRICS_NAMESPACE,
  STACK_DIMENSION,
  UNREADABLE_MESSAGES_METRIC,
} from './metric-names';
export { type MetricsOptions, metricsOptionsFromEnvironment } from './metrics-options';
export {
  InvalidOutboxMessageError,
  MAX_ENVELOPE_BYTES,
  MAX_GROUP_KEY_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_SEQUENCE,
  MAX_TYPE_LENGTH,
  type UndeliverableField,
} from './outbox/deliverable-message';
export type { MessageEnvelope } from './outbox/outbox-message';
export { parseEnvelope } from './outbox/outbox-message';
export type { CommitOptions, CommittedMessage, NewOutboxMessage, TransactItem } from './outbox/outbox-writer';
export {
  MAX_BUSINESS_ITEMS,
  OutboxCommitError,
  OutboxOutcomeUnknownError,
  OutboxWriter,
} from './outbox/outbox-writer';
export {
  isTraceparent,
  newTraceparent,
  traceparentFor,
  traceparentFromXRay,
} from './trace-context';
export type { RetryTransientOptions } from './transient-errors';
export {
  isOutcomeUnknown,
  isTransientError,
  retryTransient,
  TransientFailureError,
} from './transient-errors';
