import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { WriteConditionError, writeAtomically } from '../atomic-write';
import { MessageInProgressError, ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import type { TransactItem } from '../outbox/outbox-writer';
import { retryTransient } from '../transient-errors';
import { inboxKeys } from './inbox-keys';

/**
 * How an effect is made to happen once per message (design invariant 4):
 * - `unique`: a conditional put of the messageId claims the effect, the effect runs, the claim is marked done;
 * - `version`: the effect is itself conditional on its target's version being `sequence − 1`;
 * - `transaction`: the inbox mark and the effect are one TransactWriteItems.
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
   * strategy its target's version still moves to the message's sequence, alone). At most 99.
   */
  readonly items: (message: MessageEnvelope<TPayload>) => TransactItem[];
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
  const items = effect.items(message);
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
    const key = item.Update?.Key ?? item.Put?.Item ?? {};
    return Object.entries(target.key).every(([name, value]) => key[name] === value);
  });
  if (index < 0) throw new Error(`effect ${effect.name} writes no item at its versionTarget`);
  const guarded = [...items];
  guarded[index] = withVersionCondition(items[index]!, attribute, message.sequence);
  try {
    await writeAtomically(options.dynamodb, guarded);
    return 'APPLIED';
  } catch (error) {
    if (!(error instanceof WriteConditionError) || error.index !== index) throw error;
    const found = error.oldItem?.[attribute] === undefined ? undefined : Number(error.oldItem[attribute]);
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

/** The write of a `version` effect that has nothing else to write for a message: its target's version, alone. */
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
      ExpressionAttributeNames: { '#effectVersion': target.versionAttribute ?? 'version' },
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

/** `unique`: claim (conditional put) → effect → mark done. A claim whose holder died expires after claimSeconds. */
async function applyUnique<TPayload>(
  effect: DynamoEffect<TPayload>,
  message: MessageEnvelope<TPayload>,
  items: TransactItem[],
  options: EffectGuardOptions,
): Promise<EffectOutcome> {
  const key = inboxKeys.effect(message.messageId, effect.name);
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
          claimExpiresAt: now + options.claimSeconds,
          expiresAt: now + options.retentionSeconds,
        },
        ConditionExpression: 'attribute_not_exists(pk) OR (#status = :inProgress AND claimExpiresAt < :now)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':now': now },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    if (error.Item?.status?.S === 'COMPLETED') return 'DUPLICATE';
    throw new MessageInProgressError(message.messageId);
  }
  try {
    await writeAtomically(options.dynamodb, items);
  } catch (error) {
    // Release the claim (through transient failures too), so that a retry of this delivery can claim again at once.
    await retryTransient(() =>
      options.dynamodb.send(
        new DeleteCommand({
          TableName: options.inboxTableName,
          Key: key,
          ConditionExpression: '#status = :inProgress',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
        }),
      ),
    ).catch(() => undefined);
    throw error;
  }
  // The effect is done: mark it so through transient failures too, else a redelivery would find the claim live,
  // wait for it to expire, and apply the effect again.
  await retryTransient(() =>
    options.dynamodb.send(
      new UpdateCommand({
        TableName: options.inboxTableName,
        Key: key,
        UpdateExpression: 'SET #status = :completed REMOVE claimExpiresAt',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':completed': 'COMPLETED' },
      }),
    ),
  );
  return 'APPLIED';
}
