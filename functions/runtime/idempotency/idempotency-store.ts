import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { newMessageId } from '../ids';
import type { TransactItem } from '../outbox/outbox-writer';
import { isOutcomeUnknown } from '../transient-errors';
import { IdempotencyKeyInProgressError, IdempotencyKeyReusedError } from './idempotency-key';

/** The first response to a request, as replayed to every retry under the same key. */
export interface StoredResponse {
  readonly statusCode: number;
  /** The response body, as sent. */
  readonly body: string;
}

/**
 * One request's hold on an idempotency key. Only a transaction carrying this claim's completion (an item that
 * `OutboxWriter.commit` and `TransactionalProducer` add to their transaction when given the claim) can complete the key, and only while the claim still owns it.
 */
export interface IdempotencyClaim {
  readonly tableName: string;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  /** Unique per claim (a takeover after a crash gets a new one). */
  readonly owner: string;
  /** When the claim's record expires (epoch seconds; the table's TTL attribute): `retentionSeconds` after the claim. */
  readonly expiresAt: number;
  /**
   * How long the key's response is kept once completed: a completion expires `retentionSeconds` after it is written,
   * however long after the claim (a half message may be resolved days later).
   * @default 24 hours (claims stored in a half message before this field existed)
   */
  readonly retentionSeconds?: number;
}

/** A request made under a claimed key: its change's transaction stores `response(result)` with the key. */
export interface IdempotentRequest<T> {
  readonly claim: IdempotencyClaim;
  /** The response the change's success implies, from what the change produced (ids, versions). */
  readonly response: (result: T) => StoredResponse;
}

export type ClaimOutcome =
  | { readonly kind: 'claimed'; readonly claim: IdempotencyClaim }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

/** The key's record in the idempotency table (partition key `idempotencyKey`, TTL attribute `expiresAt`). */
export interface IdempotencyRecord {
  readonly idempotencyKey: string;
  readonly fingerprint: string;
  readonly status: 'IN_PROGRESS' | 'COMPLETED';
  readonly owner: string;
  readonly createdAt: string;
  /** TTL (epoch seconds). Absent while a half message holds the key (it is set when the transaction commits). */
  readonly expiresAt?: number;
  /** IN_PROGRESS only: after it (epoch seconds) a retry may take the key over. Absent while a half message holds it. */
  readonly leaseExpiresAt?: number;
  /** Set while a transactional (half) message holds the key: the key is resolved with that transaction. */
  readonly transactionId?: string;
  readonly responseStatus?: number;
  readonly responseBody?: string;
  readonly completedAt?: string;
}

export interface IdempotencyStoreOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly tableName: string;
  /**
   * How long a claim holds the key before a retry may take it over: at least the producer's maximum lifetime (its
   * function's timeout). Only the 409-versus-takeover timing depends on it; a late transaction of a taken-over claim
   * cannot commit (its completion is conditional on still owning the key).
   * @default 30
   */
  readonly leaseSeconds?: number;
  /**
   * How long a key's first response is kept (from its completion).
   * @default 24 hours
   */
  readonly retentionSeconds?: number;
  readonly clock?: () => Date;
}

/** How many puts one claim makes before it gives up (each after a put that did not land or a record that went away). */
export const MAX_CLAIM_RACES = 3;

/** How long a key's first response is kept when the store is not told otherwise. */
export const DEFAULT_RETENTION_SECONDS = 24 * 3600;

const NAMES = { '#status': 'status', '#owner': 'owner' };

/**
 * Idempotency keys for producers (design.md "Retries"; the IETF httpapi `Idempotency-Key` draft). A request
 * `claim`s its key (a conditional put of an IN_PROGRESS record with a lease and a unique owner); the transaction
 * that makes the change carries the claim's completion (added by `OutboxWriter.commit`'s `idempotency`), which turns the record COMPLETED with
 * the response that transaction's success implies — so the key is completed if and only if the change committed.
 * A retry then gets the stored response; a retry while the claim holds gets 409; a request with another
 * fingerprint gets 422. A request that ends without committing `release`s the key.
 */
export class IdempotencyStore {
  private readonly leaseSeconds: number;
  private readonly retentionSeconds: number;
  private readonly clock: () => Date;

  constructor(private readonly options: IdempotencyStoreOptions) {
    this.leaseSeconds = options.leaseSeconds ?? 30;
    this.retentionSeconds = options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS;
    this.clock = options.clock ?? (() => new Date());
    if (!(this.leaseSeconds > 0)) throw new RangeError(`leaseSeconds must be > 0; got ${this.leaseSeconds}`);
    if (!(this.retentionSeconds > this.leaseSeconds)) {
      throw new RangeError(
        `retentionSeconds must be > leaseSeconds (${this.leaseSeconds}); got ${this.retentionSeconds}`,
      );
    }
  }

  /**
   * Claims `idempotencyKey` for a request with `fingerprint`, or answers the first request's response.
   *
   * The claim's put is conditional, so an answer lost after it landed — a 5xx, a timeout, or the SDK's own retry
   * meeting the first attempt's record (`ConditionalCheckFailed`) — is settled by the record's owner: every attempt
   * of one call writes the same owner token, so a record that carries it is this call's claim, never another's.
   * @throws IdempotencyKeyReusedError when the key was used with another fingerprint (nothing written)
   * @throws IdempotencyKeyInProgressError when another claim holds the key
   * @throws the last failure, when the claim's write failed and no read found it landed (after 3 attempts): the request was not processed
   */
  async claim(idempotencyKey: string, fingerprint: string): Promise<ClaimOutcome> {
    // One owner for every attempt of this call: a record that carries it was written by this call.
    const owner = newMessageId();
    for (let race = 1; ; race++) {
      const now = this.clock();
      const nowSeconds = Math.floor(now.getTime() / 1000);
      const expiresAt = nowSeconds + this.retentionSeconds;
      const record: IdempotencyRecord = {
        idempotencyKey,
        fingerprint,
        status: 'IN_PROGRESS',
        owner,
        createdAt: now.toISOString(),
        expiresAt,
        leaseExpiresAt: nowSeconds + this.leaseSeconds,
      };
      let existing: IdempotencyRecord | undefined;
      let unanswered: unknown;
      try {
        await this.options.dynamodb.send(
          new PutCommand({
            TableName: this.options.tableName,
            Item: { ...record },
            // Absent, expired (past its TTL but not yet deleted), or an abandoned claim of the same request.
            ConditionExpression:
              'attribute_not_exists(idempotencyKey) OR expiresAt <= :now OR (#status = :inProgress AND fingerprint = :fingerprint AND leaseExpiresAt <= :now)',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':now': nowSeconds,
              ':inProgress': 'IN_PROGRESS',
              ':fingerprint': fingerprint,
            },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { kind: 'claimed', claim: this.claimOf(idempotencyKey, fingerprint, owner, expiresAt) };
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) {
          existing =
            error.Item === undefined
              ? await this.read(idempotencyKey)
              : (unmarshall(error.Item as Record<string, AttributeValue>) as IdempotencyRecord);
        } else if (isOutcomeUnknown(error)) {
          // The put may have landed: the record says whose it is.
          unanswered = error;
          existing = await this.read(idempotencyKey);
        } else throw error;
      }
      // This race's own put landed and its answer was lost (or the SDK's retry met it): the key is ours. (An earlier
      // race's put cannot have landed unseen: its read would have found it.)
      if (existing?.owner === owner) {
        return { kind: 'claimed', claim: this.claimOf(idempotencyKey, fingerprint, owner, expiresAt) };
      }
      const live =
        existing !== undefined && !(existing.expiresAt !== undefined && existing.expiresAt <= nowSeconds);
      if (live && existing !== undefined) {
        if (existing.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError(idempotencyKey);
        if (existing.status === 'COMPLETED') {
          return {
            kind: 'replay',
            response: { statusCode: Number(existing.responseStatus), body: existing.responseBody ?? '' },
          };
        }
        if (race >= MAX_CLAIM_RACES || (existing.leaseExpiresAt ?? Number.POSITIVE_INFINITY) > nowSeconds) {
          throw new IdempotencyKeyInProgressError(idempotencyKey);
        }
      } else if (race >= MAX_CLAIM_RACES) {
        if (unanswered !== undefined) throw unanswered;
        throw new IdempotencyKeyInProgressError(idempotencyKey);
      }
      // The record went away (or its lease ran out) between the put and the read, or the put did not land: claim again.
    }
  }

  private claimOf(
    idempotencyKey: string,
    fingerprint: string,
    owner: string,
    expiresAt: number,
  ): IdempotencyClaim {
    return {
      tableName: this.options.tableName,
      idempotencyKey,
      fingerprint,
      owner,
      expiresAt,
      retentionSeconds: this.retentionSeconds,
    };
  }

  /**
   * Gives the key up after a request that committed nothing, so a retry need not wait for the lease. A key bound to
   * a half message is left alone (that transaction's commit or rollback resolves it). Best effort: a failure only
   * delays the retry until the lease ends; it never lets two requests commit.
   */
  async release(claim: IdempotencyClaim): Promise<void> {
    await this.options.dynamodb
      .send(
        new DeleteCommand({
          TableName: claim.tableName,
          Key: { idempotencyKey: claim.idempotencyKey },
          ConditionExpression:
            '#status = :inProgress AND #owner = :owner AND attribute_not_exists(transactionId)',
          ExpressionAttributeNames: NAMES,
          ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':owner': claim.owner },
        }),
      )
      .catch(() => undefined);
  }

  async read(idempotencyKey: string): Promise<IdempotencyRecord | undefined> {
    const response = await this.options.dynamodb.send(
      new GetCommand({ TableName: this.options.tableName, Key: { idempotencyKey }, ConsistentRead: true }),
    );
    return response.Item as IdempotencyRecord | undefined;
  }
}

/**
 * The item a transaction carries to complete `claim` with `response`: the key's record becomes COMPLETED in the
 * same TransactWriteItems as the change, so it exists exactly when the change committed. It expires the claim's
 * `retentionSeconds` after `now` (the completion), not after the claim. Conditional on the claim
 * still owning the key (or the record being gone, e.g. released after an ambiguous failure): a transaction of a
 * claim that was taken over cancels instead of committing a second change.
 */
export function idempotencyCompletion(
  claim: IdempotencyClaim,
  response: StoredResponse,
  now: Date,
): TransactItem {
  const record: IdempotencyRecord = {
    idempotencyKey: claim.idempotencyKey,
    fingerprint: claim.fingerprint,
    status: 'COMPLETED',
    owner: claim.owner,
    createdAt: now.toISOString(),
    expiresAt: Math.floor(now.getTime() / 1000) + (claim.retentionSeconds ?? DEFAULT_RETENTION_SECONDS),
    responseStatus: response.statusCode,
    responseBody: response.body,
    completedAt: now.toISOString(),
  };
  return {
    Put: {
      TableName: claim.tableName,
      Item: { ...record },
      ConditionExpression:
        'attribute_not_exists(idempotencyKey) OR (#status = :inProgress AND #owner = :owner)',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':owner': claim.owner },
    },
  };
}

/**
 * The item a half message's prepare carries: the claim is bound to the transaction (no lease, no TTL), so no retry
 * can take the key over while the transaction is open; its commit completes the key, its rollback releases it.
 */
export function idempotencyAttachment(claim: IdempotencyClaim, transactionId: string): TransactItem {
  return {
    Update: {
      TableName: claim.tableName,
      Key: { idempotencyKey: claim.idempotencyKey },
      UpdateExpression: 'SET transactionId = :transactionId REMOVE leaseExpiresAt, expiresAt',
      ConditionExpression: '#status = :inProgress AND #owner = :owner',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: {
        ':inProgress': 'IN_PROGRESS',
        ':owner': claim.owner,
        ':transactionId': transactionId,
      },
    },
  };
}

/** The item a rollback carries: the key is given up with the transaction (a retry may then start afresh). */
export function idempotencyReleaseItem(claim: IdempotencyClaim): TransactItem {
  return {
    Delete: {
      TableName: claim.tableName,
      Key: { idempotencyKey: claim.idempotencyKey },
      ConditionExpression:
        'attribute_not_exists(idempotencyKey) OR (#status = :inProgress AND #owner = :owner)',
      ExpressionAttributeNames: NAMES,
      ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':owner': claim.owner },
    },
  };
}
