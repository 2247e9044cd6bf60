import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { ReliableMessagingError, TransactionConflictError } from '../errors';
import { clientRequestToken, IdempotencyKeyInProgressError } from '../idempotency/idempotency-key';
import { type IdempotentRequest, idempotencyCompletion } from '../idempotency/idempotency-store';
import { newMessageId } from '../ids';
import { traceparentFor } from '../trace-context';
import {
  isOutcomeUnknown,
  isTransientError,
  type RetryTransientOptions,
  retryTransient,
} from '../transient-errors';
import { checkDeliverable } from './deliverable-message';
import type { OutboxItem } from './outbox-message';

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
  /**
   * The W3C trace context (`00-<32 hex>-<16 hex>-<2 hex>`) the message carries to every consumer: the correlation id
   * of the request that committed it.
   * @default derived from the X-Ray trace the function runs in (`_X_AMZN_TRACE_ID`), else a fresh one
   */
  readonly traceparent?: string;
}

/** What a committed message looks like to the caller. */
export interface CommittedMessage {
  readonly messageId: string;
  readonly groupKey: string;
  readonly sequence: number;
}

/** DynamoDB allows 100 items in one transaction; the outbox message takes one of them (an idempotency key another). */
export const MAX_BUSINESS_ITEMS = 99;

/**
 * DynamoDB answered that the transaction was not committed, for a reason other than a condition (throttling or a
 * conflict that outlasted the retries, a validation error): nothing was written.
 */
export class OutboxCommitError extends ReliableMessagingError {
  /** True when the same request may well succeed later (throttling, a conflict): answer 503 with Retry-After. */
  public readonly transient: boolean;

  constructor(message: string, options: { cause?: unknown; transient?: boolean } = {}) {
    super(message, options);
    this.name = 'OutboxCommitError';
    this.transient = options.transient ?? false;
  }
}

/**
 * The transaction was sent and no answer says whether it committed (a timeout, a dropped connection, a 5xx after
 * the SDK's retries): it may have. Never report "nothing was written"; a retry under the same idempotency key gets
 * the committed response if it did commit.
 */
export class OutboxOutcomeUnknownError extends ReliableMessagingError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutboxOutcomeUnknownError';
  }
}

export interface CommitOptions {
  /**
   * Commit under a claimed idempotency key (see IdempotencyStore): the key's record is completed, with the response
   * the commit implies, in the same transaction as the change and its message.
   * @default none: each commit is its own request
   */
  readonly idempotency?: IdempotentRequest<CommittedMessage>;
}

/**
 * The outbox item for a message committed at `now`, with its `traceparent` (the one given, else one from `env`'s
 * X-Ray trace, else a fresh one).
 * @throws InvalidOutboxMessageError when a field could not be delivered (see deliverable-message.ts)
 */
export function newOutboxItem(
  message: NewOutboxMessage,
  now: Date,
  env: Readonly<Record<string, string | undefined>> = process.env,
): OutboxItem {
  const messageId = message.messageId ?? newMessageId();
  const payload = checkDeliverable({ ...message, messageId });
  return {
    groupKey: message.groupKey,
    sequence: message.sequence,
    messageId,
    type: message.type,
    payload,
    traceparent: traceparentFor(message.traceparent, env),
    status: 'PENDING',
    attempts: 0,
    createdAt: now.toISOString(),
    // Not in the sweep's sparse `unsent` index: the happy path pays no index write. The relay marks what it could
    // not send, and the outbox audit marks what nobody processed (see unsent-index.ts).
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
    /** In-process retries of transient failures that wrote nothing (throttling, conflicts). @default 5 attempts */
    private readonly retry: RetryTransientOptions = {},
  ) {}

  /**
   * Transient failures that say nothing was written (throttling, a `TransactionConflict`) are retried in-process.
   * A failure whose outcome is unknown is not repeated here (the SDK's own retries carry a `ClientRequestToken`,
   * so they never apply the transaction twice): it is reported, and a retry under the same idempotency key settles it.
   *
   * @throws TransactionConflictError when a condition failed (the indexes refer to `businessItems`; the
   *   outbox item has index `businessItems.length`).
   * @throws IdempotencyKeyInProgressError when the claim on the idempotency key was lost (taken over, or completed
   *   by another request): nothing was written; a retry gets the key's answer.
   * @throws OutboxOutcomeUnknownError when the transaction may or may not have committed.
   * @throws OutboxCommitError for any other failure; nothing was written.
   * @throws InvalidOutboxMessageError when the message could not be delivered (an empty type, a group key SQS
   *   refuses, an envelope over 256 KiB, a `traceparent` that is not one…); nothing was written.
   */
  async commit(
    businessItems: readonly TransactItem[],
    message: NewOutboxMessage,
    options: CommitOptions = {},
  ): Promise<CommittedMessage> {
    if (businessItems.length > MAX_BUSINESS_ITEMS) {
      throw new RangeError(
        `at most ${MAX_BUSINESS_ITEMS} business items fit in one transaction, got ${businessItems.length}`,
      );
    }
    const now = this.clock();
    const item = newOutboxItem(message, now);
    const committed: CommittedMessage = {
      messageId: item.messageId,
      groupKey: item.groupKey,
      sequence: item.sequence,
    };
    const outboxPut: TransactItem = {
      Put: {
        TableName: this.outboxTableName,
        Item: { ...item },
        ConditionExpression: 'attribute_not_exists(groupKey)',
      },
    };
    const idempotency = options.idempotency;
    const keyItems =
      idempotency === undefined
        ? []
        : [idempotencyCompletion(idempotency.claim, idempotency.response(committed), now)];
    const command = new TransactWriteCommand({
      TransactItems: [...businessItems, outboxPut, ...keyItems],
      // One token per call (its message id is unique): the SDK's retry of a call that did commit is answered
      // "committed" instead of failing its conditions.
      ClientRequestToken:
        idempotency === undefined
          ? item.messageId
          : clientRequestToken(idempotency.claim.idempotencyKey, item.messageId),
    });
    const subject = `outbox transaction for ${message.groupKey}#${message.sequence}`;
    try {
      await retryTransient(() => this.dynamodb.send(command), {
        ...this.retry,
        retryable: (error) => !isOutcomeUnknown(error),
      });
    } catch (error) {
      if (error instanceof TransactionCanceledException) {
        const failed = (error.CancellationReasons ?? [])
          .map((reason, index) => (reason.Code === 'ConditionalCheckFailed' ? index : -1))
          .filter((index) => index >= 0);
        if (idempotency !== undefined && failed.includes(businessItems.length + 1)) {
          throw new IdempotencyKeyInProgressError(idempotency.claim.idempotencyKey, { cause: error });
        }
        if (failed.length > 0) {
          throw new TransactionConflictError(
            `transaction cancelled: condition failed on item(s) ${failed.join(', ')}`,
            failed,
            { cause: error },
          );
        }
      }
      if (isOutcomeUnknown(error)) {
        throw new OutboxOutcomeUnknownError(`${subject}: outcome unknown (it may have committed)`, {
          cause: error,
        });
      }
      throw new OutboxCommitError(`${subject} failed; nothing was written`, {
        cause: error,
        transient: isTransientError(error),
      });
    }
    return committed;
  }
}
