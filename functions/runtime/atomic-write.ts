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

/** A condition of an atomic write failed: `index` is the item whose condition failed, `oldItem` what it held. */
export class WriteConditionError extends ReliableMessagingError {
  constructor(
    public readonly index: number,
    public readonly oldItem: Record<string, unknown> | undefined,
    options?: { cause?: unknown },
  ) {
    super(`the condition of write ${index} failed`, options);
    this.name = 'WriteConditionError';
  }
}

/**
 * Writes `items` all or nothing, at the lowest price: a single item is one plain write (1 write unit per KB), several
 * are one TransactWriteItems (2 units per item per KB). A failed condition is a WriteConditionError either way.
 */
export async function writeAtomically(
  dynamodb: DynamoDBDocumentClient,
  items: readonly TransactItem[],
): Promise<void> {
  const [only] = items;
  if (items.length === 1 && only !== undefined && only.ConditionCheck === undefined) {
    try {
      if (only.Put !== undefined) await dynamodb.send(new PutCommand(only.Put));
      else if (only.Update !== undefined) await dynamodb.send(new UpdateCommand(only.Update));
      else if (only.Delete !== undefined) await dynamodb.send(new DeleteCommand(only.Delete));
      else throw new RangeError('a write needs one of Put, Update, Delete or ConditionCheck');
      return;
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const old =
        error.Item === undefined ? undefined : unmarshall(error.Item as Record<string, AttributeValue>);
      throw new WriteConditionError(0, old, { cause: error });
    }
  }
  try {
    await dynamodb.send(new TransactWriteCommand({ TransactItems: [...items] }));
  } catch (error) {
    if (!(error instanceof TransactionCanceledException)) throw error;
    const index = (error.CancellationReasons ?? []).findIndex(
      (reason) => reason.Code === 'ConditionalCheckFailed',
    );
    if (index < 0) throw error;
    const item = error.CancellationReasons?.[index]?.Item;
    throw new WriteConditionError(
      index,
      item === undefined ? undefined : unmarshall(item as Record<string, AttributeValue>),
      { cause: error },
    );
  }
}
