// The runtime library's public entry point (`reliable-messaging-serverless/runtime`): what a producer or consumer
// Lambda function of an application imports. Everything else under functions/ is internal.

export type { UnitLedger } from './accounting/unit-accounting';
export { addLedgers, UnitAccountant, unitAccountantFromEnvironment } from './accounting/unit-accounting';
export { WriteConditionError } from './atomic-write';
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
export { forEachConcurrently } from './concurrency';
export type {
  ConsumerEnvironment,
  ConsumerEnvironmentOptions,
} from './consumer/consumer-environment';
export {
  consumerGroupFromEnvironment,
  consumerOptionsFromEnvironment,
  guardedEffectsFromEnvironment,
  messageTypesFromEnvironment,
} from './consumer/consumer-environment';
export type { ConsumerHandlerHooks, OnParked } from './consumer/consumer-handler-hooks';
export { consumerMetricsFromEnvironment } from './consumer/consumer-metrics';
export {
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
  IdempotentOrderedConsumerOptions,
  ParkedKey,
} from './consumer/idempotent-ordered-consumer';
export {
  CursorMovedError,
  DEFAULT_TIME_RESERVE_MS,
  IdempotentOrderedConsumer,
  KeyUnparkedError,
} from './consumer/idempotent-ordered-consumer';
export { keyParkedAlert } from './consumer/key-parked-alert';
export { resendToContinue } from './consumer/release-continuation';
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
  TransactionCheckRequest,
  TransactionCheckResponse,
} from './half/half-message';
export {
  AggregateNotFoundError,
  CommitOutcomeUnknownError,
  TransactionNotOpenError,
} from './half/half-message';
export type {
  CheckBackPolicy,
  CheckBackReport,
  OpenTransactionCheckerOptions,
  ResolvedTransaction,
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
export type { DeliverableMessageFields, UndeliverableField } from './outbox/deliverable-message';
export {
  checkDeliverable,
  InvalidOutboxMessageError,
  MAX_ENVELOPE_BYTES,
  MAX_GROUP_KEY_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_SEQUENCE,
  MAX_TYPE_LENGTH,
} from './outbox/deliverable-message';
export type { MessageEnvelope, OutboxItem, OutboxStatus } from './outbox/outbox-message';
export { parseEnvelope } from './outbox/outbox-message';
export type { CommitOptions, CommittedMessage, NewOutboxMessage, TransactItem } from './outbox/outbox-writer';
export {
  MAX_BUSINESS_ITEMS,
  newOutboxItem,
  OutboxCommitError,
  OutboxOutcomeUnknownError,
  OutboxWriter,
} from './outbox/outbox-writer';
export type {
  DestinationAttribute,
  DestinationEntry,
  DestinationFailure,
  MessageDestination,
  PublishBatchResult,
} from './relay/message-destination';
export { MAX_BATCH_ENTRIES, queueDestination, topicDestination } from './relay/message-destination';
export type {
  OutboxPublisherOptions,
  OutboxPublisherSettings,
  PublisherDestinationOptions,
  RelayResult,
} from './relay/outbox-publisher';
export { OutboxPublisher } from './relay/outbox-publisher';
export type { OutboxAuditOptions, OutboxAuditPolicy, OutboxAuditReport } from './sweeper/outbox-audit';
export { DEFAULT_OUTBOX_AUDIT_POLICY, OutboxAudit } from './sweeper/outbox-audit';
export type { OutboxSweeperOptions, SweepPolicy, SweepReport } from './sweeper/outbox-sweeper';
export { OutboxSweeper, SweepFailedError } from './sweeper/outbox-sweeper';
export {
  isTraceparent,
  newTraceparent,
  traceparentFor,
  traceparentFromXRay,
  XRAY_TRACE_ENV,
} from './trace-context';
export type { RetryTransientOptions } from './transient-errors';
export {
  isOutcomeUnknown,
  isTransientCancellation,
  isTransientError,
  retryTransient,
  TransientFailureError,
} from './transient-errors';
