import {
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  TransactWriteItemsCommand,
} from '@aws-sdk/client-dynamodb';
import { ListTopicsCommand, PublishBatchCommand, PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import {
  addLedgers,
  UnitAccountant,
  type UnitLedger,
  unitAccountantFromEnvironment,
} from '../../../../functions/runtime/accounting/unit-accounting';

type Handler = (input: Record<string, unknown>) => Record<string, unknown>;

/** A client whose requests never leave the process: the last middleware answers with `answer`. */
function withAnswers<T extends DynamoDBClient | SQSClient | SNSClient>(
  client: T,
  answer: Handler,
  seen: Array<Record<string, unknown>>,
): T {
  const stack = client.middlewareStack as SQSClient['middlewareStack'];
  stack.add(
    () => async (args) => {
      const input = args.input as Record<string, unknown>;
      seen.push(input);
      return { output: { $metadata: {}, ...answer(input) } as never, response: {} };
    },
    { step: 'initialize', priority: 'low', name: 'answer' },
  );
  return client;
}

describe('UnitAccountant', () => {
  it('asks DynamoDB for the consumed capacity and adds it up, reads and writes apart', async () => {
    // GIVEN
    const seen: Array<Record<string, unknown>> = [];
    const units: Record<string, number> = { GetItem: 0.5, PutItem: 1, TransactWriteItems: 4 };
    let next = '';
    const client = withAnswers(
      new DynamoDBClient({ region: 'us-east-1' }),
      () => ({ ConsumedCapacity: { CapacityUnits: units[next] } }),
      seen,
    );
    const accountant = new UnitAccountant('consumer');
    accountant.instrumentDynamoDb(client);

    // WHEN
    next = 'GetItem';
    await client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } }));
    next = 'PutItem';
    await client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } }));
    next = 'TransactWriteItems';
    await client.send(new TransactWriteItemsCommand({ TransactItems: [] }));

    // THEN
    expect(seen.every((input) => input.ReturnConsumedCapacity === 'TOTAL')).toBe(true);
    expect(accountant.take()).toEqual({
      component: 'consumer',
      requests: { 'dynamodb:GetItem': 1, 'dynamodb:PutItem': 1, 'dynamodb:TransactWriteItems': 1 },
      readUnits: 0.5,
      writeUnits: 5,
      sqsBilledRequests: 0,
      snsPublishes: 0,
      snsMessages: 0,
      requestMs: {
        'dynamodb:GetItem': expect.any(Number),
        'dynamodb:PutItem': expect.any(Number),
        'dynamodb:TransactWriteItems': expect.any(Number),
      },
    });
  });

  it('starts afresh after take()', async () => {
    const client = withAnswers(
      new DynamoDBClient({ region: 'us-east-1' }),
      () => ({ ConsumedCapacity: { CapacityUnits: 1 } }),
      [],
    );
    const accountant = new UnitAccountant('relay');
    accountant.instrumentDynamoDb(client);
    await client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } }));
    accountant.take();
    expect(accountant.take()).toMatchObject({ requests: {}, writeUnits: 0 });
  });

  it('counts a failed call by its error, without units', async () => {
    const client = new DynamoDBClient({ region: 'us-east-1' });
    (client.middlewareStack as SQSClient['middlewareStack']).add(
      () => async () => {
        throw Object.assign(new Error('conditional'), { name: 'ConditionalCheckFailedException' });
      },
      { step: 'initialize', priority: 'low', name: 'fail' },
    );
    const accountant = new UnitAccountant('consumer');
    accountant.instrumentDynamoDb(client);
    await expect(
      client.send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } })),
    ).rejects.toThrow('conditional');
    expect(accountant.take()).toMatchObject({
      requests: { 'dynamodb:PutItem:ConditionalCheckFailedException': 1 },
      writeUnits: 0,
    });
  });

  it('bills an SQS request once per 64 KiB of bodies', async () => {
    // GIVEN
    const client = withAnswers(
      new SQSClient({ region: 'us-east-1' }),
      () => ({ Successful: [], Failed: [] }),
      [],
    );
    const accountant = new UnitAccountant('relay');
    accountant.instrumentSqs(client);
    const entry = (id: string, bytes: number) => ({
      Id: id,
      MessageBody: 'x'.repeat(bytes),
      MessageGroupId: 'g',
      MessageDeduplicationId: id,
    });

    // WHEN a small batch and a 100 KiB batch are sent
    await client.send(
      new SendMessageBatchCommand({ QueueUrl: 'q', Entries: [entry('1', 100), entry('2', 100)] }),
    );
    await client.send(
      new SendMessageBatchCommand({ QueueUrl: 'q', Entries: [entry('3', 50 * 1024), entry('4', 50 * 1024)] }),
    );

    // THEN the first is one billed request, the second two
    expect(accountant.take()).toMatchObject({
      requests: { 'sqs:SendMessageBatch': 2 },
      sqsBilledRequests: 3,
    });
  });
});

describe('UnitAccountant.instrumentSns', () => {
  const entry = (id: string, bytes: number) => ({
    Id: id,
    Message: 'x'.repeat(bytes),
    MessageGroupId: 'g',
    MessageDeduplicationId: id,
  });

  it('counts PublishBatch and Publish requests, bills each once per 64 KiB, and counts their messages', async () => {
    // GIVEN
    const client = withAnswers(new SNSClient({ region: 'us-east-1' }), () => ({ Successful: [] }), []);
    const accountant = new UnitAccountant('relay');
    accountant.instrumentSns(client);

    // WHEN a batch of 3 small messages, a batch of two 50 KiB messages, and one alert are published
    await client.send(
      new PublishBatchCommand({
        TopicArn: 't',
        PublishBatchRequestEntries: [entry('1', 100), entry('2', 100), entry('3', 100)],
      }),
    );
    await client.send(
      new PublishBatchCommand({
        TopicArn: 't',
        PublishBatchRequestEntries: [entry('4', 50 * 1024), entry('5', 50 * 1024)],
      }),
    );
    await client.send(new PublishCommand({ TopicArn: 'alerts', Message: 'FAILED' }));

    // THEN 1 + 2 + 1 billed requests, 3 + 2 + 1 messages
    expect(accountant.take()).toMatchObject({
      requests: { 'sns:PublishBatch': 2, 'sns:Publish': 1 },
      snsPublishes: 4,
      snsMessages: 6,
    });
  });

  it('counts another SNS request in requests only', async () => {
    // GIVEN
    const client = withAnswers(new SNSClient({ region: 'us-east-1' }), () => ({ Topics: [] }), []);
    const accountant = new UnitAccountant('ops');
    accountant.instrumentSns(client);

    // WHEN
    await client.send(new ListTopicsCommand({}));

    // THEN
    expect(accountant.take()).toMatchObject({
      requests: { 'sns:ListTopics': 1 },
      snsPublishes: 0,
      snsMessages: 0,
    });
  });
});

describe('unitAccountantFromEnvironment', () => {
  it('is off unless UNIT_ACCOUNTING is true', () => {
    expect(unitAccountantFromEnvironment('relay', {})).toBeUndefined();
    expect(unitAccountantFromEnvironment('relay', { UNIT_ACCOUNTING: 'false' })).toBeUndefined();
    expect(unitAccountantFromEnvironment('relay', { UNIT_ACCOUNTING: 'true' })).toBeInstanceOf(
      UnitAccountant,
    );
  });
});

describe('addLedgers', () => {
  it('adds a ledger an older build logged, without snsMessages, as none', () => {
    const older = {
      component: 'relay',
      requests: {},
      readUnits: 0,
      writeUnits: 0,
      sqsBilledRequests: 1,
      snsPublishes: 0,
    } as unknown as UnitLedger;
    expect(addLedgers('total', [older]).snsMessages).toBe(0);
  });

  it('adds requests and units of several ledgers', () => {
    const one = {
      component: 'a',
      requests: { 'sqs:X': 1 },
      readUnits: 1,
      writeUnits: 2,
      sqsBilledRequests: 1,
      snsPublishes: 0,
      snsMessages: 0,
    };
    const two = {
      component: 'b',
      requests: { 'sqs:X': 2, 'dynamodb:Y': 1 },
      readUnits: 0.5,
      writeUnits: 1,
      sqsBilledRequests: 2,
      snsPublishes: 1,
      snsMessages: 10,
    };
    expect(addLedgers('total', [one, two])).toEqual({
      component: 'total',
      requests: { 'sqs:X': 3, 'dynamodb:Y': 1 },
      readUnits: 1.5,
      writeUnits: 3,
      sqsBilledRequests: 3,
      snsPublishes: 1,
      snsMessages: 10,
      requestMs: {},
    });
  });

  it('adds the milliseconds per API of the ledgers that carry them', () => {
    // GIVEN a ledger with request timings and one logged by an older build, without
    const timed = {
      component: 'consumer',
      requests: { 'dynamodb:UpdateItem': 2, 'dynamodb:GetItem': 1 },
      readUnits: 0.5,
      writeUnits: 2,
      sqsBilledRequests: 0,
      snsPublishes: 0,
      snsMessages: 0,
      requestMs: { 'dynamodb:UpdateItem': 12.5, 'dynamodb:GetItem': 3 },
    };
    const untimed = { ...timed, requestMs: undefined };
    const again = { ...timed, requestMs: { 'dynamodb:UpdateItem': 7.5 } };

    // WHEN they are added
    const total = addLedgers('consumer', [timed, untimed, again]);

    // THEN each API's milliseconds are summed, the untimed ledger adding none
    expect(total.requestMs).toEqual({ 'dynamodb:UpdateItem': 20, 'dynamodb:GetItem': 3 });
  });
});
