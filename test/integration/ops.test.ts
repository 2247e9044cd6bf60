import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../scripts/local/paths';
import { sweepNow, transactionalProducer } from '../../scripts/local/stack-control';
import { redrive, resolve, retryFailedMessages, type StatusReport, status } from '../../scripts/ops/commands';
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
    const before: StatusReport = await status(s);
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

  it('fails with its usage for an unknown command', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/ops.ts', 'fix-everything'], {
      cwd: projectRoot,
      env: { ...process.env, AWS_ENDPOINT_URL: s.endpoint, NODE_NO_WARNINGS: '1' },
      encoding: 'utf8',
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('unknown command fix-everything');
    expect(run.stderr).toContain('usage: npm run ops');
  });
});
