import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { ReliableMessagingError } from './errors';
import type { TransactItem } from './outbox/outbox-writer';

/** An item as a failed condition returned it (ReturnValuesOnConditionCheckFailure `ALL_OLD`), unmarshalled. */
export type OldItem = Record<string, unknown> | undefined;

/**
 * A condition of an atomic write failed: `index` is the first item whose condition failed, `oldItem` what it held;
 * `failures` has every item whose condition failed (a transaction reports them all), by index, with what it held.
 */
export class WriteConditionError extends ReliableMessagingError {
  public readonly failures: ReadonlyMap<number, OldItem>;

  constructor(
    public readonly index: number,
    public readonly oldItem: OldItem,
    options?: { cause?: unknown; failures?: ReadonlyMap<number, OldItem> },
  ) {
    super(`the condition of write ${index} failed`, options);
    this.name = 'WriteConditionError';
    this.failures = options?.failures ?? new Map([[index, oldItem]]);
  }
}

const unmarshalled = (item: Record<string, unknown> | undefined): OldItem =>
  item === undefined ? undefined : unmarshall(item as Record<string, AttributeValue>);

/**
 * The failed conditions of a cancelled TransactWriteItems, as a WriteConditionError (indexes are the transaction's),
 * or undefined when the error is not a cancellation with a failed condition (nothing else is read into it).
 */
export function transactionConditionError(error: unknown): WriteConditionError | undefined {
  if (!(error instanceof TransactionCanceledException)) return undefined;
  const failures = new Map<number, OldItem>();
  for (const [index, reason] of (error.CancellationReasons ?? []).entries()) {
    if (reason.Code === 'ConditionalCheckFailed') failures.set(index, unmarshalled(reason.Item));
  }
  const [first] = failures.keys();
  if (first === undefined) return undefined;
  return new WriteConditionError(first, failures.get(first), { cause: error, failures });
}

/**
 * Writes `items` all or nothing, at the lowest price: a single item is one plain write (1 write unit per KB), several
 * are one TransactWriteItems (2 units per item per KB). A failed condition is a WriteConditionError either way.
 */
export async function writeAtomically(
  dynamodb: DynamoDBDocumentClient,
  items: readonly TransactItem[],
): Promise<void> {
  const only = items.length === 1 ? items[0] : undefined;
  if (only !== undefined && only.ConditionCheck === undefined) {
    try {
      if (only.Put !== undefined) await dynamodb.send(new PutCommand(only.Put));
      else if (only.Update !== undefined) await dynamodb.send(new UpdateCommand(only.Update));
      else if (only.Delete !== undefined) await dynamodb.send(new DeleteCommand(only.Delete));
      else throw new RangeError('a write needs one of Put, Update, Delete or ConditionCheck');
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      throw new WriteConditionError(0, unmarshalled(error.Item), { cause: error });
    }
  }
  try {
    await dynamodb.send(new TransactWriteCommand({ TransactItems: [...items] }));
  } catch (error) {
    throw transactionConditionError(error) ?? error;
  }
}
