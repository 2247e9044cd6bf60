import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ReliableMessagingError, TransactionConflictError } from '../errors';
import { newMessageId } from '../ids';
import type { OutboxItem } from './outbox-message';
import { unsentMessageAttributes } from './unsent-index';

export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** A message to commit together with a business change. */
export interface NewOutboxMessage {
  readonly groupKey: string;
  /** The aggregate's new version; the transaction's business writes must be conditional on the old one. */
  readonly sequence: number;
  readonly type: string;
  readonly payload: unknown;
  /** @default a new UUIDv7 */
  readonly messageId?: string;
}

/** What a committed message looks like to the caller. */
export interface CommittedMessage {
  readonly messageId: string;
  readonly groupKey: string;
  readonly sequence: number;
}

/** DynamoDB allows 100 items in one transaction; the outbox message takes one of them. */
export const MAX_BUSINESS_ITEMS = 99;

/** The transaction failed for a reason other than a condition (throttling, a service error, a timeout). */
export class OutboxCommitError extends ReliableMessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutboxCommitError';
  }
}

/** The outbox item for a message committed at `now`. */
export function newOutboxItem(message: NewOutboxMessage, now: Date): OutboxItem {
  if (!Number.isInteger(message.sequence) || message.sequence < 1) {
    throw new RangeError(`sequence must be an integer ≥ 1, got ${message.sequence}`);
  }
  return {
    groupKey: message.groupKey,
    sequence: message.sequence,
    messageId: message.messageId ?? newMessageId(),
    type: message.type,
    payload: JSON.stringify(message.payload ?? null),
    status: 'PENDING',
    attempts: 0,
    createdAt: now.toISOString(),
    // In the sweep's sparse index until it is sent (and deleted).
    ...unsentMessageAttributes(message.groupKey, message.sequence),
  };
}

/**
 * Writes the business change and the outbox message in ONE DynamoDB transaction (design invariant 1):
 * either both exist afterwards or neither does. Resolves only after the commit.
 *
 * @throws TransactionConflictError when a condition failed (the indexes refer to `businessItems`; the
 *   outbox item, last in the transaction, has index `businessItems.length`).
 * @throws OutboxCommitError for any other failure; nothing was written.
 */
export class OutboxWriter {
  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly outboxTableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async commit(businessItems: readonly TransactItem[], message: NewOutboxMessage): Promise<CommittedMessage> {
    if (businessItems.length > MAX_BUSINESS_ITEMS) {
      throw new RangeError(
        `at most ${MAX_BUSINESS_ITEMS} business items fit in one transaction, got ${businessItems.length}`,
      );
    }
    const item = newOutboxItem(message, this.clock());
    const outboxPut: TransactItem = {
      Put: {
        TableName: this.outboxTableName,
        Item: { ...item },
        ConditionExpression: 'attribute_not_exists(groupKey)',
      },
    };
    try {
      await this.dynamodb.send(new TransactWriteCommand({ TransactItems: [...businessItems, outboxPut] }));
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const failed = (error.CancellationReasons ?? [])
          .map((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? index : -1))
          .filter((index) => index >= 0);
        if (failed.length > 0) {
          throw new TransactionConflictError(
            `transaction cancelled: condition failed on item(s) ${failed.join(', ')}`,
            failed,
            { cause: error },
          );
        }
      }
      throw new OutboxCommitError(`outbox transaction for ${message.groupKey}#${message.sequence} failed`, {
        cause: error,
      });
    }
    return { messageId: item.messageId, groupKey: item.groupKey, sequence: item.sequence };
  }
}
