import { createHash, randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
} from '@aws-sdk/lib-dynamodb';
import { transactionConditionError, WriteConditionError, writeAtomically } from '../atomic-write';
import { MessageInProgressError, ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import type { TransactItem } from '../outbox/outbox-writer';
import { isOutcomeUnknown, retryTransient } from '../transient-errors';
import { inboxKeys } from './inbox-keys';

/**
 * How an effect is made to happen once per message (design invariant 4), also when the answer to a write is lost
 * after the write landed (a 5xx, a timeout, the SDK's retry meeting its own first attempt): the repeat of a landed
 * write answers DUPLICATE, never applies the effect again, and never fails for good (which would park the key).
 * - `unique`: a conditional put of the messageId claims the effect (a lease, with an owner); then the effect and
 *   the claim's mark (COMPLETED) are one TransactWriteItems conditioned on the claim being ours. Costs one write
 *   more than `transaction`, for the lease that turns a concurrent delivery away before it writes;
 * - `version`: the effect is itself conditional on its target's version being `sequence − 1`; the cheapest (no
 *   inbox record), for effects whose target carries the aggregate's version;
 * - `transaction`: the inbox mark (absent → COMPLETED) and the effect are one TransactWriteItems.
 */
export type IdempotencyStrategy = 'unique' | 'version' | 'transaction';

export const IDEMPOTENCY_STRATEGIES: readonly IdempotencyStrategy[] = ['unique', 'version', 'transaction'];

/** The item whose version a `version` effect checks (the effect's own write sets it to the sequence). */
export interface VersionTarget {
  readonly tableName: string;
  readonly key: Record<string, string | number>;
  /** @default 'version' */
  readonly versionAttribute?: string;
}

/** An effect on DynamoDB: the writes a message causes. Any strategy can guard it. */
export interface DynamoEffect<TPayload = unknown> {
  readonly name: string;
  /**
   * The effect's writes for a message; none means the message does not concern this effect (under the `version`
   * strategy its target's version still moves to the message's sequence, alone). At most 99. It may read first
   * (return a promise): say, an append-only log's last position, the new entry's write conditional on the next
   * position being free. It runs again on every attempt, so what it reads is fresh on a retry.
   */
  readonly items: (message: MessageEnvelope<TPayload>) => TransactItem[] | Promise<TransactItem[]>;
  /** Required by the `version` strategy: the written item that carries the aggregate's version. */
  readonly versionTarget?: (message: MessageEnvelope<TPayload>) => VersionTarget;
}

export type EffectOutcome = 'APPLIED' | 'DUPLICATE' | 'NONE';

export interface EffectGuardOptions {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly inboxTableName: string;
  /** How long a messageId's record is kept (the replay horizon). */
  readonly retentionSeconds: number;
  /** How long a `unique` claim blocks other deliveries while its effect runs (above the function timeout). */
  readonly claimSeconds: number;
  /**
   * Who holds a `unique` claim: a claim of the same owner is taken again at once (the retry of a delivery whose
   * answer was lost), a live claim of another refuses. Safety does not rest on it (the effect's transaction does):
   * only how soon a retry proceeds.
   * @default an id of this process (its execution environment runs one delivery at a time)
   */
  readonly claimOwner?: string;
  readonly clock?: () => Date;
}

/** The target of a `version` effect is at a version that is neither the previous one nor already this one. */
export class VersionMismatchError extends ReliableMessagingError {
  constructor(effect: string, sequence: number, found: number | undefined, options?: { cause?: unknown }) {
    super(
      `effect ${effect}: target is at version ${found ?? 'none'}, expected ${sequence - 1} for sequence ${sequence}`,
      options,
    );
    this.name = 'VersionMismatchError';
  }
}

/**
 * Applies one effect of a message under a strategy; DUPLICATE when it had been applied already, NONE when the
 * message does not concern the effect. Under `version`, a message the effect has nothing to write for still moves
 * its target's version (else the next message would find the target a version behind and fail for good).
 */
export async function applyEffect<TPayload>(
  effect: DynamoEffect<TPayload>,
  strategy: IdempotencyStrategy,
  message: MessageEnvelope<TPayload>,
  options: EffectGuardOptions,
): Promise<EffectOutcome> {
  const items = await effect.items(message);
  if (items.length === 0) {
    if (strategy !== 'version') return 'NONE';
    const moved = await applyVersioned(effect, message, [versionOnlyWrite(effect, message)], options);
    return moved === 'APPLIED' ? 'NONE' : moved;
  }
  if (items.length > 99)
    throw new RangeError(`effect ${effect.name} has ${items.length} writes; at most 99 fit`);
  switch (strategy) {
    case 'transaction':
      return applyInTransaction(effect, message, items, options);
    case 'version':
      return applyVersioned(effect, message, items, options);
    case 'unique':
      return applyUnique(effect, message, items, options);
  }
}

const nowSeconds = (options: EffectGuardOptions) =>
  Math.floor((options.clock?.() ?? new Date()).getTime() / 1000);

/** `transaction`: [inbox mark (absent), …effect] in one TransactWriteItems. */
async function applyInTransaction<TPayload>(
  effect: DynamoEffect<TPayload>,
  message: MessageEnvelope<TPayload>,
  items: TransactItem[],
  options: EffectGuardOptions,
): Promise<EffectOutcome> {
  const mark: TransactItem = {
    Put: {
      TableName: options.inboxTableName,
      Item: {
        ...inboxKeys.effect(message.messageId, effect.name),
        status: 'COMPLETED',
        groupKey: message.groupKey,
        sequence: message.sequence,
        expiresAt: nowSeconds(options) + options.retentionSeconds,
      },
      ConditionExpression: 'attribute_not_exists(pk)',
    },
  };
  try {
    await options.dynamodb.send(new TransactWriteCommand({ TransactItems: [mark, ...items] }));
    return 'APPLIED';
  } catch (error) {
    if (
      error instanceof TransactionCanceledException &&
      error.CancellationReasons?.[0]?.Code === 'ConditionalCheckFailed'
    ) {
      return 'DUPLICATE';
    }
    throw error;
  }
}

/** `version`: the target's write is made conditional on version = sequence − 1 and sets version = sequence. */
async function applyVersioned<TPayload>(
  effect: DynamoEffect<TPayload>,
  message: MessageEnvelope<TPayload>,
  items: TransactItem[],
  options: EffectGuardOptions,
): Promise<EffectOutcome> {
  const target = versionTargetOf(effect, message);
  const attribute = target.versionAttribute ?? 'version';
  const index = items.findIndex((item) => {
    const write = item.Update ?? item.Put;
    if (write === undefined || write.TableName !== target.tableName) return false;
    const key: Record<string, unknown> = ('Key' in write ? write.Key : write.Item) ?? {};
    return Object.entries(target.key).every(([name, value]) => key[name] === value);
  });
  if (index < 0) throw new Error(`effect ${effect.name} writes no item at its versionTarget`);
  const guarded = [...items];
  guarded[index] = withVersionCondition(items[index]!, attribute, message.sequence);
  try {
    await writeAtomically(options.dynamodb, guarded);
    return 'APPLIED';
  } catch (error) {
    // The target's condition decides, whichever other write failed with it (after a landed write whose answer was
    // lost, the other writes' own conditions may fail too).
    if (!(error instanceof WriteConditionError) || !error.failures.has(index)) throw error;
    const old = error.failures.get(index);
    const found = old?.[attribute] === undefined ? undefined : Number(old[attribute]);
    if (found !== undefined && found >= message.sequence) return 'DUPLICATE';
    throw new VersionMismatchError(effect.name, message.sequence, found, { cause: error });
  }
}

function versionTargetOf<TPayload>(
  effect: DynamoEffect<TPayload>,
  message: MessageEnvelope<TPayload>,
): VersionTarget {
  if (effect.versionTarget === undefined) {
    throw new Error(`effect ${effect.name} has no versionTarget: it cannot use the version strategy`);
  }
  return effect.versionTarget(message);
}

/**
 * The write of a `version` effect that has nothing else to write for a message: its target's version, alone
 * (`#effectVersion` is named by withVersionCondition, which every write at the target goes through).
 */
function versionOnlyWrite<TPayload>(
  effect: DynamoEffect<TPayload>,
  message: MessageEnvelope<TPayload>,
): TransactItem {
  const target = versionTargetOf(effect, message);
  return {
    Update: {
      TableName: target.tableName,
      Key: target.key,
      UpdateExpression: 'SET #effectVersion = :effectSequence',
      ExpressionAttributeValues: { ':effectSequence': message.sequence },
    },
  };
}

/**
 * Adds the version precondition to the target's write: absent for sequence 1, else `sequence − 1`. The write itself
 * sets the new version (every effect's items do, whatever the strategy), so this only guards it.
 */
function withVersionCondition(item: TransactItem, attribute: string, sequence: number): TransactItem {
  const condition =
    sequence === 1 ? 'attribute_not_exists(#effectVersion)' : '#effectVersion = :effectPrevious';
  const write = item.Update ?? item.Put!;
  const guarded = {
    ...write,
    ConditionExpression: write.ConditionExpression
      ? `(${write.ConditionExpression}) AND ${condition}`
      : condition,
    ExpressionAttributeNames: { ...write.ExpressionAttributeNames, '#effectVersion': attribute },
    ...(sequence === 1
      ? {}
      : {
          ExpressionAttributeValues: { ...write.ExpressionAttributeValues, ':effectPrevious': sequence - 1 },
        }),
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
  };
  return item.Update !== undefined
    ? { Update: guarded as NonNullable<TransactItem['Update']> }
    : { Put: guarded as NonNullable<TransactItem['Put']> };
}

/**
 * `unique`: claim, then the effect and the mark in one transaction conditioned on the claim.
 * 1. The claim: a conditional put of the record, IN_PROGRESS, with our `claimOwner` and a lease of claimSeconds. It
 *    succeeds on no record, on an expired claim (its holder died), and on a claim of our own (the repeat of a claim
 *    whose answer was lost). A COMPLETED record answers DUPLICATE; a live claim of another owner refuses with
 *    MessageInProgressError (not a failure of the message: the delivery is retried later).
 * 2. The effect: one TransactWriteItems of [the mark — IN_PROGRESS of our owner → COMPLETED —, …the effect's
 *    writes], with a ClientRequestToken that names this very request, so DynamoDB makes its repeat a no-op.
 * The effect and its mark land together or not at all, and only while the claim is ours; so the effect lands at most
 * once per message (while its record lives: the replay horizon), whatever answers are lost, whoever takes an expired
 * claim over. A repeat after the transaction landed finds the record COMPLETED: DUPLICATE. The claim is released only
 * when DynamoDB said that nothing was written (a failed condition, a cancellation, throttling, a validation error);
 * after an unknown outcome (a 5xx, a timeout) it is kept: our own retry takes it again, another delivery waits for
 * its lease to end, and either finds the record COMPLETED if the effect had landed.
 */
async function applyUnique<TPayload>(
  effect: DynamoEffect<TPayload>,
  message: MessageEnvelope<TPayload>,
  items: TransactItem[],
  options: EffectGuardOptions,
): Promise<EffectOutcome> {
  const key = inboxKeys.effect(message.messageId, effect.name);
  const owner = options.claimOwner ?? PROCESS_CLAIM_OWNER;
  if (await claimCompletedAlready(key, message, owner, options)) return 'DUPLICATE';
  const transactItems = [completionOf(key, owner, options), ...items];
  try {
    await options.dynamodb.send(
      new TransactWriteCommand({
        TransactItems: transactItems,
        ClientRequestToken: requestTokenOf(message, effect.name, owner, transactItems),
      }),
    );
    return 'APPLIED';
  } catch (error) {
    const failed = transactionConditionError(error);
    if (failed?.failures.has(0)) {
      // The claim is no longer ours to complete: completed (by us, if an earlier answer was lost), or taken over.
      if (failed.failures.get(0)?.status === 'COMPLETED') return 'DUPLICATE';
      throw new MessageInProgressError(message.messageId);
    }
    if (!isOutcomeUnknown(error)) await release(key, owner, options);
    // A failed condition of the effect's own writes names the write as the effect has it (the mark is not one).
    if (failed === undefined) throw error;
    const failures = new Map([...failed.failures].map(([index, old]) => [index - 1, old]));
    throw new WriteConditionError(failed.index - 1, failed.oldItem, { cause: error, failures });
  }
}

/** Who holds a `unique` claim, unless told: this process (an execution environment runs one delivery at a time). */
const PROCESS_CLAIM_OWNER = randomUUID();

/** Claims the effect's record for `owner`; true, and claims nothing, when the effect was applied already. */
async function claimCompletedAlready<TPayload>(
  key: ReturnType<typeof inboxKeys.effect>,
  message: MessageEnvelope<TPayload>,
  owner: string,
  options: EffectGuardOptions,
): Promise<boolean> {
  const now = nowSeconds(options);
  try {
    await options.dynamodb.send(
      new PutCommand({
        TableName: options.inboxTableName,
        Item: {
          ...key,
          status: 'IN_PROGRESS',
          groupKey: message.groupKey,
          sequence: message.sequence,
          claimOwner: owner,
          claimExpiresAt: now + options.claimSeconds,
          expiresAt: now + options.retentionSeconds,
        },
        ConditionExpression:
          'attribute_not_exists(pk) OR (#status = :inProgress AND (claimExpiresAt < :now OR claimOwner = :owner))',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':now': now, ':owner': owner },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return false;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    if (error.Item?.status?.S === 'COMPLETED') return true;
    throw new MessageInProgressError(message.messageId);
  }
}

/** The mark, as the first write of the effect's transaction: our claim becomes COMPLETED, or nothing is written. */
function completionOf(
  key: ReturnType<typeof inboxKeys.effect>,
  owner: string,
  options: EffectGuardOptions,
): TransactItem {
  return {
    Update: {
      TableName: options.inboxTableName,
      Key: key,
      UpdateExpression: 'SET #status = :completed REMOVE claimExpiresAt, claimOwner',
      ConditionExpression: '#status = :inProgress AND claimOwner = :owner',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':completed': 'COMPLETED', ':inProgress': 'IN_PROGRESS', ':owner': owner },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  };
}

/**
 * The transaction's ClientRequestToken: a digest of the message, the effect, the owner and the request itself. A
 * repeat of the same request within DynamoDB's 10 minutes is a no-op; a different request (an effect whose writes
 * changed between attempts) gets another token, never an IdempotentParameterMismatch (a 400 that would park the key).
 */
function requestTokenOf<TPayload>(
  message: MessageEnvelope<TPayload>,
  effect: string,
  owner: string,
  transactItems: readonly TransactItem[],
): string {
  return createHash('sha256')
    .update(JSON.stringify([message.messageId, effect, owner, transactItems]))
    .digest('hex')
    .slice(0, 36);
}

/**
 * Deletes our claim (through transient failures too), so that a retry of this delivery, or another, can claim again at
 * once. Only after DynamoDB said the effect was not written. A claim no longer ours is left alone; a failure is
 * ignored (the claim then ends with its lease).
 */
async function release(
  key: ReturnType<typeof inboxKeys.effect>,
  owner: string,
  options: EffectGuardOptions,
): Promise<void> {
  await retryTransient(() =>
    options.dynamodb.send(
      new DeleteCommand({
        TableName: options.inboxTableName,
        Key: key,
        ConditionExpression: '#status = :inProgress AND claimOwner = :owner',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':owner': owner },
      }),
    ),
  ).catch(() => undefined);
}
