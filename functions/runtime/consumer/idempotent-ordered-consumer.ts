import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { MessageInProgressError, ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import type { TransactItem } from '../outbox/outbox-writer';
import { inboxKeys } from './inbox-keys';

const MAX_MARK_ATTEMPTS = 5;

/** What happened to one delivery. */
export type ConsumeOutcome =
  /** The effect was applied (and, with it, any held-back successors: see `released`). */
  | 'APPLIED'
  /** Already applied (same messageId, or a sequence at or below the key's cursor): acknowledged, no effect. */
  | 'DUPLICATE'
  /** Arrived ahead of a missing predecessor: stored durably in the inbox, acknowledged, applied later. */
  | 'HELD';

export interface ConsumeResult {
  readonly outcome: ConsumeOutcome;
  /** Sequences of held-back messages of the same key applied right after this one, in order. */
  readonly released: readonly number[];
}

/** The business effect. It must be durable when the promise resolves; throw to have the message retried. */
export type Effect<TPayload> = (message: MessageEnvelope<TPayload>) => Promise<void>;

export interface IdempotentOrderedConsumerOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly inboxTableName: string;
  /** How long a messageId is remembered after its effect (the replay horizon). */
  readonly retentionSeconds: number;
  /**
   * How long a claim blocks other deliveries of the same message while its effect runs. After it, a
   * delivery may take over a claim whose holder died. Set it above the function timeout.
   */
  readonly claimSeconds: number;
  readonly clock?: () => Date;
}

/** The effect's precondition no longer holds: the key's cursor moved under us (a concurrent delivery). */
export class CursorMovedError extends ReliableMessagingError {
  constructor(groupKey: string, sequence: number, options?: { cause?: unknown }) {
    super(
      `cursor of key ${groupKey} is no longer at ${sequence - 1}; message ${sequence} will be retried`,
      options,
    );
    this.name = 'CursorMovedError';
  }
}

interface Cursor {
  readonly lastSequence: number;
  readonly heldCount: number;
}

/**
 * Applies each message's effect at most once per messageId (the `unique` strategy of design invariant 4)
 * and in sequence order per key (invariant 6).
 *
 * For a message of sequence n of key k, with the key's cursor at c:
 * - n ≤ c: a duplicate, acknowledged without effect (held successors of c left by an interrupted release
 *   are released first);
 * - n > c + 1: a gap; the message is stored in the inbox and acknowledged, and applied once c reaches n − 1;
 * - n = c + 1: the messageId is claimed with a conditional put (attribute_not_exists, or an expired claim),
 *   the effect runs, then one transaction marks the message done and moves the cursor to n (conditional on c).
 *   Then any held successor n + 1, n + 2, … is applied the same way.
 *
 * If the effect throws, the claim is released and the error propagates, so the delivery is retried. A
 * process that dies between effect and mark leaves a claim that expires after `claimSeconds`; the effect
 * then runs again, so an effect used with this strategy should tolerate a rare re-run after a crash.
 */
export class IdempotentOrderedConsumer {
  private readonly clock: () => Date;

  constructor(private readonly options: IdempotentOrderedConsumerOptions) {
    this.clock = options.clock ?? (() => new Date());
  }

  async consume<TPayload>(
    message: MessageEnvelope<TPayload>,
    effect: Effect<TPayload>,
  ): Promise<ConsumeResult> {
    const cursor = await this.readCursor(message.groupKey);
    if (message.sequence <= cursor.lastSequence) {
      // A redelivery after a failed or interrupted release (effect error, crash): finish releasing what is
      // held behind the cursor, else nothing would ever release it (the held messages were acknowledged).
      const released =
        cursor.heldCount > 0
          ? await this.releaseHeld({ ...message, sequence: cursor.lastSequence }, effect)
          : [];
      return { outcome: 'DUPLICATE', released };
    }
    if (message.sequence > cursor.lastSequence + 1) {
      await this.hold(message);
      return { outcome: 'HELD', released: [] };
    }
    // A copy of this very message may be held from an earlier, early delivery: apply it as the held one,
    // so the held item is removed and the held count goes down with it.
    const heldSequence =
      cursor.heldCount > 0 && (await this.readHeld(message.groupKey, message.sequence)) !== undefined
        ? message.sequence
        : undefined;
    const heldCount = await this.applyOnce(message, effect, heldSequence, cursor.heldCount);
    if (heldCount === undefined) return { outcome: 'DUPLICATE', released: [] };
    const released = heldCount > 0 ? await this.releaseHeld(message, effect) : [];
    return { outcome: 'APPLIED', released };
  }

  private async readCursor(groupKey: string): Promise<Cursor> {
    const response = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.options.inboxTableName,
        Key: inboxKeys.cursor(groupKey),
        ConsistentRead: true,
      }),
    );
    return {
      lastSequence: Number(response.Item?.lastSequence ?? 0),
      heldCount: Number(response.Item?.heldCount ?? 0),
    };
  }

  /** Stores a message that arrived ahead of its predecessor; idempotent for redeliveries. */
  private async hold(message: MessageEnvelope<unknown>): Promise<void> {
    const table = this.options.inboxTableName;
    try {
      await this.options.dynamodb.send(
        new TransactWriteCommand({
          TransactItems: [
            {
              Put: {
                TableName: table,
                Item: {
                  ...inboxKeys.held(message.groupKey, message.sequence),
                  message: JSON.stringify(message),
                  heldAt: this.clock().toISOString(),
                },
                ConditionExpression: 'attribute_not_exists(pk)',
              },
            },
            {
              Update: {
                TableName: table,
                Key: inboxKeys.cursor(message.groupKey),
                UpdateExpression: 'ADD heldCount :one',
                // The predecessor may have been applied meanwhile: then this is no gap any more.
                ConditionExpression: 'attribute_not_exists(lastSequence) OR lastSequence < :previous',
                ExpressionAttributeValues: { ':one': 1, ':previous': message.sequence - 1 },
              },
            },
          ],
        }),
      );
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const [heldReason, cursorReason] = error.CancellationReasons ?? [];
      if (heldReason?.Code === 'ConditionalCheckFailed') return; // already held by an earlier delivery
      if (cursorReason?.Code === 'ConditionalCheckFailed') {
        throw new CursorMovedError(message.groupKey, message.sequence, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Claims the messageId, runs the effect, then marks it done and moves the cursor in one transaction.
   * `heldSequence` is set when the message comes from the held set, whose item is removed in that transaction.
   * Returns the key's held count after the commit, or undefined when the message had already been applied.
   */
  private async applyOnce<TPayload>(
    message: MessageEnvelope<TPayload>,
    effect: Effect<TPayload>,
    heldSequence: number | undefined,
    seenHeldCount: number,
  ): Promise<number | undefined> {
    const claimed = await this.claim(message);
    if (!claimed) return undefined;
    try {
      await effect(message);
    } catch (error) {
      await this.releaseClaim(message).catch(() => undefined);
      throw error;
    }
    return this.markDone(message, heldSequence, seenHeldCount);
  }

  private async claim(message: MessageEnvelope<unknown>): Promise<boolean> {
    const nowSeconds = Math.floor(this.clock().getTime() / 1000);
    try {
      await this.options.dynamodb.send(
        new PutCommand({
          TableName: this.options.inboxTableName,
          Item: {
            ...inboxKeys.message(message.messageId),
            status: 'IN_PROGRESS',
            groupKey: message.groupKey,
            sequence: message.sequence,
            claimExpiresAt: nowSeconds + this.options.claimSeconds,
            expiresAt: nowSeconds + this.options.retentionSeconds,
          },
          ConditionExpression:
            'attribute_not_exists(pk) OR (#status = :inProgress AND claimExpiresAt < :now)',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':now': nowSeconds },
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      if (error.Item?.status?.S === 'COMPLETED') return false;
      throw new MessageInProgressError(message.messageId);
    }
  }

  private async releaseClaim(message: MessageEnvelope<unknown>): Promise<void> {
    await this.options.dynamodb.send(
      new DeleteCommand({
        TableName: this.options.inboxTableName,
        Key: inboxKeys.message(message.messageId),
        ConditionExpression: '#status = :inProgress',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
      }),
    );
  }

  /**
   * Marks the message done and moves the cursor from n − 1 to n, in one transaction. The transaction is
   * also conditional on the held count we last saw, so a message held back concurrently (while the effect
   * ran) is noticed: we re-read the cursor and commit again, and the caller releases what is held.
   */
  private async markDone(
    message: MessageEnvelope<unknown>,
    heldSequence: number | undefined,
    seenHeldCount: number,
  ): Promise<number> {
    let heldCount = seenHeldCount;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.options.dynamodb.send(
          new TransactWriteCommand({ TransactItems: this.doneItems(message, heldSequence, heldCount) }),
        );
        return heldSequence === undefined ? heldCount : heldCount - 1;
      } catch (error) {
        const cursorConditionFailed =
          error instanceof TransactionCanceledException &&
          error.CancellationReasons?.[1]?.Code === 'ConditionalCheckFailed';
        if (!cursorConditionFailed) throw error;
        const cursor = await this.readCursor(message.groupKey);
        if (cursor.lastSequence !== message.sequence - 1 || attempt >= MAX_MARK_ATTEMPTS) {
          throw new CursorMovedError(message.groupKey, message.sequence, { cause: error });
        }
        heldCount = cursor.heldCount;
      }
    }
  }

  private doneItems(
    message: MessageEnvelope<unknown>,
    heldSequence: number | undefined,
    heldCount: number,
  ): TransactItem[] {
    const table = this.options.inboxTableName;
    const now = this.clock().toISOString();
    const fromHeld = heldSequence !== undefined;
    const first = message.sequence === 1;
    return [
      {
        Update: {
          TableName: table,
          Key: inboxKeys.message(message.messageId),
          UpdateExpression: 'SET #status = :completed, completedAt = :now REMOVE claimExpiresAt',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':completed': 'COMPLETED', ':now': now },
        },
      },
      {
        Update: {
          TableName: table,
          Key: inboxKeys.cursor(message.groupKey),
          UpdateExpression: fromHeld
            ? 'SET lastSequence = :sequence, updatedAt = :now ADD heldCount :minusOne'
            : 'SET lastSequence = :sequence, updatedAt = :now',
          ConditionExpression: `${first ? 'attribute_not_exists(lastSequence)' : 'lastSequence = :previous'} AND ${
            heldCount === 0 ? '(attribute_not_exists(heldCount) OR heldCount = :held)' : 'heldCount = :held'
          }`,
          ExpressionAttributeValues: {
            ':sequence': message.sequence,
            ':now': now,
            ':held': heldCount,
            ...(first ? {} : { ':previous': message.sequence - 1 }),
            ...(fromHeld ? { ':minusOne': -1 } : {}),
          },
        },
      },
      ...(fromHeld
        ? [{ Delete: { TableName: table, Key: inboxKeys.held(message.groupKey, heldSequence) } }]
        : []),
    ];
  }

  /** Applies the held successors of `message`, in order, for as long as the next one is there. */
  private async releaseHeld<TPayload>(
    message: MessageEnvelope<TPayload>,
    effect: Effect<TPayload>,
  ): Promise<number[]> {
    const released: number[] = [];
    for (let next = message.sequence + 1; ; next++) {
      const held = await this.readHeld<TPayload>(message.groupKey, next);
      if (held === undefined) return released;
      const cursor = await this.readCursor(message.groupKey);
      if (cursor.lastSequence !== next - 1) return released; // another delivery is releasing them
      const heldCount = await this.applyOnce(held, effect, next, cursor.heldCount);
      // Already applied by another path: still move the cursor past it and drop the held copy.
      if (heldCount === undefined) await this.skipHeld(held, next);
      released.push(next);
    }
  }

  private async readHeld<TPayload>(
    groupKey: string,
    sequence: number,
  ): Promise<MessageEnvelope<TPayload> | undefined> {
    const response = await this.options.dynamodb.send(
      new GetCommand({
        TableName: this.options.inboxTableName,
        Key: inboxKeys.held(groupKey, sequence),
        ConsistentRead: true,
      }),
    );
    return response.Item === undefined
      ? undefined
      : (JSON.parse(String(response.Item.message)) as MessageEnvelope<TPayload>);
  }

  private async skipHeld(message: MessageEnvelope<unknown>, sequence: number): Promise<void> {
    const table = this.options.inboxTableName;
    await this.options.dynamodb.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Update: {
              TableName: table,
              Key: inboxKeys.cursor(message.groupKey),
              UpdateExpression: 'SET lastSequence = :sequence ADD heldCount :minusOne',
              ConditionExpression: 'lastSequence = :previous',
              ExpressionAttributeValues: {
                ':sequence': sequence,
                ':previous': sequence - 1,
                ':minusOne': -1,
              },
            },
          },
          { Delete: { TableName: table, Key: inboxKeys.held(message.groupKey, sequence) } },
        ],
      }),
    );
  }
}
