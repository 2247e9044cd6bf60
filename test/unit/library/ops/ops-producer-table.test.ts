import { beforeEach, describe, expect, it } from 'vitest';
import { connectOps } from '../../../../lib/ops/connection';
import { OutputsNotFoundError } from '../../../../lib/ops/errors';
import { resolveTarget, type TargetOptions } from '../../../../lib/ops/outputs';
import { ProducerTableNotDeclaredError } from '../../../../lib/ops/producer-table';
import { reconcile } from '../../../../lib/ops/reconcile';
import {
  cloudFormation,
  givenDeployedStack,
  marked as role,
  targetDependencies,
} from '../support/ops-stack-harness';

const LIBRARY_RESOURCES = {
  Outbox1: role('outbox-table'),
  Queue2: role('queue'),
  DeadLetters3: role('dead-letter-queue'),
  Inbox4: role('inbox-table'),
  Alerts5: role('alert-topic'),
};
const PHYSICAL: Record<string, string> = {
  Outbox1: 'shop-outbox',
  Queue2: 'https://sqs.us-east-1.amazonaws.com/1/shop.fifo',
  DeadLetters3: 'https://sqs.us-east-1.amazonaws.com/1/shop-dlq.fifo',
  Inbox4: 'shop-inbox',
  Alerts5: 'arn:aws:sns:us-east-1:1:alerts',
  Accounts6: 'shop-accounts',
};
const ACCOUNTS_METADATA = { keyAttribute: 'accountId', sequenceAttribute: 'version' };

/** A user's stack (ShopMessaging) with no outputs but `outputs`, its resources marked as `resources` says. */
function givenStack(resources: Record<string, unknown>, outputs: Record<string, string> = {}) {
  givenDeployedStack({
    name: 'ShopMessaging',
    resources: { ...LIBRARY_RESOURCES, ...resources },
    physical: PHYSICAL,
    outputs,
  });
}

const dependencies = targetDependencies('us-east-1');

const resolveShop = (options: Omit<TargetOptions, 'stack'> = {}) =>
  resolveTarget({ stack: 'ShopMessaging', region: 'us-east-1', ...options }, dependencies);

const COMMAND_LINE = {
  producerTable: { tableName: 'given-table', keyAttribute: 'pk', sequenceAttribute: 'seq' },
};

beforeEach(() => {
  cloudFormation.reset();
});

describe("the producer's table reconcile reads", () => {
  it('is the table the CDK app marked producer-table, with the attributes its metadata declares', async () => {
    // GIVEN a user's stack whose app declared its producer table (addProducer(fn, { producerTable }))
    givenStack({
      Accounts6: role('producer-table', { 'reliable-messaging:producer-table': ACCOUNTS_METADATA }),
    });

    // WHEN ops resolves the stack
    const target = await resolveShop();

    // THEN reconcile reads that table, by those attributes
    expect(target.producerTable).toEqual({
      tableName: 'shop-accounts',
      keyAttribute: 'accountId',
      sequenceAttribute: 'version',
      source: 'stack ShopMessaging in us-east-1: the table marked producer-table',
    });
  });

  it('reads the attributes metadata also as a JSON string', async () => {
    givenStack({
      Accounts6: role('producer-table', {
        'reliable-messaging:producer-table': JSON.stringify(ACCOUNTS_METADATA),
      }),
    });
    expect((await resolveShop()).producerTable).toMatchObject(ACCOUNTS_METADATA);
  });

  it('is the command line one before the OrdersTableName output and the metadata', async () => {
    // GIVEN a stack with both an OrdersTableName output and a declared table
    givenStack(
      { Accounts6: role('producer-table', { 'reliable-messaging:producer-table': ACCOUNTS_METADATA }) },
      { OrdersTableName: 'orders' },
    );

    // WHEN the command line names a table too
    const target = await resolveShop(COMMAND_LINE);

    // THEN the command line's wins
    expect(target.producerTable).toEqual({ ...COMMAND_LINE.producerTable, source: 'the command line' });
  });

  it("is the reference application's OrdersTableName (orderId, version) before the metadata", async () => {
    givenStack(
      { Accounts6: role('producer-table', { 'reliable-messaging:producer-table': ACCOUNTS_METADATA }) },
      { OrdersTableName: 'orders' },
    );
    expect((await resolveShop()).producerTable).toEqual({
      tableName: 'orders',
      keyAttribute: 'orderId',
      sequenceAttribute: 'version',
      source: 'output OrdersTableName',
    });
  });

  it('is the command line one for an --outputs file', async () => {
    const target = await resolveTarget(
      { outputs: 'o.json', ...COMMAND_LINE },
      {
        ...dependencies,
        readFile: () =>
          JSON.stringify({
            OutboxTableName: 'o',
            InboxTableName: 'i',
            QueueUrl: 'q',
            DeadLetterQueueUrl: 'd',
            AlertTopicArn: 'a',
          }),
      },
    );
    expect(target.producerTable).toMatchObject({ tableName: 'given-table', source: 'the command line' });
  });

  it('fails if the marked table declares its attributes wrongly, naming the resource', async () => {
    givenStack({
      Accounts6: role('producer-table', { 'reliable-messaging:producer-table': { keyAttribute: 'a' } }),
    });
    const error = await resolveShop().then(
      () => undefined,
      (rejected: unknown) => rejected,
    );
    expect(error).toBeInstanceOf(OutputsNotFoundError);
    expect((error as Error).message).toMatch(
      /resource Accounts6: its producer-table metadata must be \{"keyAttribute": string, "sequenceAttribute": string\}; got \{"keyAttribute":"a"\}/,
    );
  });

  it('fails reconcile when none is known, saying both ways to give it, before reading anything', async () => {
    // GIVEN a user's stack that declares no producer table, and no command line option
    givenStack({});
    const target = await resolveShop();
    expect(target.producerTable).toBeUndefined();
    const c = connectOps(target.outputs, 'http://127.0.0.1:9', 'us-east-1', target.producerTable);

    // WHEN reconcile runs
    const error = await reconcile(c, { stackName: target.stackName }).then(
      () => undefined,
      (rejected: unknown) => rejected,
    );

    // THEN it says to declare it in the CDK app or to pass the three options (exit code 1)
    expect(error).toBeInstanceOf(ProducerTableNotDeclaredError);
    const message = (error as ProducerTableNotDeclaredError).message;
    expect(message).toContain('ShopMessaging declares none');
    expect(message).toContain(
      'outbox.addProducer(fn, { producerTable: { table, keyAttribute, sequenceAttribute } })',
    );
    expect(message).toContain('--producer-table NAME --key-attribute A --sequence-attribute A');
    expect((error as ProducerTableNotDeclaredError).exitCode).toBe(1);
  });
});
