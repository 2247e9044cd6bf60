import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { inboxKeys } from '../../functions/runtime/consumer/inbox-keys';
import { redrive, resolve, retryFailedMessages, type StatusReport, status } from '../../lib/ops/commands';
import type { ReconcileReport } from '../../lib/ops/reconcile-classification';
import type { LoadReport } from '../../scripts/ops/load';
import { projectRoot } from '../../tools/paths';
import { STACK_NAME } from '../../tools/stack/outputs';
import { sweepNow, transactionalProducer } from '../../tools/stack/stack-control';
import { eventually, outboxItems, queueDepth, type Stack, stack, uniquePrefix } from './support/aws';

async function viewAt(s: Stack, orderId: string, version: number) {
  return eventually(`view of ${orderId} at version ${version}`, async () => {
    const response = await s.api.getView(orderId);
    return response.status === 200 && response.body.version === version ? response.body : undefined;
  });
}

async function placedAndApplied(s: Stack, name: string): Promise<string> {
  const orderId = uniquePrefix(name);
  await s.api.placeOrder({ customerId: 'c', items: [{ sku: `${orderId}-sku`, quantity: 1 }], orderId });
  await viewAt(s, orderId, 1);
  return orderId;
}

const note = (orderId: string, sequence: number, text: string) => ({
  messageId: randomUUID(),
  groupKey: orderId,
  sequence,
  type: 'OrderNoteAdded',
  payload: { orderId, text },
  createdAt: new Date().toISOString(),
});

describe('ops commands against the deployed stack', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });

  it('status counts FAILED outbox messages; retry-failed puts them back and the sweep delivers them', async () => {
    // GIVEN an applied order and a FAILED message of it in the outbox (as the sweeper leaves one)
    const orderId = await placedAndApplied(s, 'ops-retry');
    const failed = note(orderId, 2, 'repaired');
    await s.dynamodb.send(
      new PutCommand({
        TableName: s.outputs.OutboxTableName,
        Item: {
          groupKey: orderId,
          sequence: 2,
          messageId: failed.messageId,
          type: failed.type,
          payload: JSON.stringify(failed.payload),
          status: 'FAILED',
          attempts: 4,
          lastError: 'QueueUnreachableError',
          createdAt: new Date(Date.now() - 60_000).toISOString(),
        },
      }),
    );

    // WHEN the operator looks, then repairs
    const before: StatusReport = await status(s, new Date(), STACK_NAME);
    const retried = await retryFailedMessages(s, { groupKey: orderId });
    await sweepNow(s);

    // THEN status saw it, retry-failed put exactly it back, and it was delivered
    expect(before.outbox.failed).toBeGreaterThanOrEqual(1);
    expect(retried).toEqual({ retried: [{ groupKey: orderId, sequence: 2, messageId: failed.messageId }] });
    expect(await viewAt(s, orderId, 2)).toMatchObject({ notes: ['repaired'] });
    expect(await outboxItems(s, orderId)).toEqual([]);
  });

  it('redrive lists with --dry-run and changes nothing; then sends the dead-lettered messages back, in order', async () => {
    // GIVEN two dead-lettered notes of an applied order, in the wrong order
    const orderId = await placedAndApplied(s, 'ops-redrive');
    for (const message of [note(orderId, 3, 'third'), note(orderId, 2, 'second')]) {
      await s.sqs.send(
        new SendMessageCommand({
          QueueUrl: s.outputs.DeadLetterQueueUrl,
          MessageBody: JSON.stringify(message),
          MessageGroupId: `dlq-${message.sequence}`,
          MessageDeduplicationId: message.messageId,
        }),
      );
    }

    // WHEN a dry run, then a redrive
    const dry = await redrive(s, true);
    const mine = (result: Awaited<ReturnType<typeof redrive>>) =>
      result.messages.filter((m) => m.groupKey === orderId);
    expect(mine(dry).map((m) => m.sequence)).toEqual([2, 3]);
    expect((await s.api.getView(orderId)).body).toMatchObject({ version: 1 });
    await eventually(
      'the dry run messages visible again',
      async () => ((await queueDepth(s, s.outputs.DeadLetterQueueUrl)).visible >= 2 ? true : undefined),
      90_000,
    );
    const done = await redrive(s, false);

    // THEN they are applied in order, and the dead-letter queue is empty
    expect(mine(done).map((m) => m.sequence)).toEqual([2, 3]);
    expect(await viewAt(s, orderId, 3)).toMatchObject({ notes: ['second', 'third'] });
    expect((await queueDepth(s, s.outputs.DeadLetterQueueUrl)).visible).toBe(0);
  });

  it('resolve --commit commits a prepared transaction by hand', async () => {
    const orderId = await placedAndApplied(s, 'ops-resolve');
    const prepared = await transactionalProducer(s).prepare({
      groupKey: orderId,
      type: 'PaymentCaptured',
      payload: { orderId, transactionId: 'by-hand', amount: 3 },
      aggregate: { tableName: s.outputs.OrdersTableName, key: { orderId }, set: { paid: true } },
    });
    const result = await resolve(s, prepared.transactionId, 'commit');
    expect(result).toMatchObject({ outcome: 'commit', sequence: 2, alreadyCommitted: false });
    expect(await viewAt(s, orderId, 2)).toMatchObject({ paid: true });
  });

  it('npm run ops -- status --json prints the status as one JSON object', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/ops.ts', 'status', '--json'], {
      cwd: projectRoot,
      env: { ...process.env, AWS_ENDPOINT_URL: s.endpoint, NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as StatusReport;
    expect(report).toMatchObject({
      outbox: { pending: expect.any(Number), failed: expect.any(Number) },
      queue: { visible: expect.any(Number) },
      deadLetterQueue: { visible: expect.any(Number) },
      inbox: { heldMessages: expect.any(Number), parkedKeys: expect.any(Number) },
    });
    expect(Object.keys(report.alarms).length).toBeGreaterThan(5);
  });

  it('fails with exit code 2 and its usage for an unknown command or flag', async () => {
    // WHEN the operator mistypes a command, then a flag
    const command = await ops(s, ['fix-everything']);
    const flag = await ops(s, ['status', '--dryrun']);

    // THEN each says what is wrong, shows the usage, and exits with 2
    expect(command).toMatchObject({ status: 2 });
    expect(command.stderr).toContain('unknown command "fix-everything"');
    expect(command.stderr).toContain('usage: npx reliable-messaging-ops');
    expect(flag).toMatchObject({ status: 2 });
    expect(flag.stderr).toContain("Unknown option '--dryrun'");
  });

  it('status prints readable tables by default', async () => {
    const run = await ops(s, ['status']);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/STAGE\s+MESSAGES\s+COUNT\s+OLDEST \(s\)/);
    expect(run.stdout).toMatch(/outbox\s+FAILED\s+\d+/);
    expect(run.stdout).toMatch(/ALARM\s+STATE/);
  });

  it('status --stack reads the outputs from CloudFormation (the SDK pointed at the emulator by AWS_ENDPOINT_URL)', async () => {
    // GIVEN no outputs file to fall back on: the outputs must come from DescribeStacks
    const run = await ops(
      s,
      ['status', '--json', '--stack', 'ReliableMessagingDemo', '--region', 'us-east-1'],
      {
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      },
    );
    expect(run.stderr).not.toMatch(/error/i);
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ outbox: { failed: expect.any(Number) } });

    const missing = await ops(s, ['status', '--stack', 'NoSuchStack', '--region', 'us-east-1'], {
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    expect(missing.status).toBe(1);
    expect(missing.stderr).toMatch(/error: stack NoSuchStack in us-east-1 does not exist/);
  });

  it('load drives N messages over K keys through the API; they land in the projection', async () => {
    // WHEN 11 messages over 3 keys are loaded, 3 clients at once, waiting until applied
    const prefix = uniquePrefix('ops-load');
    const run = await ops(s, [
      'load',
      '--keys',
      '3',
      '--messages',
      '11',
      '--concurrency',
      '3',
      '--prefix',
      prefix,
      '--wait',
      '--json',
    ]);

    // THEN it reports what it sent, and every key's view holds its order and notes, in order
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as LoadReport;
    expect(report).toMatchObject({ keys: 3, messages: 11, orders: 3, notes: 8, concurrency: 3 });
    expect(report.runPrefix.startsWith(`${prefix}-`)).toBe(true);
    expect(report.perSecond).toBeGreaterThan(0);
    expect(report.applied?.perSecond).toBeGreaterThan(0);
    const expected = [4, 4, 3]; // 11 over 3 keys: the first 11 % 3 keys one more
    for (const [k, version] of expected.entries()) {
      const view = await viewAt(s, `${report.runPrefix}${k}`, version);
      expect(view.notes).toEqual(Array.from({ length: version - 1 }, (_, n) => `note ${n + 1}`));
    }
  });

  it('reconcile: all terminal (exit 0) after traffic drains; lists a FAILED message and a parked key with their repairs (exit 3); clean again once repaired', async () => {
    // GIVEN traffic on 3 keys, drained
    const loaded = await ops(s, [
      'load',
      '--keys',
      '3',
      '--messages',
      '9',
      '--prefix',
      uniquePrefix('ops-rec'),
      '--wait',
      '--json',
    ]);
    expect(loaded.status).toBe(0);
    const { runPrefix } = JSON.parse(loaded.stdout) as LoadReport;
    const [failedKey, parkedKey] = [`${runPrefix}0`, `${runPrefix}1`];

    // WHEN reconciled
    const clean = await ops(s, ['reconcile', '--prefix', runPrefix, '--json']);

    // THEN every committed message is terminal
    expect(clean.status).toBe(0);
    expect(JSON.parse(clean.stdout)).toMatchObject({
      keysChecked: 3,
      messagesCommitted: 9,
      applied: 9,
      notTerminal: 0,
      allTerminal: true,
      messages: [],
    });

    // GIVEN then a FAILED message of one key (as the sweep leaves one) and a parked message of another
    await commitVersion(s, failedKey, 4);
    await s.dynamodb.send(
      new PutCommand({
        TableName: s.outputs.OutboxTableName,
        Item: {
          ...outboxFields(note(failedKey, 4, 'stuck')),
          createdAt: new Date(Date.now() - 60_000).toISOString(),
          status: 'FAILED',
          attempts: 4,
          lastError: 'QueueUnreachableError',
        },
      }),
    );
    await parkMessage(s, note(parkedKey, 4, 'poison'));

    // WHEN the whole stack is reconciled THEN every consumer group is judged: the FAILED message is missing in all
    // three, the parked one is parked in the projection group, and the other groups never received it (it was
    // written straight into the projection's inbox, never published): unaccounted for there
    const everyGroup = await ops(s, ['reconcile', '--prefix', runPrefix, '--json']);
    expect(everyGroup.status).toBe(3);
    const stackReport = JSON.parse(everyGroup.stdout) as ReconcileReport;
    expect(stackReport).toMatchObject({
      messagesCommitted: 11,
      applied: 9,
      notTerminal: 6,
      allTerminal: false,
    });
    expect(stackReport.byState).toMatchObject({ OUTBOX_FAILED: 3, PARKED: 1, UNACCOUNTED: 2 });

    // WHEN the projection group is reconciled, as JSON and as tables
    const dirty = await ops(s, ['reconcile', '--prefix', runPrefix, '--group', 'projection', '--json']);
    const table = await ops(s, ['reconcile', '--prefix', runPrefix, '--group', 'projection']);

    // THEN exit 3, both listed where they are with the command that repairs each
    expect(dirty.status).toBe(3);
    const report = JSON.parse(dirty.stdout) as ReconcileReport;
    expect(report).toMatchObject({ messagesCommitted: 11, applied: 9, notTerminal: 2, allTerminal: false });
    expect(report.byState).toMatchObject({ OUTBOX_FAILED: 1, PARKED: 1 });
    expect(report.messages).toEqual([
      expect.objectContaining({
        groupKey: failedKey,
        fromSequence: 4,
        state: 'OUTBOX_FAILED',
        repair: `retry-failed --key ${failedKey}`,
      }),
      expect.objectContaining({
        groupKey: parkedKey,
        fromSequence: 4,
        state: 'PARKED',
        repair: `replay --key ${parkedKey} --group projection`,
      }),
    ]);
    expect(table.status).toBe(3);
    expect(table.stdout).toMatch(/not terminal\s+2 \(OUTBOX_FAILED 1, PARKED 1\)/);
    expect(table.stdout).toMatch(
      new RegExp(`${failedKey}\\s+4\\s+1\\s+OUTBOX_FAILED\\s+.*retry-failed --key ${failedKey}`),
    );

    // AND wait settles at once (a FAILED and a parked message move only for an operator), listing both
    const waited = await ops(s, [
      'wait',
      '--prefix',
      runPrefix,
      '--group',
      'projection',
      '--timeout',
      '30',
      '--json',
    ]);
    expect(waited.status).toBe(0);
    expect(JSON.parse(waited.stdout)).toMatchObject({
      settled: true,
      moving: [],
      awaitingOperator: [
        expect.objectContaining({ state: 'OUTBOX_FAILED' }),
        expect.objectContaining({ state: 'PARKED' }),
      ],
    });

    // AND a stack without the OrdersTableName output (a user's) reconciles the same with the table given
    const userOutputs = path.join(mkdtempSync(path.join(tmpdir(), 'ops-user-')), 'outputs.json');
    // (a user's stack of one queue: the reference application's outputs without its consumer groups')
    const libraryOutputs = Object.fromEntries(
      Object.entries(s.outputs).filter(
        ([name]) =>
          !/^(Audit|Shipping|EventsTopic)/.test(name) && name !== 'OrdersTableName' && name !== 'ApiUrl',
      ),
    );
    const ordersTable = s.outputs.OrdersTableName;
    writeFileSync(userOutputs, JSON.stringify({ UserStack: libraryOutputs }));
    const undeclared = await ops(s, ['reconcile', '--outputs', userOutputs, '--prefix', runPrefix]);
    expect(undeclared.status).toBe(1);
    expect(undeclared.stderr).toContain('UserStack declares none');
    const given = await ops(s, [
      'reconcile',
      '--outputs',
      userOutputs,
      '--producer-table',
      ordersTable,
      '--key-attribute',
      'orderId',
      '--sequence-attribute',
      'version',
      '--prefix',
      runPrefix,
      '--json',
    ]);
    expect(given.status).toBe(3);
    const givenReport = JSON.parse(given.stdout) as ReconcileReport;
    expect(givenReport).toMatchObject({
      messagesCommitted: 11,
      applied: 9,
      notTerminal: 2,
      allTerminal: false,
    });
    expect(
      givenReport.messages.map(({ groupKey, fromSequence, state }) => ({ groupKey, fromSequence, state })),
    ).toEqual(
      report.messages.map(({ groupKey, fromSequence, state }) => ({ groupKey, fromSequence, state })),
    );

    // WHEN the operator runs the repairs it names
    expect((await ops(s, ['retry-failed', '--key', failedKey])).status).toBe(0);
    await sweepNow(s);
    expect((await ops(s, ['replay', '--key', parkedKey, '--group', 'projection'])).status).toBe(0);

    // THEN both are applied and reconcile is clean again
    expect(await viewAt(s, failedKey, 4)).toMatchObject({ notes: ['note 1', 'note 2', 'stuck'] });
    expect(await viewAt(s, parkedKey, 4)).toMatchObject({ notes: ['note 1', 'note 2', 'poison'] });
    const repaired = await ops(s, ['reconcile', '--prefix', runPrefix, '--group', 'projection', '--json']);
    expect(repaired.status).toBe(0);
    expect(JSON.parse(repaired.stdout)).toMatchObject({ messagesCommitted: 11, applied: 11, notTerminal: 0 });
  });
});

/** Runs the ops CLI against the test stack (through its bin launcher); never throws on a non-zero exit. */
function ops(
  s: Stack,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/ops-cli.mjs', ...args], {
      cwd: projectRoot,
      env: { ...process.env, AWS_ENDPOINT_URL: s.endpoint, NODE_NO_WARNINGS: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

const outboxFields = (message: ReturnType<typeof note>) => ({
  groupKey: message.groupKey,
  sequence: message.sequence,
  messageId: message.messageId,
  type: message.type,
  payload: JSON.stringify(message.payload),
  createdAt: message.createdAt,
});

/** The order's version moved to `version`, as the producer's commit of a message with that sequence does. */
async function commitVersion(s: Stack, orderId: string, version: number): Promise<void> {
  await s.dynamodb.send(
    new UpdateCommand({
      TableName: s.outputs.OrdersTableName,
      Key: { orderId },
      UpdateExpression: 'SET version = :next',
      ConditionExpression: 'version = :previous',
      ExpressionAttributeValues: { ':next': version, ':previous': version - 1 },
    }),
  );
}

/**
 * Commits a note on the order (its version to the message's sequence) and leaves the message parked in the inbox,
 * with the key's cursor flagged parked: what the consumer leaves when a message keeps failing.
 */
async function parkMessage(s: Stack, message: ReturnType<typeof note>): Promise<void> {
  await commitVersion(s, message.groupKey, message.sequence);
  const now = new Date().toISOString();
  await s.dynamodb.send(
    new UpdateCommand({
      TableName: s.outputs.InboxTableName,
      Key: inboxKeys.cursor(message.groupKey),
      UpdateExpression:
        'SET parked = :true, parkedAt = :now, parkedSequence = :sequence, parkedReason = :reason',
      ExpressionAttributeValues: {
        ':true': true,
        ':now': now,
        ':sequence': message.sequence,
        ':reason': 'poison',
      },
    }),
  );
  await s.dynamodb.send(
    new PutCommand({
      TableName: s.outputs.InboxTableName,
      Item: {
        ...inboxKeys.parked(message.groupKey, message.sequence),
        message: JSON.stringify(message),
        parkedAt: now,
        reason: 'poison',
        attention: 'PARKED',
        since: now,
      },
    }),
  );
}
