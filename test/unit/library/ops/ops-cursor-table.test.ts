import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  BatchGetCommand,
  type BatchGetCommandInput,
  DynamoDBDocumentClient,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ATTENTION_INDEX, attentionOf } from '../../../../functions/runtime/consumer/attention-index';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import { replay } from '../../../../lib/ops/commands';
import { connectOps, type OpsOutputs } from '../../../../lib/ops/connection';
import { serveConsole } from '../../../../lib/ops/console/serve';
import { CursorTableAmbiguousError } from '../../../../lib/ops/cursor-table';
import { OutputsNotFoundError } from '../../../../lib/ops/errors';
import { resolveTarget, type Target, type TargetOptions } from '../../../../lib/ops/outputs';
import { reconcile } from '../../../../lib/ops/reconcile';
import { InMemoryDynamoDb, type Item } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../../../tools/dynamodb/outbox-table';
import {
  cloudFormation,
  givenDeployedStack,
  rejectionOf,
  marked as role,
  targetDependencies,
} from '../support/ops-stack-harness';

// The consumer's cursors kept in the user's own table (the quick start's Views: `{ pk: accountId, lastSequence }`):
// where ops finds that table, and that reconcile, wait, the console's key view and replay read (and write) them there.

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

const OUTBOX = 'shop-outbox';
const INBOX = 'shop-inbox';
const ACCOUNTS = 'shop-accounts';
const VIEWS = 'shop-views';
const QUEUE = 'https://sqs.us-east-1.amazonaws.com/1/shop.fifo';
const DLQ = 'https://sqs.us-east-1.amazonaws.com/1/shop-dlq.fifo';

const LIBRARY_RESOURCES = {
  Outbox1: role('outbox-table'),
  Queue2: role('queue'),
  DeadLetters3: role('dead-letter-queue'),
  Inbox4: role('inbox-table'),
  Alerts5: role('alert-topic'),
  Accounts6: role('producer-table', {
    'reliable-messaging:producer-table': { keyAttribute: 'pk', sequenceAttribute: 'version' },
  }),
};
const PHYSICAL: Record<string, string> = {
  Outbox1: OUTBOX,
  Queue2: QUEUE,
  DeadLetters3: DLQ,
  Inbox4: INBOX,
  Alerts5: 'arn:aws:sns:us-east-1:1:alerts',
  Accounts6: ACCOUNTS,
  Views7: VIEWS,
  Ledger8: 'shop-ledger',
};
const cursorTableRole = (metadata: unknown) =>
  role('cursor-table', { 'reliable-messaging:cursor-table': metadata });

/** The quick start's stack (ShopMessaging), no outputs, its resources marked as `resources` adds. */
function givenStack(resources: Record<string, unknown>) {
  givenDeployedStack({
    name: 'ShopMessaging',
    resources: { ...LIBRARY_RESOURCES, ...resources },
    physical: PHYSICAL,
  });
}

const dependencies = targetDependencies('us-east-1');

const resolveShop = (options: Omit<TargetOptions, 'stack'> = {}) =>
  resolveTarget({ stack: 'ShopMessaging', region: 'us-east-1', ...options }, dependencies);

const COMMAND_LINE = { cursorTable: { tableName: 'given-views', keyAttribute: 'accountId' } };

beforeEach(() => {
  cloudFormation.reset();
  ddb.reset();
  sqs.reset();
});

describe('the cursor table ops reads', () => {
  it('is the table the CDK app marked cursor-table, read by the key attribute its metadata declares', async () => {
    // GIVEN the quick start's stack, its Views table declared as the consumer's cursor table
    givenStack({ Views7: cursorTableRole({ keyAttribute: 'pk' }) });

    // WHEN ops resolves the stack
    const target = await resolveShop();

    // THEN the cursors are read from that table, by that attribute
    expect(target.cursorTable).toEqual({
      tableName: VIEWS,
      keyAttribute: 'pk',
      source: 'stack ShopMessaging in us-east-1: the table marked cursor-table',
    });
  });

  it('reads the metadata also as a JSON string', async () => {
    givenStack({ Views7: cursorTableRole(JSON.stringify({ keyAttribute: 'pk' })) });
    expect((await resolveShop()).cursorTable).toMatchObject({ tableName: VIEWS, keyAttribute: 'pk' });
  });

  it('is the command line one before the table the template marks', async () => {
    givenStack({ Views7: cursorTableRole({ keyAttribute: 'pk' }) });
    expect((await resolveShop(COMMAND_LINE)).cursorTable).toEqual({
      ...COMMAND_LINE.cursorTable,
      source: 'the command line',
    });
  });

  it('is the command line one for an --outputs file (which has no template)', async () => {
    const target = await resolveTarget(
      { outputs: 'o.json', ...COMMAND_LINE },
      {
        ...dependencies,
        readFile: () =>
          JSON.stringify({
            OutboxTableName: OUTBOX,
            InboxTableName: INBOX,
            QueueUrl: QUEUE,
            DeadLetterQueueUrl: DLQ,
            AlertTopicArn: 'a',
          }),
      },
    );
    expect(target.cursorTable).toMatchObject({ tableName: 'given-views', source: 'the command line' });
  });

  it("is none when neither declares one: the cursors are the inbox table's", async () => {
    givenStack({});
    expect((await resolveShop()).cursorTable).toBeUndefined();
  });

  it.each([
    ['no key attribute', {}, 'got {}'],
    ['an empty key attribute', { keyAttribute: ' ' }, 'got {"keyAttribute":" "}'],
    ['a key attribute that is no string', { keyAttribute: 7 }, 'got {"keyAttribute":7}'],
    ['no object', 'pk', 'got "pk"'],
  ])('fails if the marked table declares %s, naming the resource', async (_case, metadata, got) => {
    givenStack({ Views7: cursorTableRole(metadata) });
    const error = await rejectionOf(resolveShop());
    expect(error).toBeInstanceOf(OutputsNotFoundError);
    expect((error as Error).message).toContain(
      `resource Views7: its cursor-table metadata must be {"keyAttribute": string}; ${got}`,
    );
  });

  it('fails if the marked table declares an attribute the cursor itself writes as its key', async () => {
    givenStack({ Views7: cursorTableRole({ keyAttribute: 'lastSequence' }) });
    const error = await rejectionOf(resolveShop());
    expect(error).toBeInstanceOf(OutputsNotFoundError);
    expect((error as Error).message).toMatch(
      /resource Views7: its cursor-table keyAttribute "lastSequence" is an attribute the cursor itself writes/,
    );
  });

  it('leaves the commands that read no cursor be when two tables are marked, and fails those that do', async () => {
    // GIVEN two tables marked cursor-table
    givenStack({
      Views7: cursorTableRole({ keyAttribute: 'pk' }),
      Ledger8: cursorTableRole({ keyAttribute: 'pk' }),
    });

    // WHEN ops resolves the stack (status and the other commands that read no cursor need no more)
    const target = await resolveShop();
    expect(target.outputs.InboxTableName).toBe(INBOX);

    // THEN reconcile and replay fail before reading anything, naming both tables and the options
    const c = connect(target);
    for (const attempt of [() => reconcile(c, { stackName: 'ShopMessaging' }), () => replay(c, 'acct-1')]) {
      const error = await rejectionOf(attempt());
      expect(error).toBeInstanceOf(CursorTableAmbiguousError);
      expect((error as Error).message).toBe(
        'stack ShopMessaging in us-east-1 has 2 resources marked cursor-table (Views7, Ledger8): name the one ' +
          'that holds the consumer cursors with --cursor-table NAME --cursor-key-attribute A',
      );
    }
    expect(ddb.calls()).toHaveLength(0);

    // AND the command line says which
    expect((await resolveShop(COMMAND_LINE)).cursorTable).toMatchObject({ tableName: 'given-views' });
  });
});

// ---------------------------------------------------------------------------------------------------------------
// A deployed stack's tables: the accounts (producer), the outbox, the inbox with its attention index, the views.

const SCHEMAS: Record<string, readonly string[]> = {
  [OUTBOX]: OUTBOX_KEY,
  [INBOX]: ['pk', 'sk'],
  [ACCOUNTS]: ['pk'],
  [VIEWS]: ['pk'],
  'views-by-account': ['accountId'],
};

const OUTPUTS: OpsOutputs = {
  OutboxTableName: OUTBOX,
  InboxTableName: INBOX,
  QueueUrl: QUEUE,
  DeadLetterQueueUrl: DLQ,
  AlertTopicArn: 'arn:aws:sns:us-east-1:1:alerts',
};

const PRODUCER = { tableName: ACCOUNTS, keyAttribute: 'pk', sequenceAttribute: 'version', source: 'test' };

/** BatchGetItem as DynamoDB answers it: each Key exactly the table's key, only the projected attributes. */
function batchGet(db: InMemoryDynamoDb, input: BatchGetCommandInput, unprocessed = false) {
  if (unprocessed) return { Responses: {}, UnprocessedKeys: input.RequestItems };
  return {
    Responses: Object.fromEntries(
      Object.entries(input.RequestItems ?? {}).map(([table, request]) => {
        const names = request.ProjectionExpression?.split(',').map(
          (name) => request.ExpressionAttributeNames?.[name.trim()] ?? name.trim(),
        );
        const found = (request.Keys ?? []).map((key) => {
          const schema = SCHEMAS[table];
          if (schema === undefined) throw new Error(`ResourceNotFoundException: ${table}`);
          if (Object.keys(key).sort().join(',') !== [...schema].sort().join(','))
            throw new Error(
              `ValidationException: ${table}: the provided key element does not match the schema`,
            );
          return db.item(table, key as Item);
        });
        return [
          table,
          found
            .filter((item) => item !== undefined)
            .map((item) =>
              names === undefined
                ? item
                : Object.fromEntries(Object.entries(item).filter(([name]) => names.includes(name))),
            ),
        ];
      }),
    ),
    UnprocessedKeys: {},
  };
}

/** The stack's tables in memory; `unprocessedFirst`: the first BatchGetItem processes nothing. */
function givenTables(options: { unprocessedFirst?: boolean } = {}): InMemoryDynamoDb {
  const db = new InMemoryDynamoDb(SCHEMAS, {
    [OUTBOX]: OUTBOX_INDEXES,
    [INBOX]: { [ATTENTION_INDEX]: { keys: ['attention', 'since'], projection: 'KEYS_ONLY' } },
  });
  db.install(ddb);
  // Reconcile scans the producer's table for two attributes (the in-memory table serves no projection).
  ddb.on(ScanCommand, { TableName: ACCOUNTS }).callsFake(() => ({ Items: db.all(ACCOUNTS) }));
  let first = options.unprocessedFirst === true;
  ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => {
    const answer = batchGet(db, input, first);
    first = false;
    return answer;
  });
  sqs.on(GetQueueAttributesCommand).resolves({
    Attributes: { ApproximateNumberOfMessages: '0', ApproximateNumberOfMessagesNotVisible: '0' },
  });
  return db;
}

function connect(target: Pick<Target, 'outputs' | 'producerTable' | 'cursorTable'>) {
  return connectOps(
    target.outputs,
    'http://127.0.0.1:9',
    'us-east-1',
    target.producerTable,
    target.cursorTable,
  );
}

const VIEWS_TABLE = { tableName: VIEWS, keyAttribute: 'pk', source: 'test' };

/** Four accounts at version 5: 20 messages committed, all applied (the quick start's run). */
function seedAppliedAccounts(db: InMemoryDynamoDb, where: 'views' | 'inbox') {
  for (const account of ['acct-1', 'acct-2', 'acct-3', 'acct-4']) {
    db.seed(ACCOUNTS, { pk: account, version: 5, balance: 100 });
    if (where === 'views') db.seed(VIEWS, { pk: account, lastSequence: 5, latestType: 'Deposited' });
    else db.seed(INBOX, { ...inboxKeys.cursor(account), lastSequence: 5 });
  }
}

describe('reconcile with the cursors in a cursor table', () => {
  it("counts every message applied when the cursor table holds the keys' cursors", async () => {
    // GIVEN the quick start after its run: 20 messages committed and applied, the cursors in Views
    const db = givenTables();
    seedAppliedAccounts(db, 'views');

    // WHEN reconcile runs with the declared cursor table
    const report = await reconcile(
      connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable: VIEWS_TABLE }),
    );

    // THEN all 20 are applied
    expect(report).toMatchObject({ messagesCommitted: 20, applied: 20, notTerminal: 0, allTerminal: true });
  });

  it('reports them UNACCOUNTED when the cursor table does not hold the cursors (they are in the inbox)', async () => {
    const db = givenTables();
    seedAppliedAccounts(db, 'inbox');
    const report = await reconcile(
      connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable: VIEWS_TABLE }),
    );
    expect(report).toMatchObject({ messagesCommitted: 20, applied: 0, allTerminal: false });
    expect(report.byState.UNACCOUNTED).toBe(20);
  });

  it("reads the inbox table's cursor items when no cursor table is declared", async () => {
    const db = givenTables();
    seedAppliedAccounts(db, 'inbox');
    const report = await reconcile(
      connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable: undefined }),
    );
    expect(report).toMatchObject({ messagesCommitted: 20, applied: 20, allTerminal: true });
  });

  it('reads the quick start stack applied end to end: the template declares Views, no option given', async () => {
    // GIVEN the stack's template declares Views as the cursor table, and the run applied everything
    givenStack({ Views7: cursorTableRole({ keyAttribute: 'pk' }) });
    const db = givenTables();
    seedAppliedAccounts(db, 'views');

    // WHEN `reconcile --stack ShopMessaging` runs
    const report = await reconcile(connect(await resolveShop()), { stackName: 'ShopMessaging' });

    // THEN nothing is UNACCOUNTED
    expect(report).toMatchObject({ messagesCommitted: 20, applied: 20, allTerminal: true });
  });

  it('asks BatchGetItem for the items by the key attribute, 100 keys a call, and maps them back to their keys', async () => {
    // GIVEN 150 accounts, each at version 2 and applied up to 1, the cursor table keyed by accountId
    const db = givenTables();
    for (let i = 0; i < 150; i++) {
      db.seed(ACCOUNTS, { pk: `acct-${i}`, version: 2 });
      db.seed('views-by-account', { accountId: `acct-${i}`, lastSequence: 1 });
    }
    const cursorTable = { tableName: 'views-by-account', keyAttribute: 'accountId', source: 'test' };

    // WHEN reconcile runs
    const report = await reconcile(connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable }));

    // THEN two calls read the cursor table, keys { accountId: <key> }, projecting the key and the cursor's state
    const calls = ddb.commandCalls(BatchGetCommand).map((call) => call.args[0].input.RequestItems ?? {});
    expect(calls.map((request) => Object.keys(request))).toEqual([
      ['views-by-account'],
      ['views-by-account'],
    ]);
    expect(calls.map((request) => request['views-by-account']!.Keys!.length).sort()).toEqual([100, 50]);
    expect(calls[0]!['views-by-account']).toMatchObject({
      Keys: expect.arrayContaining([{ accountId: 'acct-0' }]),
      ConsistentRead: true,
      ProjectionExpression: '#key, #last, #parked',
      ExpressionAttributeNames: { '#key': 'accountId', '#last': 'lastSequence', '#parked': 'parked' },
    });
    // AND each key's cursor counts for that key: 150 applied, 150 still to apply
    expect(report).toMatchObject({ keysChecked: 150, messagesCommitted: 300, applied: 150 });
  });

  it('asks again for the keys BatchGetItem left unprocessed', async () => {
    const db = givenTables({ unprocessedFirst: true });
    seedAppliedAccounts(db, 'views');
    const report = await reconcile(
      connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable: VIEWS_TABLE }),
    );
    expect(ddb.commandCalls(BatchGetCommand)).toHaveLength(2);
    expect(report).toMatchObject({ applied: 20, allTerminal: true });
  });

  it("reads a parked key from the cursor table's parked flag and its messages from the inbox's attention index", async () => {
    // GIVEN acct-1 committed up to 3, applied up to 1, parked on its view's cursor; 2 and 3 parked in the inbox
    const db = givenTables();
    const since = new Date(Date.now() - 60_000).toISOString();
    db.seed(ACCOUNTS, { pk: 'acct-1', version: 3 });
    db.seed(VIEWS, { pk: 'acct-1', lastSequence: 1, parked: true, parkedSequence: 2 });
    for (const sequence of [2, 3]) {
      db.seed(INBOX, {
        ...inboxKeys.parked('acct-1', sequence),
        message: JSON.stringify({ messageId: `m${sequence}`, groupKey: 'acct-1', sequence }),
        parkedAt: since,
        reason: 'poison',
        attention: attentionOf('PARKED', 'acct-1'),
        since,
      });
    }

    // WHEN reconcile runs
    const report = await reconcile(
      connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable: VIEWS_TABLE }),
    );

    // THEN both are PARKED, repaired by replay
    expect(report).toMatchObject({ applied: 1, notTerminal: 2 });
    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: 'acct-1',
        fromSequence: 2,
        toSequence: 3,
        state: 'PARKED',
        repair: 'replay --key acct-1',
      }),
    ]);
  });
});

describe('replay with the cursors in a cursor table', () => {
  it("unparks the key on its cursor table's item and counts the replayed message held there", async () => {
    // GIVEN acct-1 parked at 2 on its view's cursor, message 2 parked in the inbox
    const db = givenTables();
    const since = new Date().toISOString();
    db.seed(VIEWS, {
      pk: 'acct-1',
      lastSequence: 1,
      parked: true,
      parkedSequence: 2,
      parkedReason: 'poison',
    });
    db.seed(INBOX, {
      ...inboxKeys.parked('acct-1', 2),
      message: JSON.stringify({ messageId: 'm2', groupKey: 'acct-1', sequence: 2 }),
      parkedAt: since,
      reason: 'poison',
      attention: attentionOf('PARKED', 'acct-1'),
      since,
    });
    sqs.onAnyCommand().resolves({});

    // WHEN the operator replays it
    const result = await replay(
      connect({ outputs: OUTPUTS, producerTable: PRODUCER, cursorTable: VIEWS_TABLE }),
      'acct-1',
    );

    // THEN the view's cursor is unparked and holds the message, its own attributes kept; the inbox has no cursor item
    expect(result).toMatchObject({ groupKey: 'acct-1', replayed: [2], resent: 2 });
    expect(db.item(VIEWS, { pk: 'acct-1' })).toEqual({ pk: 'acct-1', lastSequence: 1, heldCount: 1 });
    expect(db.item(INBOX, inboxKeys.cursor('acct-1'))).toBeUndefined();
    expect(db.item(INBOX, inboxKeys.held('acct-1', 2))).toMatchObject({
      attention: attentionOf('HELD', 'acct-1'),
    });
  });
});

describe('the console of a stack with a cursor table', () => {
  const target = (cursorTable: Target['cursorTable']): Target => ({
    stackName: 'ShopMessaging',
    outputs: OUTPUTS,
    producerTable: PRODUCER,
    cursorTable,
    endpoint: 'http://127.0.0.1:9',
    region: 'us-east-1',
    source: 'test',
  });

  it('says where it reads the cursors, or that it cannot tell', async () => {
    for (const [cursorTable, line] of [
      [VIEWS_TABLE, `consumer cursors: table ${VIEWS} (test)`],
      [
        new CursorTableAmbiguousError('stack S', ['A1', 'B2']),
        "stack S has 2 resources marked cursor-table (A1, B2): name the one that holds the consumer cursors with --cursor-table NAME --cursor-key-attribute A: until then a key's view and replay fail",
      ],
    ] as const) {
      const lines: string[] = [];
      const running = await serveConsole(target(cursorTable), {
        port: 0,
        readOnly: true,
        print: (text) => lines.push(text),
      });
      await running.close();
      expect(lines).toContain(line);
    }
  });

  it("says nothing of cursors when they are the inbox table's", async () => {
    const lines: string[] = [];
    const running = await serveConsole(target(undefined), {
      port: 0,
      readOnly: true,
      print: (text) => lines.push(text),
    });
    await running.close();
    expect(lines.filter((text) => /cursor/.test(text))).toEqual([]);
  });
});
