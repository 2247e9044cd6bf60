import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  transactionConditionError,
  WriteConditionError,
  writeAtomically,
} from '../../../../functions/runtime/atomic-write';
import { ReliableMessagingError } from '../../../../functions/runtime/errors';
import type { TransactItem } from '../../../../functions/runtime/outbox/outbox-writer';
import { throttled } from '../../support/dynamo-faults';

const TABLE = 'table';
const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

const put: TransactItem = {
  Put: {
    TableName: TABLE,
    Item: { pk: 'A', version: 1, tags: ['x'] },
    ConditionExpression: 'attribute_not_exists(pk)',
  },
};
const update: TransactItem = {
  Update: {
    TableName: TABLE,
    Key: { pk: 'B' },
    UpdateExpression: 'SET version = :next',
    ConditionExpression: 'version = :current',
    ExpressionAttributeValues: { ':next': 3, ':current': 2 },
    ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
  },
};
const remove: TransactItem = {
  Delete: { TableName: TABLE, Key: { pk: 'C' }, ConditionExpression: 'attribute_exists(pk)' },
};
const check: TransactItem = {
  ConditionCheck: { TableName: TABLE, Key: { pk: 'D' }, ConditionExpression: 'attribute_exists(pk)' },
};

/** The old item as DynamoDB puts it into a condition failure: in DynamoDB JSON. */
const OLD_ITEM = { pk: 'B', version: 7, tags: ['x', 'y'], open: true };

function conditionFailed(withItem: boolean): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    ...(withItem ? { Item: marshall(OLD_ITEM) } : {}),
  });
}

function cancelled(
  reasons: ReadonlyArray<{ Code: string; withItem?: boolean }>,
): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: reasons.map(({ Code, withItem }) => ({
      Code,
      ...(withItem === true ? { Item: marshall(OLD_ITEM) } : {}),
    })),
  });
}

beforeEach(() => {
  ddb.reset();
  ddb.onAnyCommand().rejects(new Error('unexpected command'));
  ddb.on(PutCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  ddb.on(DeleteCommand).resolves({});
  ddb.on(TransactWriteCommand).resolves({});
});

describe('writeAtomically', () => {
  describe('a single write: one plain command (1 write unit)', () => {
    it.each([
      { name: 'Put', item: put, command: PutCommand, input: put.Put },
      { name: 'Update', item: update, command: UpdateCommand, input: update.Update },
      { name: 'Delete', item: remove, command: DeleteCommand, input: remove.Delete },
    ])('sends a single $name as a plain $name command, unchanged', async ({ item, command, input }) => {
      // WHEN
      await writeAtomically(dynamodb, [item]);

      // THEN
      expect(ddb.calls()).toHaveLength(1);
      const sent = ddb.call(0).args[0];
      expect(sent).toBeInstanceOf(command);
      expect(sent.input).toEqual(input);
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    });

    it('fails with WriteConditionError at index 0, with the old item unmarshalled, when the condition fails', async () => {
      // GIVEN
      const failure = conditionFailed(true);
      ddb.on(UpdateCommand).rejects(failure);

      // WHEN
      const error = await writeAtomically(dynamodb, [update]).catch((caught: unknown) => caught);

      // THEN
      expect(error).toBeInstanceOf(WriteConditionError);
      expect(error).toBeInstanceOf(ReliableMessagingError);
      expect(error).toMatchObject({
        name: 'WriteConditionError',
        message: 'the condition of write 0 failed',
        index: 0,
        oldItem: OLD_ITEM,
      });
      expect((error as Error).cause).toBe(failure);
    });

    it('fails with WriteConditionError without an old item when the failure carries none', async () => {
      // GIVEN
      ddb.on(PutCommand).rejects(conditionFailed(false));

      // WHEN
      const error = await writeAtomically(dynamodb, [put]).catch((caught: unknown) => caught);

      // THEN
      expect(error).toBeInstanceOf(WriteConditionError);
      expect(error).toMatchObject({ index: 0 });
      expect((error as WriteConditionError).oldItem).toBeUndefined();
      expect([...(error as WriteConditionError).failures]).toEqual([[0, undefined]]);
    });

    it('lists its one failed condition among the failures', async () => {
      // GIVEN
      ddb.on(UpdateCommand).rejects(conditionFailed(true));

      // WHEN
      const error = await writeAtomically(dynamodb, [update]).catch((caught: unknown) => caught);

      // THEN
      expect([...(error as WriteConditionError).failures]).toEqual([[0, OLD_ITEM]]);
    });

    it('fails with RangeError, sending nothing, when the write has no operation', async () => {
      // WHEN
      const writing = writeAtomically(dynamodb, [{}]);

      // THEN
      await expect(writing).rejects.toThrow(
        new RangeError('a write needs one of Put, Update, Delete or ConditionCheck'),
      );
      expect(ddb.calls()).toHaveLength(0);
    });

    it('rethrows any other error unchanged', async () => {
      // GIVEN
      const failure = throttled();
      ddb.on(DeleteCommand).rejects(failure);

      // WHEN
      const writing = writeAtomically(dynamodb, [remove]);

      // THEN
      await expect(writing).rejects.toBe(failure);
    });
  });

  describe('several writes: one TransactWriteItems (2 write units each)', () => {
    it('sends them, in order, as one TransactWriteCommand', async () => {
      // GIVEN
      const items = [put, update, remove];

      // WHEN
      await writeAtomically(dynamodb, items);

      // THEN
      expect(ddb.calls()).toHaveLength(1);
      expect(ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input).toEqual({ TransactItems: items });
    });

    it('sends a ConditionCheck alone as a transaction: no plain command checks without writing', async () => {
      // WHEN
      await writeAtomically(dynamodb, [check]);

      // THEN
      expect(ddb.calls()).toHaveLength(1);
      expect(ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input).toEqual({ TransactItems: [check] });
    });

    it('fails with WriteConditionError naming the item whose condition failed, with its old item unmarshalled', async () => {
      // GIVEN
      const failure = cancelled([{ Code: 'None' }, { Code: 'ConditionalCheckFailed', withItem: true }]);
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const error = await writeAtomically(dynamodb, [put, update]).catch((caught: unknown) => caught);

      // THEN
      expect(error).toBeInstanceOf(WriteConditionError);
      expect(error).toMatchObject({
        message: 'the condition of write 1 failed',
        index: 1,
        oldItem: OLD_ITEM,
      });
      expect((error as Error).cause).toBe(failure);
    });

    it('fails with WriteConditionError without an old item when the reason carries none', async () => {
      // GIVEN
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled([{ Code: 'ConditionalCheckFailed' }, { Code: 'None' }, { Code: 'None' }]));

      // WHEN
      const error = await writeAtomically(dynamodb, [put, update, remove]).catch((caught: unknown) => caught);

      // THEN
      expect(error).toBeInstanceOf(WriteConditionError);
      expect(error).toMatchObject({ index: 0 });
      expect((error as WriteConditionError).oldItem).toBeUndefined();
    });

    it('lists every item whose condition failed, each with its old item, the first one as its index', async () => {
      // GIVEN the conditions of items 1 and 2 failed; only item 2 returns its old item
      const failure = cancelled([
        { Code: 'None' },
        { Code: 'ConditionalCheckFailed' },
        { Code: 'ConditionalCheckFailed', withItem: true },
      ]);
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const error = await writeAtomically(dynamodb, [put, update, remove]).catch((caught: unknown) => caught);

      // THEN
      expect(error).toMatchObject({ index: 1, oldItem: undefined });
      expect([...(error as WriteConditionError).failures]).toEqual([
        [1, undefined],
        [2, OLD_ITEM],
      ]);
    });

    it('rethrows unchanged a transaction cancelled for another reason than a condition', async () => {
      // GIVEN
      const failure = cancelled([{ Code: 'None' }, { Code: 'TransactionConflict' }]);
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const writing = writeAtomically(dynamodb, [put, update]);

      // THEN
      await expect(writing).rejects.toBe(failure);
    });

    it('rethrows any other error unchanged', async () => {
      // GIVEN
      const failure = throttled();
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const writing = writeAtomically(dynamodb, [put, update]);

      // THEN
      await expect(writing).rejects.toBe(failure);
    });
  });
});

describe('WriteConditionError', () => {
  it('lists its own write as the one failure when not told of others', () => {
    expect([...new WriteConditionError(2, OLD_ITEM).failures]).toEqual([[2, OLD_ITEM]]);
  });
});

describe('transactionConditionError', () => {
  it('reads the failed conditions of a cancelled transaction, the cancellation as its cause', () => {
    // GIVEN
    const failure = cancelled([{ Code: 'ConditionalCheckFailed', withItem: true }, { Code: 'None' }]);

    // WHEN
    const error = transactionConditionError(failure);

    // THEN
    expect(error).toBeInstanceOf(WriteConditionError);
    expect(error).toMatchObject({ index: 0, oldItem: OLD_ITEM });
    expect([...(error?.failures ?? [])]).toEqual([[0, OLD_ITEM]]);
    expect(error?.cause).toBe(failure);
  });

  it.each([
    {
      name: 'a cancellation without a failed condition',
      error: cancelled([{ Code: 'TransactionConflict' }]),
    },
    { name: 'a cancellation with no reasons', error: cancelled([]) },
    {
      name: 'a cancellation that gives no reasons',
      error: new TransactionCanceledException({ message: 'cancelled', $metadata: {} }),
    },
    { name: 'a failed condition of a plain write', error: conditionFailed(true) },
    { name: 'another error', error: throttled() },
    {
      name: 'another error that carries cancellation reasons',
      error: Object.assign(new Error('not a cancellation'), {
        CancellationReasons: [{ Code: 'ConditionalCheckFailed' }],
      }),
    },
  ])('reads nothing into $name', ({ error }) => {
    expect(transactionConditionError(error)).toBeUndefined();
  });
});
