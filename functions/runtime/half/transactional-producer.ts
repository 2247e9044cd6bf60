import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { clientRequestToken, IdempotencyKeyInProgressError } from '../idempotency/idempotency-key';
import {
  type IdempotentRequest,
  idempotencyAttachment,
  idempotencyCompletion,
  idempotencyReleaseItem,
} from '../idempotency/idempotency-store';
import { newMessageId } from '../ids';
import { checkDeliverable } from '../outbox/deliverable-message';
import { newOutboxItem, type TransactItem } from '../outbox/outbox-writer';
import { openTransactionAttributes } from '../outbox/unsent-index';
import { traceparentFor } from '../trace-context';
import { isOutcomeUnknown, isTransientError } from '../transient-errors';
import {
  AggregateNotFoundError,
  type AggregateRef,
  CommitOutcomeUnknownError,
  type HalfMessageItem,
  halfMessageKey,
  LocalStepCompletedError,
  type LocalStepRef,
  TransactionNotOpenError,
} from './half-message';

export interface TransactionalProducerOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly outboxTableName: string;
  /**
   * The table of half messages (open transactions, their `T#` index entries and their tombstones), when they live
   * in a table of their own (`TransactionalOutbox`'s `transactionTable`, `TRANSACTION_TABLE_NAME`): then the outbox
   * holds only ordinary messages, and a commit is one transaction across both tables. Same key schema and `unsent`
   * index as the outbox table.
   * @default the outbox table
   */
  readonly transactionTableName?: string;
  /**
   * How long after `prepare` the check-back may start asking the checker (RocketMQ's transaction timeout).
   * @default 6
   */
  readonly prepareTimeoutSeconds?: number;
  /**
   * How long a resolved transaction's record is kept, so a late commit or rollback gets a precise answer.
   * @default 7 days
   */
  readonly resolvedRetentionSeconds?: number;
  readonly clock?: () => Date;
}

export interface PrepareInput {
  /** @default a new UUIDv7 */
  readonly transactionId?: string;
  /** The ordering key the message is for. */
  readonly groupKey: string;
  readonly type: string;
  readonly payload: unknown;
  /** The aggregate whose version the commit bumps; its new version is the message's sequence. */
  readonly aggregate: AggregateRef;
  /**
   * Where the local step records that it happened. Name it, and fence the step's write with
   * {@link TransactionalProducer.localStepFence}: then a rollback (by anyone) is refused once the step happened,
   * and the step is refused once the transaction was rolled back.
   * @default none: a rollback does not look for the step
   */
  readonly localStep?: LocalStepRef;
  /**
   * The W3C trace context (`00-<32 hex>-<16 hex>-<2 hex>`) the committed message carries to every consumer.
   * @default derived from the X-Ray trace the function runs in (`_X_AMZN_TRACE_ID`), else a fresh one
   */
  readonly traceparent?: string;
}

export interface PrepareOptions {
  /**
   * Prepare under a claimed idempotency key: the key is bound to the transaction in the same write as the prepare,
   * completed (with `response`) in the commit's transaction, and released by a rollback.
   * @default none
   */
  readonly idempotency?: IdempotentRequest<PreparedTransaction>;
}

export interface PreparedTransaction {
  readonly transactionId: string;
  readonly messageId: string;
  readonly groupKey: string;
}

export interface CommitOutcome extends PreparedTransaction {
  /** The sequence the message took in its key. */
  readonly sequence: number;
  /** True when the transaction had been committed already (the call changed nothing). */
  readonly alreadyCommitted: boolean;
}

export interface RollbackOutcome {
  readonly transactionId: string;
  /** True when the transaction had been rolled back already (the call changed nothing). */
  readonly alreadyRolledBack: boolean;
}

const MAX_COMMIT_RACES = 5;
const OPEN = ['PREPARED', 'FAILED'] as const;

/**
 * Transactional ("half") messages on the outbox (design invariant 7). `prepare` writes the message as its own
 * item, PREPARED, in the transaction table (`transactionTableName`, by default the outbox table, where the relay's
 * stream filter never passes it), so no consumer can see it. The producer then
 * runs a step that cannot share the DynamoDB transaction, and `commit`s — one transaction bumps the aggregate's
 * version, writes the ordinary PENDING message with that version as its sequence, and marks the half message
 * COMMITTED — or `rollback`s. Both are conditional on the half message still being open, so a producer racing the
 * check-back ends in exactly one outcome; both are idempotent, and the wrong one afterwards is a typed error.
 */
export class TransactionalProducer {
  private readonly clock: () => Date;
  private readonly prepareTimeoutSeconds: number;
  private readonly resolvedRetentionSeconds: number;
  /** Where the half messages live (the outbox table unless `transactionTableName` says otherwise). */
  readonly transactionTableName: string;

  constructor(private readonly options: TransactionalProducerOptions) {
    this.transactionTableName = options.transactionTableName ?? options.outboxTableName;
    this.clock = options.clock ?? (() => new Date());
    this.prepareTimeoutSeconds = options.prepareTimeoutSeconds ?? 6;
    this.resolvedRetentionSeconds = options.resolvedRetentionSeconds ?? 7 * 24 * 3600;
  }

  /**
   * Writes the half message PREPARED (and binds the idempotency key, if any, in the same write).
   * @throws InvalidOutboxMessageError when the message could not be delivered once committed (or its `traceparent`
   *   is not one); nothing was written
   */
  async prepare(input: PrepareInput, options: PrepareOptions = {}): Promise<PreparedTransaction> {
    const transactionId = input.transactionId ?? newMessageId();
    const now = this.clock();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const messageId = newMessageId();
    // The commit's message must be deliverable: refuse it now, before anything is written.
    const payload = checkDeliverable({
      groupKey: input.groupKey,
      messageId,
      type: input.type,
      payload: input.payload,
      ...(input.traceparent === undefined ? {} : { traceparent: input.traceparent }),
    });
    const prepared: PreparedTransaction = { transactionId, messageId, groupKey: input.groupKey };
    const claim = options.idempotency?.claim;
    const item: HalfMessageItem = {
      ...halfMessageKey(transactionId),
      transactionId,
      targetGroupKey: input.groupKey,
      messageId,
      type: input.type,
      payload,
      traceparent: traceparentFor(input.traceparent),
      aggregate: input.aggregate,
      ...(input.localStep === undefined ? {} : { localStep: input.localStep }),
      ...(options.idempotency === undefined || claim === undefined
        ? {}
        : { idempotency: { claim, response: options.idempotency.response(prepared) } }),
      status: 'PREPARED',
      createdAt: now.toISOString(),
      prepareTimeoutAt: nowSeconds + this.prepareTimeoutSeconds,
      checkCount: 0,
      nextCheckAt: nowSeconds + this.prepareTimeoutSeconds,
      // In the check-back's sparse index while open; a resolution removes it (tombstones are read by no one).
      ...openTransactionAttributes(transactionId),
    };
    const put = {
      TableName: this.transactionTableName,
      Item: { ...item },
      ConditionExpression: 'attribute_not_exists(groupKey)',
    };
    try {
      if (claim === undefined) await this.options.dynamodb.send(new PutCommand(put));
      else {
        await this.options.dynamodb.send(
          new TransactWriteCommand({
            TransactItems: [{ Put: put }, idempotencyAttachment(claim, transactionId)],
            ClientRequestToken: clientRequestToken(claim.idempotencyKey, transactionId),
          }),
        );
      }
      return prepared;
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      if (claim !== undefined && reasons[1]?.Code === 'ConditionalCheckFailed') {
        throw new IdempotencyKeyInProgressError(claim.idempotencyKey, { cause: error });
      }
      const exists =
        error instanceof ConditionalCheckFailedException || reasons[0]?.Code === 'ConditionalCheckFailed';
      if (!exists && !isOutcomeUnknown(error)) throw error;
      // The put may have landed (its answer was lost, or the SDK's retry met it): its message id says it is ours.
      const existing = await this.read(transactionId);
      if (existing?.messageId === messageId) return prepared;
      if (!exists) throw error;
      if (
        existing?.status === 'PREPARED' &&
        existing.targetGroupKey === input.groupKey &&
        existing.type === input.type
      ) {
        return { transactionId, messageId: existing.messageId, groupKey: existing.targetGroupKey };
      }
      throw new TransactionNotOpenError(transactionId, existing?.status ?? 'UNKNOWN_TRANSACTION', {
        cause: error,
      });
    }
  }

  /**
   * The item a local step's TransactWriteItems carries so that it happens only while the transaction is still
   * PREPARED: after a rollback (or after the check-back gave up on it) the step is refused, with a
   * `ConditionalCheckFailed` reason at this item's index.
   */
  localStepFence(transactionId: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.transactionTableName,
        Key: halfMessageKey(transactionId),
        ConditionExpression: '#status = :prepared',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':prepared': 'PREPARED' },
      },
    };
  }

  /**
   * Commits an open (PREPARED or FAILED) transaction; a no-op for a committed one. Idempotent, so a failure whose
   * outcome is unknown is settled by reading the transaction again.
   * @throws CommitOutcomeUnknownError when the last attempt's outcome is unknown (never roll back on it)
   */
  async commit(transactionId: string, resolvedBy = 'producer'): Promise<CommitOutcome> {
    // The resolution id of each attempt of this call: a COMMITTED record that carries one was committed by this call.
    const attempts = new Set<string>();
    for (let race = 1; ; race++) {
      const half = await this.read(transactionId);
      if (half === undefined) throw new TransactionNotOpenError(transactionId, 'UNKNOWN_TRANSACTION');
      if (half.status === 'COMMITTED') {
        return {
          transactionId,
          messageId: half.messageId,
          groupKey: half.targetGroupKey,
          sequence: half.committedSequence ?? 0,
          alreadyCommitted: !attempts.has(half.resolutionId ?? ''),
        };
      }
      if (half.status === 'ROLLED_BACK') throw new TransactionNotOpenError(transactionId, 'ROLLED_BACK');

      const aggregate = half.aggregate;
      const versionAttribute = aggregate.versionAttribute ?? 'version';
      const current = await this.options.dynamodb.send(
        new GetCommand({ TableName: aggregate.tableName, Key: aggregate.key, ConsistentRead: true }),
      );
      if (current.Item === undefined) throw new AggregateNotFoundError(transactionId);
      const version = Number(current.Item[versionAttribute] ?? 0);
      const sequence = version + 1;
      const now = this.clock();
      const outboxItem = {
        ...newOutboxItem(
          {
            groupKey: half.targetGroupKey,
            sequence,
            type: half.type,
            payload: null,
            // A half message prepared before traceparents has none: its message gets one at the commit.
            ...(half.traceparent === undefined ? {} : { traceparent: half.traceparent }),
          },
          now,
        ),
        messageId: half.messageId,
        payload: half.payload,
      };
      const resolutionId = newMessageId();
      attempts.add(resolutionId);
      const sets = Object.entries(aggregate.set ?? {});
      const keyItems =
        half.idempotency === undefined
          ? []
          : [idempotencyCompletion(half.idempotency.claim, half.idempotency.response, now)];
      try {
        await this.options.dynamodb.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: aggregate.tableName,
                  Key: aggregate.key,
                  UpdateExpression: [
                    'SET #version = :next',
                    ...sets.map((_, i) => `#set${i} = :set${i}`),
                  ].join(', '),
                  // An aggregate without a version attribute is at version 0.
                  ConditionExpression:
                    version === 0
                      ? 'attribute_not_exists(#version) OR #version = :current'
                      : '#version = :current',
                  ExpressionAttributeNames: {
                    '#version': versionAttribute,
                    ...Object.fromEntries(sets.map(([name], i) => [`#set${i}`, name])),
                  },
                  ExpressionAttributeValues: {
                    ':next': sequence,
                    ':current': version,
                    ...Object.fromEntries(sets.map(([, value], i) => [`:set${i}`, value])),
                  },
                },
              },
              {
                Put: {
                  TableName: this.options.outboxTableName,
                  Item: { ...outboxItem },
                  ConditionExpression: 'attribute_not_exists(groupKey)',
                },
              },
              {
                Update: {
                  TableName: this.transactionTableName,
                  Key: halfMessageKey(transactionId),
                  UpdateExpression:
                    'SET #status = :committed, committedSequence = :sequence, resolvedAt = :now, resolvedBy = :by, resolutionId = :resolution, expiresAt = :expires REMOVE sweepShard, sweepOrder',
                  ConditionExpression: '#status IN (:prepared, :failed)',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: {
                    ':committed': 'COMMITTED',
                    ':sequence': sequence,
                    ':now': now.toISOString(),
                    ':by': resolvedBy,
                    ':resolution': resolutionId,
                    ':expires': this.expiry(now),
                    ':prepared': OPEN[0],
                    ':failed': OPEN[1],
                  },
                },
              },
              ...keyItems,
            ],
            // The SDK's retry of an attempt that landed is answered "committed", not cancelled by its own conditions.
            ClientRequestToken: resolutionId,
          }),
        );
        return {
          transactionId,
          messageId: half.messageId,
          groupKey: half.targetGroupKey,
          sequence,
          alreadyCommitted: false,
        };
      } catch (error) {
        // A condition failed (the aggregate moved, or someone resolved the transaction meanwhile), a transient
        // failure, or one whose outcome is unknown: read again — a commit that landed reads as COMMITTED.
        const again = error instanceof TransactionCanceledException || isTransientError(error);
        if (again && race < MAX_COMMIT_RACES) continue;
        if (isOutcomeUnknown(error)) throw new CommitOutcomeUnknownError(transactionId, { cause: error });
        throw error;
      }
    }
  }

  /**
   * Rolls back an open (PREPARED or FAILED) transaction; a no-op for a rolled-back one. When the transaction names
   * its local step's record, the rollback is conditional on that record not existing.
   * @throws LocalStepCompletedError when the local step's record exists (only a commit is right)
   */
  async rollback(transactionId: string, resolvedBy = 'producer'): Promise<RollbackOutcome> {
    const half = await this.read(transactionId);
    if (half?.status === 'ROLLED_BACK') return { transactionId, alreadyRolledBack: true };
    if (half === undefined || half.status === 'COMMITTED') {
      throw new TransactionNotOpenError(transactionId, half?.status ?? 'UNKNOWN_TRANSACTION');
    }
    const now = this.clock();
    const resolutionId = newMessageId();
    const update = {
      TableName: this.transactionTableName,
      Key: halfMessageKey(transactionId),
      UpdateExpression:
        'SET #status = :rolledBack, resolvedAt = :now, resolvedBy = :by, resolutionId = :resolution, expiresAt = :expires REMOVE sweepShard, sweepOrder',
      ConditionExpression: '#status IN (:prepared, :failed)',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: {
        ':rolledBack': 'ROLLED_BACK',
        ':now': now.toISOString(),
        ':by': resolvedBy,
        ':resolution': resolutionId,
        ':expires': this.expiry(now),
        ':prepared': OPEN[0],
        ':failed': OPEN[1],
      },
    };
    const fences = [
      ...(half.localStep === undefined ? [] : [localStepAbsent(half.localStep)]),
      ...(half.idempotency === undefined ? [] : [idempotencyReleaseItem(half.idempotency.claim)]),
    ];
    try {
      if (fences.length === 0) await this.options.dynamodb.send(new UpdateCommand(update));
      else {
        await this.options.dynamodb.send(
          new TransactWriteCommand({
            TransactItems: [{ Update: update }, ...fences],
            ClientRequestToken: resolutionId,
          }),
        );
      }
      return { transactionId, alreadyRolledBack: false };
    } catch (error) {
      const reasons = error instanceof TransactionCanceledException ? (error.CancellationReasons ?? []) : [];
      const resolved =
        error instanceof ConditionalCheckFailedException || reasons[0]?.Code === 'ConditionalCheckFailed';
      if (!resolved && half.localStep !== undefined && reasons[1]?.Code === 'ConditionalCheckFailed') {
        throw new LocalStepCompletedError(transactionId, { cause: error });
      }
      if (!resolved && !isOutcomeUnknown(error)) throw error;
      // Resolved meanwhile, or the rollback's answer was lost: its resolution id says whether it was this one.
      const current = await this.read(transactionId);
      if (current?.status === 'ROLLED_BACK') {
        return { transactionId, alreadyRolledBack: current.resolutionId !== resolutionId };
      }
      if (!resolved) throw error;
      throw new TransactionNotOpenError(transactionId, current?.status ?? 'UNKNOWN_TRANSACTION', {
        cause: error,
      });
    }
  }

  /** The half message's record, or undefined. */
  async read(transactionId: string): Promise<HalfMessageItem | undefined> {
    const response = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.transactionTableName,
        Key: halfMessageKey(transactionId),
        ConsistentRead: true,
      }),
    );
    return response.Item as HalfMessageItem | undefined;
  }

  private expiry(now: Date): number {
    return Math.floor(now.getTime() / 1000) + this.resolvedRetentionSeconds;
  }
}

/** A ConditionCheck that the local step's record does not exist. */
function localStepAbsent(localStep: LocalStepRef): TransactItem {
  const [keyAttribute] = Object.keys(localStep.key);
  if (keyAttribute === undefined) throw new RangeError('localStep.key needs at least one attribute');
  return {
    ConditionCheck: {
      TableName: localStep.tableName,
      Key: localStep.key,
      ConditionExpression: 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': keyAttribute },
    },
  };
}
