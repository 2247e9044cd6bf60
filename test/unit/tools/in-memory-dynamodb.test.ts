import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { InMemoryDynamoDb } from '../../../tools/dynamodb/in-memory-dynamodb';

// The fake stands in for DynamoDB in the consumer's tests: these pin down the parts those tests rely on.

const TABLE = 'table';
const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

let db: InMemoryDynamoDb;

const KEY = { pk: 'A', sk: 'ONE' };
const update = (UpdateExpression: string, values: Record<string, unknown>, extra: object = {}) =>
  dynamodb.send(
    new UpdateCommand({
      TableName: TABLE,
      Key: KEY,
      UpdateExpression,
      ExpressionAttributeValues: values,
      ...extra,
    }),
  );
const query = (input: Omit<QueryCommandInput, 'TableName'>) =>
  dynamodb.send(new QueryCommand({ TableName: TABLE, ...input }));

beforeEach(() => {
  ddb.reset();
  db = new InMemoryDynamoDb(
    { [TABLE]: ['pk', 'sk'] },
    {
      [TABLE]: {
        byState: { keys: ['state', 'since'], projection: 'KEYS_ONLY' },
        byOwner: { keys: ['owner'] },
        byShard: { keys: ['shard', 'order'], projection: 'INCLUDE', include: ['status'] },
      },
    },
  );
  db.install(ddb);
});

describe('InMemoryDynamoDb updates', () => {
  it('appends to a list that may not exist yet, and adds to a number that may not exist yet', async () => {
    // WHEN
    for (const entry of ['x', 'y']) {
      await update('SET entries = list_append(if_not_exists(entries, :empty), :entry) ADD n :two', {
        ':empty': [],
        ':entry': [entry],
        ':two': 2,
      });
    }

    // THEN
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, entries: ['x', 'y'], n: 4 });
  });

  it('answers UPDATED_NEW with the attributes the update touched, and ALL_OLD with the item before', async () => {
    // GIVEN
    db.seed(TABLE, { ...KEY, n: 1, other: 'kept' });

    // WHEN
    const added = await update(
      'ADD n :one SET at = :at',
      { ':one': 1, ':at': 't' },
      { ReturnValues: 'UPDATED_NEW' },
    );
    const old = await update(
      'REMOVE at',
      {},
      { ReturnValues: 'ALL_OLD', ExpressionAttributeValues: undefined },
    );

    // THEN
    expect(added.Attributes).toEqual({ n: 2, at: 't' });
    expect(old.Attributes).toEqual({ ...KEY, n: 2, other: 'kept', at: 't' });
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, n: 2, other: 'kept' });
  });

  it('rejects a clause given twice and arithmetic on a missing attribute', async () => {
    await expect(update('SET a = :v SET b = :v', { ':v': 1 })).rejects.toThrow('two SET clauses');
    await expect(update('SET a = missing + :v', { ':v': 1 })).rejects.toThrow('does not have');
  });
});

describe('InMemoryDynamoDb failed conditions', () => {
  it('returns the old item, in DynamoDB JSON, from a Put, Update or Delete that asked for ALL_OLD', async () => {
    // GIVEN
    db.seed(TABLE, { ...KEY, status: 'COMPLETED', n: 3 });
    const condition = {
      ConditionExpression: 'attribute_not_exists(pk)',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD' as const,
    };

    // WHEN
    const failures = await Promise.all([
      dynamodb
        .send(new PutCommand({ TableName: TABLE, Item: KEY, ...condition }))
        .catch((error: unknown) => error),
      update('SET n = :n', { ':n': 1 }, condition).catch((error: unknown) => error),
      dynamodb
        .send(new DeleteCommand({ TableName: TABLE, Key: KEY, ...condition }))
        .catch((error: unknown) => error),
      dynamodb
        .send(
          new PutCommand({ TableName: TABLE, Item: KEY, ConditionExpression: 'attribute_not_exists(pk)' }),
        )
        .catch((error: unknown) => error),
    ]);

    // THEN
    const expected = { pk: { S: 'A' }, sk: { S: 'ONE' }, status: { S: 'COMPLETED' }, n: { N: '3' } };
    for (const failure of failures.slice(0, 3)) {
      expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
      expect((failure as ConditionalCheckFailedException).Item).toEqual(expected);
    }
    expect((failures[3] as ConditionalCheckFailedException).Item).toBeUndefined();
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, status: 'COMPLETED', n: 3 });
  });

  it('cancels a transaction with a reason per item, the old item on those that asked for it', async () => {
    // GIVEN
    db.seed(TABLE, { ...KEY, version: 4 });

    // WHEN
    const error = await dynamodb
      .send(
        new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: TABLE, Item: { pk: 'B', sk: 'ONE' } } },
            {
              Update: {
                TableName: TABLE,
                Key: KEY,
                UpdateExpression: 'SET version = :next',
                ConditionExpression: 'version = :previous',
                ExpressionAttributeValues: { ':next': 3, ':previous': 2 },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }),
      )
      .catch((caught: unknown) => caught);

    // THEN
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect((error as TransactionCanceledException).CancellationReasons).toEqual([
      { Code: 'None' },
      {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        Item: { pk: { S: 'A' }, sk: { S: 'ONE' }, version: { N: '4' } },
      },
    ]);
    expect(db.item(TABLE, { pk: 'B', sk: 'ONE' })).toBeUndefined();
  });
});

describe('InMemoryDynamoDb queries', () => {
  beforeEach(() => {
    db.seed(
      TABLE,
      { pk: 'K', sk: 'HELD#10', state: 'HELD', since: '2026-03-01T10:00:00Z', owner: 'o-1' },
      { pk: 'K', sk: 'HELD#02', state: 'HELD', since: '2026-03-01T12:00:00Z' },
      { pk: 'K', sk: 'CURSOR', owner: 'o-1' },
      { pk: 'K', sk: 'PARKED#03', state: 'PARKED', since: '2026-03-01T11:00:00Z' },
      { pk: 'L', sk: 'HELD#01', state: 'HELD', since: '2026-03-01T09:00:00Z' },
    );
  });

  it('answers the items of a partition whose sort key begins with a prefix, in sort key order', async () => {
    // WHEN
    const page = await query({
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :held)',
      ExpressionAttributeValues: { ':pk': 'K', ':held': 'HELD#' },
    });

    // THEN
    expect(page.Items?.map((item) => item.sk)).toEqual(['HELD#02', 'HELD#10']);
    expect(page.LastEvaluatedKey).toBeUndefined();
  });

  it('pages by queryPageSize, resuming after LastEvaluatedKey', async () => {
    // GIVEN
    db.queryPageSize = 1;
    const input = { KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'K' } };

    // WHEN
    const first = await query(input);
    const second = await query({ ...input, ExclusiveStartKey: first.LastEvaluatedKey });

    // THEN
    expect(first.Items?.map((item) => item.sk)).toEqual(['CURSOR']);
    expect(first.LastEvaluatedKey).toEqual({ pk: 'K', sk: 'CURSOR' });
    expect(second.Items?.map((item) => item.sk)).toEqual(['HELD#02']);
  });

  it('reads a sparse index, sorted by its sort key, projecting only the keys', async () => {
    // WHEN
    const page = await query({
      IndexName: 'byState',
      KeyConditionExpression: 'state = :state',
      ExpressionAttributeValues: { ':state': 'HELD' },
    });

    // THEN
    expect(page.Items).toEqual([
      { pk: 'L', sk: 'HELD#01', state: 'HELD', since: '2026-03-01T09:00:00Z' },
      { pk: 'K', sk: 'HELD#10', state: 'HELD', since: '2026-03-01T10:00:00Z' },
      { pk: 'K', sk: 'HELD#02', state: 'HELD', since: '2026-03-01T12:00:00Z' },
    ]);
  });

  it('projects every attribute of an ALL index, and only the asked ones with a ProjectionExpression', async () => {
    // WHEN
    const all = await query({
      IndexName: 'byOwner',
      KeyConditionExpression: 'owner = :owner',
      ExpressionAttributeValues: { ':owner': 'o-1' },
    });
    const projected = await query({
      IndexName: 'byState',
      KeyConditionExpression: 'state = :state',
      ExpressionAttributeValues: { ':state': 'PARKED' },
      ProjectionExpression: 'pk, since',
    });

    // THEN
    expect(all.Items).toHaveLength(2);
    expect(all.Items).toContainEqual({
      pk: 'K',
      sk: 'HELD#10',
      state: 'HELD',
      since: '2026-03-01T10:00:00Z',
      owner: 'o-1',
    });
    expect(projected.Items).toEqual([{ pk: 'K', since: '2026-03-01T11:00:00Z' }]);
  });

  it('rejects what DynamoDB rejects: a consistent read of an index, an unknown index, an attribute a keys-only index lacks, a key condition on another attribute', async () => {
    const onState = {
      KeyConditionExpression: 'state = :state',
      ExpressionAttributeValues: { ':state': 'HELD' },
    };
    await expect(query({ IndexName: 'byState', ConsistentRead: true, ...onState })).rejects.toThrow(
      'consistent reads are not supported',
    );
    await expect(query({ IndexName: 'nope', ...onState })).rejects.toThrow('has no index nope');
    await expect(
      query({ IndexName: 'byState', ProjectionExpression: 'message', ...onState }),
    ).rejects.toThrow('does not project message');
    await expect(query(onState)).rejects.toThrow('is not a key condition');
  });
});

describe('InMemoryDynamoDb scans', () => {
  it('pages by scanPageSize, reporting scanCapacityUnitsPerPage per page when asked, and filters after paging', async () => {
    // GIVEN
    db.seed(TABLE, { pk: 'A', sk: '1', n: 1 }, { pk: 'A', sk: '2', n: 2 }, { pk: 'B', sk: '1', n: 3 });
    db.scanPageSize = 2;
    db.scanCapacityUnitsPerPage = 1.5;
    const scan = (ExclusiveStartKey?: Record<string, unknown>) =>
      dynamodb.send(
        new ScanCommand({
          TableName: TABLE,
          FilterExpression: 'n <> :two',
          ExpressionAttributeValues: { ':two': 2 },
          ReturnConsumedCapacity: 'TOTAL',
          ExclusiveStartKey,
        }),
      );

    // WHEN
    const first = await scan();
    const second = await scan(first.LastEvaluatedKey);
    const unmetered = await dynamodb.send(new ScanCommand({ TableName: TABLE }));

    // THEN
    expect(first.Items?.map((item) => item.n)).toEqual([1]);
    expect(first.LastEvaluatedKey).toEqual({ pk: 'A', sk: '2' });
    expect(first.ConsumedCapacity).toEqual({ TableName: TABLE, CapacityUnits: 1.5 });
    expect(second.Items?.map((item) => item.n)).toEqual([3]);
    expect(second.LastEvaluatedKey).toBeUndefined();
    expect(unmetered.ConsumedCapacity).toBeUndefined();
  });
});

describe('InMemoryDynamoDb batch writes', () => {
  const batch = (requests: Record<string, unknown>[]) =>
    dynamodb.send(new BatchWriteCommand({ RequestItems: { [TABLE]: requests } }));

  it('puts and deletes unconditionally, leaves nothing unprocessed, and records what it deleted', async () => {
    // GIVEN
    db.seed(TABLE, { pk: 'A', sk: '1', n: 1 }, { pk: 'A', sk: '2', n: 2 });

    // WHEN
    const output = await batch([
      { DeleteRequest: { Key: { pk: 'A', sk: '1' } } },
      { DeleteRequest: { Key: { pk: 'A', sk: '9' } } },
      { PutRequest: { Item: { pk: 'A', sk: '2', n: 20 } } },
      { PutRequest: { Item: { pk: 'B', sk: '1' } } },
    ]);
    await dynamodb.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'B', sk: '1' } }));

    // THEN
    expect(output.UnprocessedItems).toEqual({});
    expect(db.all(TABLE)).toEqual([{ pk: 'A', sk: '2', n: 20 }]);
    expect(db.deleted(TABLE)).toEqual([
      { pk: 'A', sk: '1', n: 1 },
      { pk: 'B', sk: '1' },
    ]);
  });

  it('rejects what DynamoDB rejects: two requests on one item, more than 25, a key that is not the key', async () => {
    const deleteOf = (sk: string) => ({ DeleteRequest: { Key: { pk: 'A', sk } } });
    await expect(batch([deleteOf('1'), deleteOf('1')])).rejects.toThrow('duplicates');
    await expect(batch(Array.from({ length: 26 }, (_, i) => deleteOf(String(i))))).rejects.toThrow(
      '1 to 25 requests',
    );
    await expect(batch([{ DeleteRequest: { Key: { pk: 'A' } } }])).rejects.toThrow(
      'does not match the schema',
    );
  });
});

describe('InMemoryDynamoDb index paging, projections and read units', () => {
  const shardItem = (sk: string, order: string, extra: object = {}) => ({
    pk: 'S',
    sk,
    shard: 'M#1',
    order,
    status: 'PENDING',
    payload: 'x'.repeat(100),
    ...extra,
  });
  const onShard = {
    IndexName: 'byShard',
    KeyConditionExpression: 'shard = :shard',
    ExpressionAttributeValues: { ':shard': 'M#1' },
  };

  it('projects the keys and the included attributes of an INCLUDE index', async () => {
    // GIVEN
    db.seed(TABLE, shardItem('1', 'a'));

    // WHEN
    const page = await query(onShard);

    // THEN
    expect(page.Items).toEqual([{ pk: 'S', sk: '1', shard: 'M#1', order: 'a', status: 'PENDING' }]);
  });

  it('resumes after an ExclusiveStartKey whose item was deleted meanwhile, as DynamoDB does', async () => {
    // GIVEN three items, one per page; the first page's item is deleted before the next page is read
    db.queryPageSize = 1;
    db.seed(TABLE, shardItem('1', 'a'), shardItem('2', 'b'), shardItem('3', 'c'));
    const first = await query(onShard);
    await dynamodb.send(new DeleteCommand({ TableName: TABLE, Key: { pk: 'S', sk: '1' } }));

    // WHEN
    const second = await query({ ...onShard, ExclusiveStartKey: first.LastEvaluatedKey });

    // THEN
    expect(first.LastEvaluatedKey).toEqual({ pk: 'S', sk: '1', shard: 'M#1', order: 'a' });
    expect(second.Items?.map((item) => item.order)).toEqual(['b']);
  });

  it('keeps an index in order as items come, go and change their index keys (a REMOVE takes them out)', async () => {
    // GIVEN
    db.seed(TABLE, shardItem('1', 'b'), shardItem('2', 'c'));
    await query(onShard);

    // WHEN an item is added before the others, one is moved to the end, and one leaves the index
    db.seed(TABLE, shardItem('3', 'a'));
    await dynamodb.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: { pk: 'S', sk: '1' },
        UpdateExpression: 'SET #order = :order',
        ExpressionAttributeNames: { '#order': 'order' },
        ExpressionAttributeValues: { ':order': 'z' },
      }),
    );
    await dynamodb.send(
      new UpdateCommand({ TableName: TABLE, Key: { pk: 'S', sk: '2' }, UpdateExpression: 'REMOVE shard' }),
    );

    // THEN
    expect((await query(onShard)).Items?.map((item) => item.sk)).toEqual(['3', '1']);
  });

  it('bills a Query as DynamoDB does: bytes read (as projected) in 4 KB units, half each when eventually consistent, at least one', async () => {
    // GIVEN 100 items of about 1.2 KB in the table, about 40 bytes each in the INCLUDE index
    for (let n = 0; n < 100; n++) {
      db.seed(TABLE, shardItem(String(n).padStart(3, '0'), `o${n}`, { payload: 'x'.repeat(1200) }));
    }
    const capacity = { ReturnConsumedCapacity: 'TOTAL' as const };

    // WHEN
    const table = await query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'S' },
      ...capacity,
    });
    const consistent = await query({
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': 'S' },
      ConsistentRead: true,
      ...capacity,
    });
    const index = await query({ ...onShard, ...capacity });
    const empty = await query({ ...onShard, ExpressionAttributeValues: { ':shard': 'M#2' }, ...capacity });

    // THEN ≈ 123 KB → 31 units (halved: 15.5); the index's ≈ 3.7 KB → 1 unit, halved; nothing read costs half a unit
    expect(table.ConsumedCapacity?.CapacityUnits).toBe(15.5);
    expect(consistent.ConsumedCapacity?.CapacityUnits).toBe(31);
    expect(index.ConsumedCapacity?.CapacityUnits).toBe(0.5);
    expect(empty.ConsumedCapacity?.CapacityUnits).toBe(0.5);
  });
});

describe('InMemoryDynamoDb lost answers and client request tokens', () => {
  const put = () =>
    dynamodb.send(
      new PutCommand({
        TableName: TABLE,
        Item: { ...KEY, n: 1 },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );

  it('applies a write whose answer is lost, and the caller sees a 500', async () => {
    // GIVEN
    db.loseAnswer('Put', () => true, 'server-error');
    // WHEN / THEN
    await expect(put()).rejects.toMatchObject({ name: 'InternalServerError', $fault: 'server' });
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, n: 1 });
    expect(db.lostAnswerCount).toBe(1);
  });

  it("serves the SDK's retry against the first attempt's effect: a conditional put fails against itself", async () => {
    // GIVEN
    db.loseAnswer('Put', () => true, 'sdk-retry');
    // WHEN / THEN
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, n: 1 });
  });

  it('loses only the first matching answer when told once', async () => {
    // GIVEN
    db.loseAnswer('Update', () => true, 'timeout');
    // WHEN
    await expect(update('SET n = :one', { ':one': 1 })).rejects.toMatchObject({ name: 'TimeoutError' });
    await update('SET n = :two', { ':two': 2 });
    // THEN
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, n: 2 });
  });

  it('loses answers at a rate, drawn per write, and never for a failed write', async () => {
    // GIVEN every answer is lost
    db.loseAnswers(1, () => 0, ['server-error']);
    // WHEN / THEN the write lands, the answer is lost; a write that failed keeps its own answer
    await expect(put()).rejects.toMatchObject({ name: 'InternalServerError' });
    await expect(put()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    db.loseAnswers(0);
    await update('SET n = :two', { ':two': 2 });
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, n: 2 });
  });

  it('commits a transaction once per ClientRequestToken, and refuses the token with another request', async () => {
    // GIVEN
    const transaction = (n: number) =>
      new TransactWriteCommand({
        ClientRequestToken: 'token-1',
        TransactItems: [
          {
            Update: {
              TableName: TABLE,
              Key: KEY,
              UpdateExpression: 'ADD n :n',
              ExpressionAttributeValues: { ':n': n },
            },
          },
        ],
      });
    db.loseAnswer('TransactWrite', () => true, 'sdk-retry');
    // WHEN the answer is lost and the SDK repeats it
    await dynamodb.send(transaction(1));
    await dynamodb.send(transaction(1));
    // THEN it was applied once
    expect(db.item(TABLE, KEY)).toEqual({ ...KEY, n: 1 });
    await expect(dynamodb.send(transaction(5))).rejects.toMatchObject({
      name: 'IdempotentParameterMismatchException',
    });
  });
});
