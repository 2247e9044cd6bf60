import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  type TokenUpdateInput,
  updateWithToken,
  WRITE_TOKEN_ATTRIBUTE,
} from '../../../../functions/runtime/token-update';
import { retryTransient } from '../../../../functions/runtime/transient-errors';
import { InMemoryDynamoDb, type LostAnswer } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { failEvery } from '../../support/dynamo-faults';

const TABLE = 'items';
const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const retry = <T>(operation: () => Promise<T>) => retryTransient(operation, { baseDelayMs: 1 });

let db: InMemoryDynamoDb;

/** Counts attempt 1 → 2 of item `k`, if it is still at attempt 1. */
function bump(changes: Partial<TokenUpdateInput> = {}): TokenUpdateInput {
  return {
    TableName: TABLE,
    Key: { pk: 'k' },
    UpdateExpression: 'SET attempts = :next',
    ConditionExpression: 'attempts = :seen',
    ExpressionAttributeValues: { ':next': 2, ':seen': 1 },
    ...changes,
  };
}

beforeEach(() => {
  ddb.reset();
  db = new InMemoryDynamoDb({ [TABLE]: ['pk'] });
  db.install(ddb);
  db.seed(TABLE, { pk: 'k', attempts: 1, payload: 'p' });
});

describe('updateWithToken', () => {
  it('writes the token with the update and returns the item as the update left it', async () => {
    // WHEN
    const item = await updateWithToken(dynamodb, bump(), retry, 'token-1');

    // THEN
    expect(item).toEqual({ pk: 'k', attempts: 2, payload: 'p', [WRITE_TOKEN_ATTRIBUTE]: 'token-1' });
    expect(db.item(TABLE, { pk: 'k' })).toEqual(item);
    expect(ddb.commandCalls(GetCommand)).toEqual([]);
  });

  it('writes a fresh token each time when none is given', async () => {
    // WHEN
    const first = await updateWithToken(dynamodb, bump(), retry);
    const second = await updateWithToken(
      dynamodb,
      bump({ ExpressionAttributeValues: { ':next': 3, ':seen': 2 } }),
      retry,
    );

    // THEN
    expect(first?.[WRITE_TOKEN_ATTRIBUTE]).toEqual(expect.any(String));
    expect(second?.[WRITE_TOKEN_ATTRIBUTE]).toEqual(expect.any(String));
    expect(second?.[WRITE_TOKEN_ATTRIBUTE]).not.toBe(first?.[WRITE_TOKEN_ATTRIBUTE]);
  });

  it.each<LostAnswer>(['server-error', 'timeout', 'sdk-retry'])(
    'tells its own landed update from another writer’s when the answer was lost (%s), reading the item consistently',
    async (outcome) => {
      // GIVEN the update lands and its answer is lost; the retry fails its condition against it
      db.loseAnswer('Update', () => true, outcome);

      // WHEN
      const item = await updateWithToken(dynamodb, bump(), retry, 'token-1');

      // THEN
      expect(db.lostAnswerCount).toBe(1);
      expect(item).toEqual({ pk: 'k', attempts: 2, payload: 'p', [WRITE_TOKEN_ATTRIBUTE]: 'token-1' });
      expect(ddb.commandCalls(GetCommand).map((call) => call.args[0].input)).toEqual([
        { TableName: TABLE, Key: { pk: 'k' }, ConsistentRead: true },
      ]);
    },
  );

  it('answers undefined when the condition failed against another writer’s change', async () => {
    // GIVEN another writer counted the attempt first, with its own token
    db.patch(TABLE, { pk: 'k' }, { attempts: 2, [WRITE_TOKEN_ATTRIBUTE]: 'theirs' });

    // WHEN
    const item = await updateWithToken(dynamodb, bump(), retry, 'token-1');

    // THEN
    expect(item).toBeUndefined();
    expect(db.item(TABLE, { pk: 'k' })).toMatchObject({ attempts: 2, [WRITE_TOKEN_ATTRIBUTE]: 'theirs' });
  });

  it('answers undefined when the item is gone', async () => {
    // GIVEN
    db.remove(TABLE, { pk: 'k' });

    // WHEN / THEN
    await expect(updateWithToken(dynamodb, bump(), retry, 'token-1')).resolves.toBeUndefined();
  });

  it('rethrows an error other than a failed condition, unchanged', async () => {
    // GIVEN
    const failure = Object.assign(new Error('bad'), { name: 'ValidationException' });
    failEvery(db, 'Update', failure);

    // WHEN / THEN
    await expect(updateWithToken(dynamodb, bump(), retry, 'token-1')).rejects.toBe(failure);
    expect(ddb.commandCalls(GetCommand)).toEqual([]);
  });

  it('adds the token to the SET clause, and keeps the rest of the update', async () => {
    // WHEN
    await updateWithToken(
      dynamodb,
      bump({ UpdateExpression: 'SET attempts = :next REMOVE payload' }),
      retry,
      'token-1',
    );

    // THEN
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: `SET ${WRITE_TOKEN_ATTRIBUTE} = :writeToken, attempts = :next REMOVE payload`,
      ExpressionAttributeValues: { ':next': 2, ':seen': 1, ':writeToken': 'token-1' },
      ReturnValues: 'ALL_NEW',
    });
    expect(db.item(TABLE, { pk: 'k' })).toEqual({ pk: 'k', attempts: 2, [WRITE_TOKEN_ATTRIBUTE]: 'token-1' });
  });

  it('refuses an update that does not start with a SET clause', async () => {
    // WHEN / THEN
    await expect(
      updateWithToken(dynamodb, bump({ UpdateExpression: 'REMOVE payload' }), retry, 'token-1'),
    ).rejects.toThrow(new RangeError('a token update needs a SET clause first; got "REMOVE payload"'));
    expect(ddb.calls()).toEqual([]);
  });
});
