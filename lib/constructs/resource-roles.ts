/**
 * The contract between the constructs and `reliable-messaging-ops`: each construct marks the resources an operator
 * needs with the CloudFormation metadata key `reliable-messaging:role`, whatever the stack and its logical IDs.
 * The ops CLI reads a stack's template and resources and finds them by role (a stack's outputs of the same names
 * still win). Each role, with the name of the output it stands for.
 *
 * This module imports nothing: the ops CLI reads it without aws-cdk-lib.
 */
export const RESOURCE_ROLES = {
  'outbox-table': 'OutboxTableName',
  /**
   * The table of transactional (half) messages, declared by `TransactionalOutbox`'s `transactionTable`; absent when
   * they live in the outbox table.
   */
  'transaction-table': 'TransactionTableName',
  /** The SNS FIFO topic the relay publishes to when the pipeline fans out to consumer groups (`EventsTopic`). */
  'events-topic': 'EventsTopicArn',
  queue: 'QueueUrl',
  'dead-letter-queue': 'DeadLetterQueueUrl',
  'inbox-table': 'InboxTableName',
  'alert-topic': 'AlertTopicArn',
  'relay-function': 'RelayFunctionName',
  'relay-failure-queue': 'RelayFailureQueueUrl',
  'sweeper-function': 'SweeperFunctionName',
  'consumer-function': 'ConsumerFunctionName',
  'check-back-function': 'CheckBackFunctionName',
  /** The producer's own table (its aggregates), declared by `TransactionalOutbox.addProducer`. */
  'producer-table': 'ProducerTableName',
  /**
   * The consumer's own table that holds its cursors (a per-key view whose items carry `lastSequence`), declared by
   * `IdempotentConsumer`'s `cursorTable`; absent when the cursors are in the inbox table.
   */
  'cursor-table': 'CursorTableName',
} as const;

export type ResourceRole = keyof typeof RESOURCE_ROLES;

/** The CloudFormation metadata key of a resource's role. */
export const RESOURCE_ROLE_METADATA = 'reliable-messaging:role';

/**
 * The CloudFormation metadata key, on the resources of a consumer group (roles `queue`, `dead-letter-queue`,
 * `inbox-table`, `consumer-function`, `cursor-table`), of the group's name (a string). Resources without it form the
 * stack's one unnamed group (a pipeline with a single queue). `ops --group <name>` picks a group by it.
 */
export const GROUP_METADATA = 'reliable-messaging:group';

/**
 * The CloudFormation metadata key, on the resource marked `producer-table`, of how `reconcile` reads what the
 * producer committed: a JSON object `{ "keyAttribute": string, "sequenceAttribute": string }` — the attribute that
 * holds a message's `groupKey`, and the one that holds the last `sequence` committed for that key.
 */
export const PRODUCER_TABLE_METADATA = 'reliable-messaging:producer-table';

/** How `reconcile` reads the producer's table (the value of {@link PRODUCER_TABLE_METADATA}). */
export interface ProducerTableAttributes {
  /** The attribute (the table's partition key) whose value is the message's `groupKey`. */
  readonly keyAttribute: string;
  /** The attribute that holds the last `sequence` the producer committed for the key. */
  readonly sequenceAttribute: string;
}

/**
 * The CloudFormation metadata key, on the resource marked `cursor-table`, of how `reconcile` reads the consumer's
 * cursors: a JSON object `{ "keyAttribute": string }` — the table's partition key, whose value is the `groupKey`;
 * the item's `lastSequence` attribute is the last sequence applied for the key.
 */
export const CURSOR_TABLE_METADATA = 'reliable-messaging:cursor-table';

/** How `reconcile` reads the consumer's cursor table (the value of {@link CURSOR_TABLE_METADATA}). */
export interface CursorTableAttributes {
  /** The attribute (the table's partition key) whose value is the message's `groupKey`. */
  readonly keyAttribute: string;
}
