import { GetTemplateCommand } from '@aws-sdk/client-cloudformation';
import { beforeEach, describe, expect, it } from 'vitest';
import { GROUP_METADATA } from '../../../../lib/constructs/resource-roles';
import { connectOps } from '../../../../lib/ops/connection';
import {
  groupConnection,
  groupsFromOutputs,
  kebabCase,
  oneGroup,
  selectGroups,
  UNNAMED_GROUP,
} from '../../../../lib/ops/consumer-groups';
import { OutputsNotFoundError, UsageError } from '../../../../lib/ops/errors';
import { resolveTarget, type Target, type TargetOptions } from '../../../../lib/ops/outputs';
import {
  cloudFormation,
  givenDeployedStack,
  marked as markedRole,
  rejectionOf,
  targetDependencies,
} from '../support/ops-stack-harness';

// Consumer groups as ops finds them: resources marked with reliable-messaging:group metadata in the template (each
// group its queue, dead-letter queue, inbox, consumer and cursor table), outputs that name a group (winning), and the
// one unnamed group of a stack with a single queue.

const url = (name: string) => `https://sqs.eu-west-1.amazonaws.com/1/${name}.fifo`;
const marked = (role: string, group?: string, more: Record<string, unknown> = {}) =>
  markedRole(role, { ...(group === undefined ? {} : { [GROUP_METADATA]: group }), ...more });
const OUTBOX_SIDE = {
  Outbox1: marked('outbox-table'),
  Alerts2: marked('alert-topic'),
};
const PHYSICAL: Record<string, string> = {
  Outbox1: 'shop-outbox',
  Alerts2: 'arn:aws:sns:eu-west-1:1:alerts',
  Topic3: 'arn:aws:sns:eu-west-1:1:events.fifo',
  Queue4: url('shop'),
  DeadLetters5: url('shop-dlq'),
  Inbox6: 'shop-inbox',
};
/** A group's four resources, marked with its name, and their physical IDs. */
function group(prefix: string, name: string) {
  PHYSICAL[`${prefix}Queue`] = url(name);
  PHYSICAL[`${prefix}DeadLetters`] = url(`${name}-dlq`);
  PHYSICAL[`${prefix}Inbox`] = `${name}-inbox`;
  PHYSICAL[`${prefix}Consumer`] = `${name}-consumer`;
  return {
    [`${prefix}Queue`]: marked('queue', name),
    [`${prefix}DeadLetters`]: marked('dead-letter-queue', name),
    [`${prefix}Inbox`]: marked('inbox-table', name),
    [`${prefix}Consumer`]: marked('consumer-function', name),
  };
}
const SINGLE_QUEUE = {
  ...OUTBOX_SIDE,
  Queue4: marked('queue'),
  DeadLetters5: marked('dead-letter-queue'),
  Inbox6: marked('inbox-table'),
};
PHYSICAL.ShippingViews = 'shipping-table';
PHYSICAL.OtherViews = 'other-views';
const FAN_OUT = {
  ...OUTBOX_SIDE,
  Topic3: marked('events-topic'),
  ...group('Audit', 'audit'),
  ...group('Projection', 'projection'),
  ...group('Shipping', 'shipping'),
  ShippingViews: marked('cursor-table', 'shipping', {
    'reliable-messaging:cursor-table': { keyAttribute: 'orderId' },
  }),
};

function givenStack(resources: Record<string, unknown>, outputs: Record<string, string> = {}) {
  givenDeployedStack({ name: 'Shop', resources, physical: PHYSICAL, outputs });
}

const dependencies = (files: Record<string, string> = {}) => targetDependencies('eu-west-1', files);

const resolveShop = (options: Omit<TargetOptions, 'stack'> = {}) =>
  resolveTarget({ stack: 'Shop', region: 'eu-west-1', ...options }, dependencies());

const connect = (target: Target) =>
  connectOps(target.outputs, 'http://127.0.0.1:9', 'eu-west-1', undefined, target.cursorTable, target.groups);

beforeEach(() => {
  cloudFormation.reset();
});

describe('finding the consumer groups of a stack', () => {
  it('finds the one unnamed group of a stack with a single queue, as before', async () => {
    // GIVEN a stack with no group metadata
    givenStack(SINGLE_QUEUE);

    // WHEN ops resolves it
    const target = await resolveShop();

    // THEN its outputs are as ever, and it has one group, unnamed, of those resources
    expect(target.outputs).toMatchObject({
      QueueUrl: url('shop'),
      DeadLetterQueueUrl: url('shop-dlq'),
      InboxTableName: 'shop-inbox',
    });
    expect(target.groups).toEqual([
      {
        name: UNNAMED_GROUP,
        queueUrl: url('shop'),
        deadLetterQueueUrl: url('shop-dlq'),
        inboxTableName: 'shop-inbox',
        cursorTable: undefined,
      },
    ]);
  });

  it('finds one named group by its metadata, and takes its resources for the outputs the commands need', async () => {
    givenStack({ ...OUTBOX_SIDE, ...group('Orders', 'orders') });

    const target = await resolveShop();

    expect(target.groups?.map((g) => g.name)).toEqual(['orders']);
    expect(target.groups?.[0]).toMatchObject({
      queueUrl: url('orders'),
      deadLetterQueueUrl: url('orders-dlq'),
      inboxTableName: 'orders-inbox',
      consumerFunctionName: 'orders-consumer',
    });
    expect(target.outputs).toMatchObject({
      QueueUrl: url('orders'),
      DeadLetterQueueUrl: url('orders-dlq'),
      InboxTableName: 'orders-inbox',
    });
  });

  it('finds three groups, each with its own resources and cursor table, where one role of several was refused', async () => {
    // GIVEN a stack that fans out: a topic and three groups, shipping with its cursors in a table of its own
    givenStack(FAN_OUT);

    // WHEN ops resolves it
    const target = await resolveShop();

    // THEN every group is found, in template order, with its resources; the topic is an output
    expect(target.groups?.map((g) => g.name)).toEqual(['audit', 'projection', 'shipping']);
    expect(target.groups?.[1]).toEqual({
      name: 'projection',
      queueUrl: url('projection'),
      deadLetterQueueUrl: url('projection-dlq'),
      inboxTableName: 'projection-inbox',
      consumerFunctionName: 'projection-consumer',
      cursorTable: undefined,
    });
    expect(target.groups?.[2]?.cursorTable).toEqual({
      tableName: 'shipping-table',
      keyAttribute: 'orderId',
      source: 'stack Shop in eu-west-1: the table marked cursor-table in consumer group shipping',
    });
    expect(target.outputs.EventsTopicArn).toBe('arn:aws:sns:eu-west-1:1:events.fifo');
    expect(target.outputs.QueueUrl).toBe(url('audit'));
  });

  it("lets the stack's outputs win: QueueUrl and its kin name the first group, <Prefix>QueueUrl… the others", async () => {
    // GIVEN the reference application's outputs: QueueUrl is projection's, its DLQ output another queue, and Audit*
    givenStack(FAN_OUT, {
      QueueUrl: url('projection'),
      DeadLetterQueueUrl: url('projection-dlq-from-output'),
      InboxTableName: 'projection-inbox',
      AuditQueueUrl: url('audit'),
      AuditDeadLetterQueueUrl: url('audit-dlq'),
      AuditInboxTableName: 'audit-inbox-from-output',
    });

    // WHEN ops resolves it
    const target = await resolveShop();

    // THEN projection (named by its template metadata) comes first, with the outputs' resources; audit too
    expect(target.groups?.map((g) => g.name)).toEqual(['projection', 'audit', 'shipping']);
    expect(target.groups?.[0]).toMatchObject({
      deadLetterQueueUrl: url('projection-dlq-from-output'),
      consumerFunctionName: 'projection-consumer',
    });
    expect(target.groups?.[1]).toMatchObject({ inboxTableName: 'audit-inbox-from-output' });
    expect(target.outputs.DeadLetterQueueUrl).toBe(url('projection-dlq-from-output'));
  });

  it("reads the template of a stack with the reference application's outputs only when it fans out", async () => {
    // GIVEN the reference application's outputs (every library output and OrdersTableName)
    const reference = {
      OutboxTableName: 'shop-outbox',
      AlertTopicArn: 'arn:aws:sns:eu-west-1:1:alerts',
      QueueUrl: url('projection'),
      DeadLetterQueueUrl: url('projection-dlq'),
      InboxTableName: 'projection-inbox',
      OrdersTableName: 'shop-orders',
    };

    // WHEN it has a single queue THEN ops reads no template: one unnamed group
    givenStack(FAN_OUT, reference);
    expect((await resolveShop()).groups?.map((g) => g.name)).toEqual([UNNAMED_GROUP]);
    expect(cloudFormation.commandCalls(GetTemplateCommand)).toHaveLength(0);

    // WHEN it fans out (EventsTopicArn) THEN the template names its groups, QueueUrl's first
    givenStack(FAN_OUT, { ...reference, EventsTopicArn: 'arn:aws:sns:eu-west-1:1:events.fifo' });
    expect((await resolveShop()).groups?.map((g) => g.name)).toEqual(['projection', 'audit', 'shipping']);
  });

  it('finds the groups an outputs file names by prefix (no template to read)', async () => {
    // GIVEN an outputs file with the first group's outputs and Audit's
    const outputs = {
      OutboxTableName: 'shop-outbox',
      AlertTopicArn: 'arn:aws:sns:eu-west-1:1:alerts',
      QueueUrl: url('shop'),
      DeadLetterQueueUrl: url('shop-dlq'),
      InboxTableName: 'shop-inbox',
      AuditTrailQueueUrl: url('audit'),
      AuditTrailDeadLetterQueueUrl: url('audit-dlq'),
      AuditTrailInboxTableName: 'audit-inbox',
      RelayFailureQueueUrl: url('relay-failures'),
    };

    // WHEN ops reads it
    const target = await resolveTarget(
      { outputs: 'out.json' },
      dependencies({ 'out.json': JSON.stringify(outputs) }),
    );

    // THEN two groups: the unnamed one and audit-trail (the relay's failure queue is no group)
    expect(target.groups?.map((g) => [g.name, g.queueUrl])).toEqual([
      [UNNAMED_GROUP, url('shop')],
      ['audit-trail', url('audit')],
    ]);
  });

  it("reads the template of the stack an outputs file names when it fans out: a group's cursor table is there only", async () => {
    // GIVEN an outputs file of stack Shop that names an events topic
    const outputs = {
      OutboxTableName: 'shop-outbox',
      AlertTopicArn: 'arn:aws:sns:eu-west-1:1:alerts',
      QueueUrl: url('projection'),
      DeadLetterQueueUrl: url('projection-dlq'),
      InboxTableName: 'projection-inbox',
      EventsTopicArn: 'arn:aws:sns:eu-west-1:1:events.fifo',
    };
    givenStack(FAN_OUT, outputs);

    // WHEN ops reads the file
    const target = await resolveTarget(
      { outputs: 'out.json', endpoint: 'http://127.0.0.1:9' },
      dependencies({ 'out.json': JSON.stringify({ Shop: outputs }) }),
    );

    // THEN the groups are the template's, the shipping group with its own cursor table
    expect(target.groups?.map((g) => g.name)).toEqual(['projection', 'audit', 'shipping']);
    expect(target.groups?.[2]?.cursorTable).toMatchObject({
      tableName: 'shipping-table',
      keyAttribute: 'orderId',
    });
    expect(cloudFormation.commandCalls(GetTemplateCommand)).toHaveLength(1);

    // AND an outputs file without an events topic is read alone, as before
    cloudFormation.reset();
    const { EventsTopicArn: _topic, ...single } = outputs;
    await resolveTarget(
      { outputs: 'out.json' },
      dependencies({ 'out.json': JSON.stringify({ Shop: single }) }),
    );
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('gives --cursor-table to the group --group names, and fails without --group when there are several', async () => {
    givenStack(FAN_OUT);
    const cursorTable = { tableName: 'given-views', keyAttribute: 'orderId' };

    const target = await resolveShop({ cursorTable, group: 'audit' });
    expect(target.groups?.[0]?.cursorTable).toMatchObject({
      tableName: 'given-views',
      source: 'the command line',
    });
    expect(target.groups?.[2]?.cursorTable).toMatchObject({ tableName: 'shipping-table' });

    const error = await rejectionOf(resolveShop({ cursorTable }));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      "--cursor-table names one consumer group's cursors and the stack has 3 groups: add --group NAME " +
        '(audit, projection, shipping)',
    );
  });

  it.each([
    [
      'two queues in one group',
      { ...FAN_OUT, Queue4: marked('queue', 'audit') },
      /has 2 resources marked queue in consumer group audit \(AuditQueue, Queue4\): a group has one/,
    ],
    [
      'a group without its dead-letter queue',
      { ...OUTBOX_SIDE, Queue4: marked('queue', 'orders'), Inbox6: marked('inbox-table', 'orders') },
      /consumer group orders has no dead-letter-queue/,
    ],
    [
      'group metadata that is no name',
      { ...SINGLE_QUEUE, Queue4: marked('queue', undefined, { [GROUP_METADATA]: 7 }) },
      /resource Queue4: its reliable-messaging:group metadata must be a group name; got 7/,
    ],
  ])('fails if the template has %s, naming it', async (_case, resources, message) => {
    givenStack(resources);
    const error = await rejectionOf(resolveShop());
    expect(error).toBeInstanceOf(OutputsNotFoundError);
    expect((error as Error).message).toMatch(message);
  });

  it('reads several cursor tables in one group as no telling which (an error for the commands that read cursors)', async () => {
    givenStack({
      ...FAN_OUT,
      OtherViews: marked('cursor-table', 'shipping', {
        'reliable-messaging:cursor-table': { keyAttribute: 'pk' },
      }),
    });
    const target = await resolveShop();
    expect((target.groups![2]!.cursorTable as Error).message).toMatch(
      /consumer group shipping, has 2 resources marked cursor-table/,
    );
  });
});

describe('choosing a group', () => {
  it('selects every group, or the one named; replay and redrive need a name when there are several', async () => {
    givenStack(FAN_OUT);
    const c = connect(await resolveShop());

    expect(selectGroups(c, undefined).map((g) => g.name)).toEqual(['audit', 'projection', 'shipping']);
    expect(selectGroups(c, 'shipping').map((g) => g.name)).toEqual(['shipping']);
    expect(oneGroup(c, 'audit', 'replay').name).toBe('audit');
    expect(() => oneGroup(c, undefined, 'replay')).toThrow(
      new UsageError(
        'replay acts on one consumer group and the stack has 3: add --group NAME (audit, projection, shipping)',
      ),
    );
    expect(() => selectGroups(c, 'billing')).toThrow(
      new UsageError('no consumer group "billing"; the stack\'s groups: audit, projection, shipping'),
    );
  });

  it('needs no name for the only group, and reads a connection without groups as one unnamed group', async () => {
    givenStack(SINGLE_QUEUE);
    const target = await resolveShop();
    const c = connectOps(target.outputs, undefined, 'eu-west-1', undefined);
    expect(oneGroup(c, undefined, 'redrive')).toMatchObject({ name: UNNAMED_GROUP, queueUrl: url('shop') });
    expect(() => oneGroup(c, 'audit', 'redrive')).toThrow(
      /no consumer group "audit"; the stack's groups: default/,
    );
  });

  it("gives a group's connection that group's queue, dead-letter queue, inbox and cursor table", async () => {
    givenStack(FAN_OUT);
    const c = connect(await resolveShop());
    const shipping = selectGroups(c, 'shipping')[0]!;
    const gc = groupConnection(c, shipping);
    expect(gc.outputs).toMatchObject({
      OutboxTableName: 'shop-outbox',
      QueueUrl: url('shipping'),
      DeadLetterQueueUrl: url('shipping-dlq'),
      InboxTableName: 'shipping-inbox',
    });
    expect(gc.cursorTable).toMatchObject({ tableName: 'shipping-table' });
  });

  it('names output prefixes in kebab case, and ignores prefixes without all three outputs', () => {
    expect(kebabCase('AuditTrail')).toBe('audit-trail');
    expect(kebabCase('SQSFeed')).toBe('sqs-feed');
    expect(
      groupsFromOutputs({ AuditQueueUrl: url('a'), AuditDeadLetterQueueUrl: url('a-dlq') }).map(
        (g) => g.name,
      ),
    ).toEqual([]);
  });
});
