import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
  type UpdateCommandInput,
} from '@aws-sdk/lib-dynamodb';

/** The attribute a token-carrying update writes: the token of the last such update of the item. */
export const WRITE_TOKEN_ATTRIBUTE = 'writeToken';

/** A conditional update to send with a token: its expression must start with a `SET` clause. */
export type TokenUpdateInput = UpdateCommandInput & {
  readonly TableName: string;
  readonly Key: Record<string, unknown>;
  readonly UpdateExpression: string;
  readonly ConditionExpression: string;
};

/** Runs one call, retrying transient errors (e.g. `retryTransient` within the time left). */
export type RetryCall = <T>(operation: () => Promise<T>) => Promise<T>;

/**
 * Sends a conditional update that also writes a fresh token to `writeToken`, and tells this update's effect from
 * another writer's. On AWS a write may land and still answer a 500 or time out; the retry (the SDK's own, or
 * `retry`'s) then meets its own first attempt and fails its condition. So when the condition fails, the item is read
 * again (strongly consistent): if it carries this update's token, the update landed and the item is returned as it
 * is now; otherwise the condition failed against someone else's change and the answer is `undefined`.
 *
 * @returns the item after this update (`ALL_NEW`, or as read again), or undefined when another writer got there first
 */
export async function updateWithToken(
  dynamodb: DynamoDBDocumentClient,
  input: TokenUpdateInput,
  retry: RetryCall,
  token: string = randomUUID(),
): Promise<Record<string, unknown> | undefined> {
  if (!input.UpdateExpression.startsWith('SET '))
    throw new RangeError(`a token update needs a SET clause first; got "${input.UpdateExpression}"`);
  const update = new UpdateCommand({
    ...input,
    UpdateExpression: `SET ${WRITE_TOKEN_ATTRIBUTE} = :writeToken, ${input.UpdateExpression.slice(4)}`,
    ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ':writeToken': token },
    ReturnValues: 'ALL_NEW',
  });
  try {
    const response = await retry(() => dynamodb.send(update));
    return response.Attributes as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    const current = await retry(() =>
      dynamodb.send(new GetCommand({ TableName: input.TableName, Key: input.Key, ConsistentRead: true })),
    );
    return current.Item?.[WRITE_TOKEN_ATTRIBUTE] === token ? current.Item : undefined;
  }
}
