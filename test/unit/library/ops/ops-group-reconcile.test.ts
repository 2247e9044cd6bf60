import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
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
import { redrive, replay, status } from '../../../../lib/ops/commands';
import { connectOps, type OpsOutputs } from '../../../../lib/ops/connection';
import { keyView } from '../../../../lib/ops/console/key-view';
import { type ConsumerGroupTarget, UNNAMED_GROUP } from '../../../../lib/ops/consumer-groups';
import { UsageError } from '../../../../lib/ops/errors';
import { reconcile } from '../../../../lib/ops/reconcile';
import { renderReconcile, renderStatus } from '../../../../lib/ops/render';
import { NOT_TERMINAL_EXIT_CODE, runCommand } from '../../../../lib/ops/run';
import { InMemoryDynamoDb, type Item } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../../../tools/dynamodb/outbox-table';
import { rejectionOf } from '../support/ops-stack-harness';

// status, reconcile, wait and the repairs on a stack of three consumer groups (projection, audit, shipping): every
// group's cursor of a key must reach what the producer committed; each group is reported on its own; the key's
// messages are listed with their trace context.

const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);
const cloudWatch = mockClient(CloudWatchClient);

const OUTBOX = 'shop-outbox';
const ORDERS = 'shop-orders';
const GROUPS = ['projection', 'audit', 'shipping'] as const;
type GroupName = (typeof GROUPS)[number];
const inbox = (group: GroupName) => `${group}-inbox`;
const queue = (group: GroupName) => `https://sqs.eu-west-1.amazonaws.com/1/${group}.fifo`;
const deadLetters = (group: GroupName) => `https://sqs.eu-west-1.amazonaws.com/1/${group}-dlq.fifo`;

const TRACE_OUTBOX = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
const TRACE_HELD = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const TRACE_APPLIED = '00-5cf92f3577b34da6a3ce929d0e0e4736-11f067aa0ba902b7-01';
/** A group that keeps its cursors in a table of its own (the shipping table, key attribute orderId). */
const SHIPPING_TABLE = 'shop-shipping';

const SCHEMAS: Record<string, readonly string[]> = {
  [OUTBOX]: OUTBOX_KEY,
  [ORDERS]: ['orderId'],
  [SHIPPING_TABLE]: ['orderId'],
  ...Object.fromEntries(GROUPS.map((group) => [inbox(group), ['pk', 'sk']])),
};

const OUTPUTS: OpsOutputs = {
  OutboxTableName: OUTBOX,
  InboxTableName: inbox('projection'),
  QueueUrl: queue('projection'),
  DeadLetterQueueUrl: deadLetters('projection'),
  AlertTopicArn: 'arn:aws:sns:eu-west-1:1:alerts',
  EventsTopicArn: 'arn:aws:sns:eu-west-1:1:events.fifo',
};
const PRODUCER = { tableName: ORDERS, keyAttribute: 'orderId', sequenceAttribute: 'version', source: 'test' };
const TARGETS: ConsumerGroupTarget[] = GROUPS.map((name) => ({
  name,
  queueUrl: queue(name),
  deadLetterQueueUrl: deadLetters(name),
  inboxTableName: inbox(name),
  cursorTable: undefined,
}));

const connect = (groups: readonly ConsumerGroupTarget[] = TARGETS) =>
  connectOps(OUTPUTS, 'http://127.0.0.1:9', 'eu-west-1', PRODUCER, undefined, groups);

/** BatchGetItem from the in-memory tables (the cursors). */
function batchGet(db: InMemoryDynamoDb, input: BatchGetCommandInput) {
  return {
    Responses: Object.fromEntries(
      Object.entries(input.RequestItems ?? {}).map(([table, request]) => [
        table,
        (request.Keys ?? []).map((key) => db.item(table, key as Item)).filter((item) => item !== undefined),
      ]),
    ),
    UnprocessedKeys: {},
  };
}

/** The stack's tables in memory, every queue empty unless `depths` says otherwise. */
function givenStack(depths: Partial<Record<string, number>> = {}): InMemoryDynamoDb {
  const db = new InMemoryDynamoDb(SCHEMAS, {
    [OUTBOX]: OUTBOX_INDEXES,
    ...Object.fromEntries(
      GROUPS.map((group) => [
        inbox(group),
        { [ATTENTION_INDEX]: { keys: ['attention', 'since'], projection: 'KEYS_ONLY' as const } },
      ]),
    ),
  });
  db.install(ddb);
  ddb.on(BatchGetCommand).callsFake((input: BatchGetCommandInput) => batchGet(db, input));
  // Reconcile scans the producer's table for two attributes (the in-memory table serves no projection).
  ddb.on(ScanCommand, { TableName: ORDERS }).callsFake(() => ({ Items: db.all(ORDERS) }));
  sqs.on(GetQueueAttributesCommand).callsFake((input: { QueueUrl: string }) => ({
    Attributes: {
      ApproximateNumberOfMessages: String(depths[input.QueueUrl] ?? 0),
      ApproximateNumberOfMessagesNotVisible: '0',
    },
  }));
  cloudWatch.on(DescribeAlarmsCommand).resolves({ MetricAlarms: [] });
  return db;
}

const envelope = (groupKey: string, sequence: number, traceparent?: string) =>
  JSON.stringify({
    messageId: `m-${groupKey}-${sequence}`,
    groupKey,
    sequence,
    type: 'OrderPlaced',
    payload: {},
    createdAt: '2026-12-07T05:00:00.000Z',
    ...(traceparent === undefined ? {} : { traceparent }),
  });

function cursor(db: InMemoryDynamoDb, group: GroupName, key: string, lastSequence: number, parked = false) {
  db.seed(inbox(group), { ...inboxKeys.cursor(key), lastSequence, ...(parked ? { parked: true } : {}) });
}

function held(db: InMemoryDynamoDb, group: GroupName, key: string, sequence: number, traceparent?: string) {
  db.seed(inbox(group), {
    ...inboxKeys.held(key, sequence),
    attention: attentionOf('HELD', key),
    since: '2026-12-07T05:00:00.000Z',
    message: envelope(key, sequence, traceparent),
  });
}

function parkedMessage(db: InMemoryDynamoDb, group: GroupName, key: string, sequence: number) {
  db.seed(inbox(group), {
    ...inboxKeys.parked(key, sequence),
    attention: attentionOf('PARKED', key),
    since: '2026-12-07T05:00:00.000Z',
    parkedAt: '2026-12-07T05:00:00.000Z',
    reason: 'poison',
    message: envelope(key, sequence),
  });
}

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  cloudWatch.reset();
});

describe('reconcile on a stack of consumer groups', () => {
  it('reports a key applied in two groups and not in the third NOT settled, naming that group', async () => {
    // GIVEN order o-1 committed up to 3, applied by projection and audit, shipping's cursor at 1
    const db = givenStack({ [queue('shipping')]: 2 });
    db.seed(ORDERS, { orderId: 'o-1', version: 3 });
    cursor(db, 'projection', 'o-1', 3);
    cursor(db, 'audit', 'o-1', 3);
    cursor(db, 'shipping', 'o-1', 1);

    // WHEN reconcile runs over every group
    const report = await reconcile(connect());

    // THEN not every message is terminal: shipping's 2-3 are in transit, the other groups settled
    expect(report).toMatchObject({ allTerminal: false, notTerminal: 2, messagesCommitted: 3, applied: 1 });
    expect(report.groups.map((group) => [group.group, group.allTerminal])).toEqual([
      ['projection', true],
      ['audit', true],
      ['shipping', false],
    ]);
    expect(report.messages).toEqual([
      expect.objectContaining({ group: 'shipping', fromSequence: 2, toSequence: 3, state: 'IN_TRANSIT' }),
    ]);
    const text = renderReconcile(report, 'Shop');
    expect(text).toMatch(/^shipping\s+1 of 3\s+NOT settled: 2 not terminal \(IN_TRANSIT 2\)$/m);
    expect(text).toMatch(/^projection\s+3 of 3\s+settled: every committed message terminal$/m);
    expect(text).toMatch(/^o-1\s+shipping\s+2-3\s+2\s+IN_TRANSIT/m);
  });

  it('reports every group settled when every cursor reaches what was committed (a skipping group too)', async () => {
    // GIVEN shipping skips some types, its cursor advanced past them all the same
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 3 });
    for (const group of GROUPS) cursor(db, group, 'o-1', 3);

    const report = await reconcile(connect());

    expect(report).toMatchObject({ allTerminal: true, notTerminal: 0, applied: 3 });
    expect(renderReconcile(report)).toContain('0 — every committed message is terminal in every group');
  });

  it('exits 3 when one group is behind, and 0 for `reconcile --group` of a group that is not', async () => {
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 2 });
    cursor(db, 'projection', 'o-1', 2);
    cursor(db, 'audit', 'o-1', 2);
    cursor(db, 'shipping', 'o-1', 1);
    const context = { stackName: 'Shop' };

    const every = await runCommand(connect(), { name: 'reconcile' }, context);
    expect(every.exitCode).toBe(NOT_TERMINAL_EXIT_CODE);
    expect(every.text).toMatch(/^shipping\s+1 of 2\s+NOT settled/m);

    const audit = await runCommand(connect(), { name: 'reconcile', group: 'audit' }, context);
    expect(audit.exitCode).toBe(0);
    const waited = await runCommand(connect(), { name: 'wait', group: 'audit', timeoutSeconds: 1 }, context);
    expect(waited.exitCode).toBe(0);
  });

  it('checks only the group --group names', async () => {
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 3 });
    cursor(db, 'projection', 'o-1', 3);
    cursor(db, 'audit', 'o-1', 3);
    cursor(db, 'shipping', 'o-1', 0);

    const audit = await reconcile(connect(), { group: 'audit' });
    expect(audit.groups.map((group) => group.group)).toEqual(['audit']);
    expect(audit.allTerminal).toBe(true);

    const error = await rejectionOf(reconcile(connect(), { group: 'billing' }));
    expect(error).toBeInstanceOf(UsageError);
    expect((error as Error).message).toBe(
      'no consumer group "billing"; the stack\'s groups: projection, audit, shipping',
    );
  });

  it("names the group in a group-side repair, and lists a transaction's state once", async () => {
    // GIVEN o-1 parked in audit, and an open transaction on o-2
    const db = givenStack({ [deadLetters('shipping')]: 0 });
    db.seed(ORDERS, { orderId: 'o-1', version: 1 });
    for (const group of ['projection', 'shipping'] as const) cursor(db, group, 'o-1', 1);
    cursor(db, 'audit', 'o-1', 0, true);
    parkedMessage(db, 'audit', 'o-1', 1);
    db.seed(OUTBOX, {
      groupKey: 'TX#t-1',
      sequence: 0,
      messageId: 'm-t-1',
      status: 'PREPARED',
      transactionId: 't-1',
      targetGroupKey: 'o-2',
      createdAt: '2026-12-07T05:00:00.000Z',
    });

    const report = await reconcile(connect());

    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: 'o-1',
        group: 'audit',
        state: 'PARKED',
        repair: 'replay --key o-1 --group audit',
      }),
      expect.objectContaining({ groupKey: 'o-2', state: 'TRANSACTION_OPEN' }),
    ]);
    expect(report.messages[1]).not.toHaveProperty('group');
    expect(report.byState).toMatchObject({ PARKED: 1, TRANSACTION_OPEN: 1 });
  });

  it("lists the key's messages with their traceparent: the outbox's, and those held in a group's inbox", async () => {
    // GIVEN o-2 committed to 2: #2 still PENDING in the outbox, traced; shipping holds #2, traced too
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-2', version: 2 });
    db.seed(OUTBOX, {
      groupKey: 'o-2',
      sequence: 2,
      messageId: 'm-o-2-2',
      status: 'PENDING',
      attempts: 0,
      traceparent: TRACE_OUTBOX,
      createdAt: '2026-12-07T05:00:00.000Z',
    });
    for (const group of ['projection', 'audit'] as const) cursor(db, group, 'o-2', 1);
    held(db, 'shipping', 'o-2', 2, TRACE_HELD);

    // WHEN reconcile --key o-2 runs
    const report = await reconcile(connect(), { key: 'o-2' });

    // THEN each message known of the key is listed with its trace context, and printed
    expect(report.keyMessages).toEqual([
      { sequence: 2, messageId: 'm-o-2-2', where: 'outbox: PENDING', traceparent: TRACE_OUTBOX },
      { group: 'shipping', sequence: 2, messageId: 'm-o-2-2', where: 'inbox: held', traceparent: TRACE_HELD },
    ]);
    const text = renderReconcile(report, 'Shop');
    expect(text).toMatch(new RegExp(`^\\s*2\\s+outbox: PENDING\\s+m-o-2-2\\s+${TRACE_OUTBOX}$`, 'm'));
    expect(text).toMatch(
      new RegExp(`^\\s*2\\s+inbox: held \\(shipping\\)\\s+m-o-2-2\\s+${TRACE_HELD}$`, 'm'),
    );

    // AND the console's key view shows them too, with each group's cursor
    const view = await keyView(connect(), 'o-2');
    expect(view.messages).toEqual(report.keyMessages);
    expect(view.groups.map((group) => [group.group, group.applied, group.held])).toEqual([
      ['projection', 1, []],
      ['audit', 1, []],
      ['shipping', 0, [2]],
    ]);
    expect(view.group).toBe('projection');
    expect((await keyView(connect(), 'o-2', 'shipping')).held).toEqual([2]);
  });

  it('prints a dash for a message without trace context, and lists no messages without --key', async () => {
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-3', version: 1 });
    held(db, 'audit', 'o-3', 1);
    const report = await reconcile(connect(), { key: 'o-3' });
    expect(report.keyMessages).toEqual([
      { group: 'audit', sequence: 1, messageId: 'm-o-3-1', where: 'inbox: held' },
    ]);
    expect(renderReconcile(report)).toMatch(/^\s*1\s+inbox: held \(audit\)\s+m-o-3-1\s+-$/m);
    expect((await reconcile(connect())).keyMessages).toBeUndefined();
  });
});

describe('reconcile --key: what each group applied last of the key', () => {
  /** The stack with shipping's cursors in its own table, as the reference application keeps them. */
  const withShippingTable = () =>
    connect(
      TARGETS.map((target) =>
        target.name === 'shipping'
          ? { ...target, cursorTable: { tableName: SHIPPING_TABLE, keyAttribute: 'orderId', source: 'test' } }
          : target,
      ),
    );
  const cursorReads = () =>
    ddb
      .commandCalls(BatchGetCommand)
      .flatMap((call) => Object.entries(call.args[0].input.RequestItems ?? {}))
      .map(([table, request]) => ({ table, names: Object.values(request.ExpressionAttributeNames ?? {}) }));

  it("shows a healthy key's last applied message and traceparent in each group, from the inbox's or its own cursor table", async () => {
    // GIVEN o-1 committed to 3 and applied everywhere: projection and audit by their inbox cursor items, shipping by
    // its table's item; audit's last message carried no trace context
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 3 });
    const recorded = { lastMessageId: 'm-o-1-3', lastTraceparent: TRACE_APPLIED };
    db.seed(inbox('projection'), { ...inboxKeys.cursor('o-1'), lastSequence: 3, ...recorded });
    db.seed(inbox('audit'), { ...inboxKeys.cursor('o-1'), lastSequence: 3, lastMessageId: 'm-o-1-3' });
    db.seed(SHIPPING_TABLE, { orderId: 'o-1', lastSequence: 3, status: 'ready', ...recorded });

    // WHEN reconcile --key o-1 runs
    const report = await reconcile(withShippingTable(), { key: 'o-1' });

    // THEN the key is settled, no message of it is on its way, and each group says what it applied last
    expect(report.allTerminal).toBe(true);
    expect(report.keyMessages).toEqual([]);
    expect(report.lastApplied).toEqual([
      { group: 'projection', sequence: 3, messageId: 'm-o-1-3', traceparent: TRACE_APPLIED },
      { group: 'audit', sequence: 3, messageId: 'm-o-1-3' },
      { group: 'shipping', sequence: 3, messageId: 'm-o-1-3', traceparent: TRACE_APPLIED },
    ]);
    // AND the cursor reads asked for those two attributes, in each group's own table
    expect(cursorReads()).toEqual([
      ...[inbox('projection'), inbox('audit')].map((table) => ({
        table,
        names: ['pk', 'lastSequence', 'parked', 'lastMessageId', 'lastTraceparent'],
      })),
      {
        table: SHIPPING_TABLE,
        names: ['orderId', 'lastSequence', 'parked', 'lastMessageId', 'lastTraceparent'],
      },
    ]);
    // AND they are printed, one line per group
    const text = renderReconcile(report, 'Shop');
    expect(text).toMatch(/^GROUP\s+LAST APPLIED\s+MESSAGE\s+TRACEPARENT$/m);
    expect(text).toMatch(new RegExp(`^projection\\s+3\\s+m-o-1-3\\s+${TRACE_APPLIED}$`, 'm'));
    expect(text).toMatch(/^audit\s+3\s+m-o-1-3\s+-$/m);
    expect(text).toMatch(new RegExp(`^shipping\\s+3\\s+m-o-1-3\\s+${TRACE_APPLIED}$`, 'm'));

    // AND the console's key view shows them, for the group shown and for each group
    const view = await keyView(withShippingTable(), 'o-1', 'shipping');
    expect(view).toMatchObject({ group: 'shipping', applied: 3, lastMessageId: 'm-o-1-3' });
    expect(view.lastTraceparent).toBe(TRACE_APPLIED);
    expect(
      (await keyView(withShippingTable(), 'o-1')).groups.map((group) => [
        group.group,
        group.applied,
        group.lastMessageId,
        group.lastTraceparent,
      ]),
    ).toEqual([
      ['projection', 3, 'm-o-1-3', TRACE_APPLIED],
      ['audit', 3, 'm-o-1-3', undefined],
      ['shipping', 3, 'm-o-1-3', TRACE_APPLIED],
    ]);
  });

  it('says (none) for a group that applied nothing, and a dash where the cursor recorded no message', async () => {
    // GIVEN projection's cursor at 2 written by a consumer that did not record the message; audit has none
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 2 });
    cursor(db, 'projection', 'o-1', 2);

    const report = await reconcile(connect(), { key: 'o-1', group: 'projection' });
    expect(report.lastApplied).toEqual([{ group: 'projection', sequence: 2 }]);
    expect(renderReconcile(report)).toMatch(/^projection\s+2\s+-\s+-$/m);

    const audit = await reconcile(connect(), { key: 'o-1', group: 'audit' });
    expect(audit.lastApplied).toEqual([{ group: 'audit', sequence: 0 }]);
    expect(renderReconcile(audit)).toMatch(/^audit\s+\(none\)\s+-\s+-$/m);
  });

  it("reads the key's cursor even when the producer has no such key", async () => {
    // GIVEN o-9 unknown to the producer, yet applied by projection
    const db = givenStack();
    db.seed(inbox('projection'), {
      ...inboxKeys.cursor('o-9'),
      lastSequence: 1,
      lastMessageId: 'm-o-9-1',
      lastTraceparent: TRACE_APPLIED,
    });

    const report = await reconcile(connect(), { key: 'o-9', group: 'projection' });

    expect(report.lastApplied).toEqual([
      { group: 'projection', sequence: 1, messageId: 'm-o-9-1', traceparent: TRACE_APPLIED },
    ]);
  });

  it('prints no group column for a stack of one unnamed group', async () => {
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 1 });
    db.seed(inbox('projection'), { ...inboxKeys.cursor('o-1'), lastSequence: 1, lastMessageId: 'm-o-1-1' });
    const single = connect([{ ...TARGETS[0]!, name: UNNAMED_GROUP }]);

    const report = await reconcile(single, { key: 'o-1' });

    expect(report.lastApplied).toEqual([{ group: UNNAMED_GROUP, sequence: 1, messageId: 'm-o-1-1' }]);
    const text = renderReconcile(report);
    expect(text).toMatch(/^LAST APPLIED\s+MESSAGE\s+TRACEPARENT$/m);
    expect(text).toMatch(/^\s+1\s+m-o-1-1\s+-$/m);
  });

  it('reads only lastSequence and parked, and reports no lastApplied, without --key', async () => {
    const db = givenStack();
    db.seed(ORDERS, { orderId: 'o-1', version: 1 });
    db.seed(inbox('projection'), { ...inboxKeys.cursor('o-1'), lastSequence: 1, lastMessageId: 'm-o-1-1' });

    const report = await reconcile(connect(), { group: 'projection' });

    expect(report.lastApplied).toBeUndefined();
    expect(cursorReads()).toEqual([{ table: inbox('projection'), names: ['pk', 'lastSequence', 'parked'] }]);
    expect(renderReconcile(report)).not.toContain('LAST APPLIED');
  });
});

describe('status on a stack of consumer groups', () => {
  it("shows every group's queue, dead-letter queue, held and parked messages, and the topic", async () => {
    // GIVEN shipping's queue holds 5 and audit has a parked key
    const db = givenStack({ [queue('shipping')]: 5 });
    parkedMessage(db, 'audit', 'o-9', 1);

    // WHEN status runs
    const report = await status(connect(), new Date('2026-12-07T05:01:00.000Z'), 'Shop');

    // THEN each group is reported, the first one also at the top level
    expect(report.topic).toEqual({ arn: 'arn:aws:sns:eu-west-1:1:events.fifo' });
    expect(report.groups.map((group) => [group.group, group.queue.visible, group.parkedKeys])).toEqual([
      ['projection', 0, []],
      ['audit', 0, ['o-9']],
      ['shipping', 5, []],
    ]);
    expect(report.queue).toEqual(report.groups[0]!.queue);
    const lines = renderStatus(report).split('\n');
    expect(lines).toContainEqual(expect.stringMatching(/^queue \(shipping\)\s+visible\s+5/));
    expect(lines).toContainEqual(expect.stringMatching(/^inbox \(audit\)\s+parked\s+1\s+60$/));
    expect(lines).toContain('parked keys (audit): o-9');
    expect(lines).toContain('topic: arn:aws:sns:eu-west-1:1:events.fifo');
  });

  it('shows only the group --group names', async () => {
    givenStack({ [queue('shipping')]: 5 });
    const report = await status(connect(), new Date(), 'Shop', 'shipping');
    expect(report.groups.map((group) => group.group)).toEqual(['shipping']);
    expect(report.queue.visible).toBe(5);
  });
});

describe('the repairs of one group', () => {
  it('asks replay and redrive which group when the stack has several, listing them, and writes nothing', async () => {
    givenStack();
    for (const attempt of [replay(connect(), 'o-1'), redrive(connect(), true)]) {
      const error = await rejectionOf(attempt);
      expect(error).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(
        /^(replay|redrive) acts on one consumer group and the stack has 3: add --group NAME \(projection, audit, shipping\)$/,
      );
    }
    expect(ddb.calls()).toHaveLength(0);
    expect(sqs.calls()).toHaveLength(0);
  });

  it("replays the key in the group named: that group's inbox, and its queue", async () => {
    // GIVEN o-1 parked in audit (and not in the others)
    const db = givenStack();
    cursor(db, 'audit', 'o-1', 0, true);
    parkedMessage(db, 'audit', 'o-1', 1);
    sqs.on(GetQueueAttributesCommand).resolves({ Attributes: {} });

    // WHEN replay --key o-1 --group audit runs
    const result = await replay(connect(), 'o-1', 'audit');

    // THEN audit's parked message is held again and its key unparked
    expect(result).toMatchObject({ group: 'audit', groupKey: 'o-1', replayed: [1] });
    expect(db.item(inbox('audit'), inboxKeys.parked('o-1', 1))).toBeUndefined();
    expect(db.item(inbox('audit'), inboxKeys.held('o-1', 1))).toBeDefined();
  });
});
