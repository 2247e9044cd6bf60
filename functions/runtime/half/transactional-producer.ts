import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { newMessageId } from '../ids';
import { newOutboxItem } from '../outbox/outbox-writer';
import { openTransactionAttributes } from '../outbox/unsent-index';
import {
  AggregateNotFoundError,
  type AggregateRef,
  type HalfMessageItem,
  halfMessageKey,
  TransactionNotOpenError,
} from './half-message';

export interface TransactionalProducerOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly outboxTableName: string;
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
 * item, PREPARED, which the relay's stream filter never passes, so no consumer can see it. The producer then
 * runs a step that cannot share the DynamoDB transaction, and `commit`s — one transaction bumps the aggregate's
 * version, writes the ordinary PENDING message with that version as its sequence, and marks the half message
 * COMMITTED — or `rollback`s. Both are conditional on the half message still being open, so a producer racing the
 * check-back ends in exactly one outcome; both are idempotent, and the wrong one afterwards is a typed error.
 */
export class TransactionalProducer {
  private readonly clock: () => Date;
  private readonly prepareTimeoutSeconds: number;
  private readonly resolvedRetentionSeconds: number;

  constructor(private readonly options: TransactionalProducerOptions) {
    this.clock = options.clock ?? (() => new Date());
    this.prepareTimeoutSeconds = options.prepareTimeoutSeconds ?? 6;
    this.resolvedRetentionSeconds = options.resolvedRetentionSeconds ?? 7 * 24 * 3600;
  }

  async prepare(input: PrepareInput): Promise<PreparedTransaction> {
    const transactionId = input.transactionId ?? newMessageId();
    const now = this.clock();
    const nowSeconds = Math.floor(now.getTime() / 1000);
    const item: HalfMessageItem = {
      ...halfMessageKey(transactionId),
      transactionId,
      targetGroupKey: input.groupKey,
      messageId: newMessageId(),
      type: input.type,
      payload: JSON.stringify(input.payload ?? null),
      aggregate: input.aggregate,
      status: 'PREPARED',
      createdAt: now.toISOString(),
      prepareTimeoutAt: nowSeconds + this.prepareTimeoutSeconds,
      checkCount: 0,
      nextCheckAt: nowSeconds + this.prepareTimeoutSeconds,
      // In the check-back's sparse index while open; a resolution removes it (tombstones are read by no one).
      ...openTransactionAttributes(transactionId),
    };
    try {
      await this.options.dynamodb.send(
        new PutCommand({
          TableName: this.options.outboxTableName,
          Item: { ...item },
          ConditionExpression: 'attribute_not_exists(groupKey)',
        }),
      );
      return { transactionId, messageId: item.messageId, groupKey: input.groupKey };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.read(transactionId);
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

  /** Commits an open (PREPARED or FAILED) transaction; a no-op for a committed one. */
  async commit(transactionId: string, resolvedBy = 'producer'): Promise<CommitOutcome> {
    for (let race = 1; ; race++) {
      const half = await this.read(transactionId);
      if (half === undefined) throw new TransactionNotOpenError(transactionId, 'UNKNOWN_TRANSACTION');
      if (half.status === 'COMMITTED') {
        return {
          transactionId,
          messageId: half.messageId,
          groupKey: half.targetGroupKey,
          sequence: half.committedSequence ?? 0,
          alreadyCommitted: true,
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
        ...newOutboxItem({ groupKey: half.targetGroupKey, sequence, type: half.type, payload: null }, now),
        messageId: half.messageId,
        payload: half.payload,
      };
      const sets = Object.entries(aggregate.set ?? {});
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
                  TableName: this.options.outboxTableName,
                  Key: halfMessageKey(transactionId),
                  UpdateExpression:
                    'SET #status = :committed, committedSequence = :sequence, resolvedAt = :now, resolvedBy = :by, expiresAt = :expires REMOVE sweepShard, sweepOrder',
                  ConditionExpression: '#status IN (:prepared, :failed)',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: {
                    ':committed': 'COMMITTED',
                    ':sequence': sequence,
                    ':now': now.toISOString(),
                    ':by': resolvedBy,
                    ':expires': this.expiry(now),
                    ':prepared': OPEN[0],
                    ':failed': OPEN[1],
                  },
                },
              },
            ],
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
        // A condition failed: the aggregate moved, or someone resolved the transaction meanwhile. Read again.
        if (!(error instanceof TransactionCanceledException) || race >= MAX_COMMIT_RACES) throw error;
      }
    }
  }

  /** Rolls back an open (PREPARED or FAILED) transaction; a no-op for a rolled-back one. */
  async rollback(transactionId: string, resolvedBy = 'producer'): Promise<RollbackOutcome> {
    const now = this.clock();
    try {
      await this.options.dynamodb.send(
        new UpdateCommand({
          TableName: this.options.outboxTableName,
          Key: halfMessageKey(transactionId),
          UpdateExpression:
            'SET #status = :rolledBack, resolvedAt = :now, resolvedBy = :by, expiresAt = :expires REMOVE sweepShard, sweepOrder',
          ConditionExpression: '#status IN (:prepared, :failed)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: {
            ':rolledBack': 'ROLLED_BACK',
            ':now': now.toISOString(),
            ':by': resolvedBy,
            ':expires': this.expiry(now),
            ':prepared': OPEN[0],
            ':failed': OPEN[1],
          },
        }),
      );
      return { transactionId, alreadyRolledBack: false };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const half = await this.read(transactionId);
      if (half?.status === 'ROLLED_BACK') return { transactionId, alreadyRolledBack: true };
      throw new TransactionNotOpenError(transactionId, half?.status ?? 'UNKNOWN_TRANSACTION', {
        cause: error,
      });
    }
  }

  /** The half message's record, or undefined. */
  async read(transactionId: string): Promise<HalfMessageItem | undefined> {
    const response = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.options.outboxTableName,
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
