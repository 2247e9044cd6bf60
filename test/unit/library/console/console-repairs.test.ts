import { DeleteMessageBatchCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { attentionOf } from '../../../../functions/runtime/consumer/attention-index';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import { halfMessageKey } from '../../../../functions/runtime/half/half-message';
import type { RunningConsole } from '../../../../lib/ops/console/server';
import { transactionalProducer } from '../../../../tools/stack/stack-control';
import {
  call,
  consoleForEachTest,
  envelopeJson,
  type FakeStack,
  fakeStack,
  INBOX,
  ORDERS,
  OUTBOX,
  QUEUE,
  serveConsole,
  sqs,
  TRANSACTIONS,
} from './support/console-fixture';

const NOW = () => new Date().toISOString();

const envelope = (groupKey: string, sequence: number) => envelopeJson(groupKey, sequence);

const failedMessage = (groupKey: string, sequence: number) => ({
  groupKey,
  sequence,
  messageId: `m-${groupKey}-${sequence}`,
  status: 'FAILED',
  attempts: 4,
  lastError: 'QueueUnreachableError',
  createdAt: NOW(),
});

function park(fake: FakeStack, groupKey: string, sequences: number[]) {
  fake.db.seed(INBOX, { ...inboxKeys.cursor(groupKey), lastSequence: 0, parked: true });
  for (const sequence of sequences) {
    fake.db.seed(INBOX, {
      ...inboxKeys.parked(groupKey, sequence),
      message: envelope(groupKey, sequence),
      parkedAt: NOW(),
      reason: 'poison',
      attention: attentionOf('PARKED', groupKey),
      since: NOW(),
    });
  }
}

async function openTransaction(fake: FakeStack, transactionId: string, orderId: string) {
  fake.db.seed(ORDERS, { orderId, version: 1 });
  await transactionalProducer(fake.connection).prepare({
    transactionId,
    groupKey: orderId,
    type: 'PaymentCaptured',
    payload: { orderId, amount: 10 },
    aggregate: { tableName: ORDERS, key: { orderId } },
  });
}

describe('the console repairs with the ops commands, behind the token', () => {
  const current = consoleForEachTest();

  it('retry-failed puts one FAILED message (by id) back to PENDING, and leaves the others', async () => {
    // GIVEN two FAILED messages
    current.stack.db.seed(OUTBOX, failedMessage('o-1', 2), failedMessage('o-2', 5));

    // WHEN one is retried
    const answer = await call(current.running, 'POST', '/api/repairs/retry-failed', {
      body: { messageId: 'm-o-1-2' },
    });

    // THEN it is PENDING with fresh attempts; the other is still FAILED
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ retried: [{ groupKey: 'o-1', sequence: 2, messageId: 'm-o-1-2' }] });
    expect(current.stack.db.item(OUTBOX, { groupKey: 'o-1', sequence: 2 })).toMatchObject({
      status: 'PENDING',
      attempts: 0,
    });
    expect(current.stack.db.item(OUTBOX, { groupKey: 'o-2', sequence: 5 })).toMatchObject({
      status: 'FAILED',
    });
  });

  it('retry-failed with no filter retries every FAILED message', async () => {
    current.stack.db.seed(OUTBOX, failedMessage('o-1', 2), failedMessage('o-2', 5));
    const answer = await call(current.running, 'POST', '/api/repairs/retry-failed', { body: {} });
    expect((answer.body as { retried: unknown[] }).retried).toHaveLength(2);
    expect(current.stack.db.all(OUTBOX).every((item) => item.status === 'PENDING')).toBe(true);
  });

  it('replay moves a parked key back to held, unparks it and re-sends its next message', async () => {
    // GIVEN a key parked with two messages
    park(current.stack, 'p-1', [1, 2]);

    // WHEN it is replayed
    const answer = await call(current.running, 'POST', '/api/repairs/replay', { body: { groupKey: 'p-1' } });

    // THEN both are held again, the key is unparked, and sequence 1 went back to the queue
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ group: 'default', groupKey: 'p-1', replayed: [1, 2], resent: 1 });
    expect(current.stack.db.item(INBOX, inboxKeys.parked('p-1', 1))).toBeUndefined();
    expect(current.stack.db.item(INBOX, inboxKeys.held('p-1', 2))).toBeDefined();
    expect(current.stack.db.item(INBOX, inboxKeys.cursor('p-1'))?.parked).toBeUndefined();
    const sent = sqs.commandCalls(SendMessageCommand).map((c) => c.args[0].input);
    expect(sent).toEqual([expect.objectContaining({ QueueUrl: QUEUE, MessageGroupId: 'p-1' })]);
  });

  it('redrive sends each dead-lettered message back to the queue and deletes it from the DLQ', async () => {
    // GIVEN two dead-lettered messages of one key, out of order
    current.stack.queues.deadLetters.push(envelope('d-1', 2), envelope('d-1', 1));

    // WHEN redriven
    const answer = await call(current.running, 'POST', '/api/repairs/redrive', { body: {} });

    // THEN sent back in sequence order, and deleted
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ dryRun: false, messages: [{ sequence: 1 }, { sequence: 2 }] });
    const sent = sqs
      .commandCalls(SendMessageBatchCommand)
      .map((c) => JSON.parse(c.args[0].input.Entries![0]!.MessageBody!));
    expect(sent.map((m: { sequence: number }) => m.sequence)).toEqual([1, 2]);
    expect(sqs.commandCalls(DeleteMessageBatchCommand)).toHaveLength(2);
  });

  it('resolve commits an open transaction: its message takes the next sequence of its key', async () => {
    await openTransaction(current.stack, 'tx-1', 'o-7');
    const answer = await call(current.running, 'POST', '/api/repairs/resolve', {
      body: { transactionId: 'tx-1', outcome: 'commit' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ outcome: 'commit', transactionId: 'tx-1' });
    expect(current.stack.db.item(OUTBOX, halfMessageKey('tx-1'))).toMatchObject({ status: 'COMMITTED' });
    expect(current.stack.db.item(OUTBOX, { groupKey: 'o-7', sequence: 2 })).toMatchObject({
      status: 'PENDING',
      type: 'PaymentCaptured',
    });
  });

  it('resolve rolls back an open transaction; resolving it again the other way is a 409 that changes nothing', async () => {
    await openTransaction(current.stack, 'tx-2', 'o-8');
    const rollback = await call(current.running, 'POST', '/api/repairs/resolve', {
      body: { transactionId: 'tx-2', outcome: 'rollback' },
    });
    expect(rollback.status).toBe(200);
    expect(current.stack.db.item(OUTBOX, halfMessageKey('tx-2'))).toMatchObject({ status: 'ROLLED_BACK' });

    const commit = await call(current.running, 'POST', '/api/repairs/resolve', {
      body: { transactionId: 'tx-2', outcome: 'commit' },
    });
    expect(commit.status).toBe(409);
    expect(commit.body).toEqual({ error: expect.stringContaining('TransactionNotOpenError') });
    expect(current.stack.db.item(OUTBOX, { groupKey: 'o-8', sequence: 2 })).toBeUndefined();
    expect(current.stack.db.item(ORDERS, { orderId: 'o-8' })).toMatchObject({ version: 1 });
  });
});

describe('a stack whose half messages live in a transaction table (output TransactionTableName)', () => {
  const current = consoleForEachTest([], { transactionTable: true });

  it('lists its open transactions, counts them PREPARED, and reconcile finds them open', async () => {
    // GIVEN an open transaction, in the transaction table
    await openTransaction(current.stack, 'tx-1', 'o-7');
    expect(current.stack.db.item(TRANSACTIONS, halfMessageKey('tx-1'))).toMatchObject({ status: 'PREPARED' });
    expect(current.stack.db.all(OUTBOX)).toEqual([]);

    // WHEN the page reads the lists, the status and the key
    const lists = await call(current.running, 'GET', '/api/repairs');
    const status = await call(current.running, 'GET', '/api/status');
    const key = await call(current.running, 'GET', '/api/key?key=o-7');

    // THEN
    expect(lists.body).toMatchObject({
      transactions: [{ transactionId: 'tx-1', groupKey: 'o-7', status: 'PREPARED' }],
    });
    expect(status.body).toMatchObject({ outbox: { pending: 0, prepared: 1, failed: 0 } });
    expect(key.body).toMatchObject({
      reconcile: {
        messages: expect.arrayContaining([
          expect.objectContaining({ state: 'TRANSACTION_OPEN', groupKey: 'o-7', transactionId: 'tx-1' }),
        ]),
      },
    });
  });

  it('resolve commits there: the tombstone in the transaction table, the PENDING message in the outbox', async () => {
    // GIVEN
    await openTransaction(current.stack, 'tx-1', 'o-7');

    // WHEN
    const answer = await call(current.running, 'POST', '/api/repairs/resolve', {
      body: { transactionId: 'tx-1', outcome: 'commit' },
    });

    // THEN
    expect(answer.status).toBe(200);
    expect(current.stack.db.item(TRANSACTIONS, halfMessageKey('tx-1'))).toMatchObject({
      status: 'COMMITTED',
      resolvedBy: 'operator',
    });
    expect(current.stack.db.all(OUTBOX)).toEqual([
      expect.objectContaining({ groupKey: 'o-7', sequence: 2, status: 'PENDING', type: 'PaymentCaptured' }),
    ]);
  });

  it('resolve rolls back there, and the transaction leaves the repair lists', async () => {
    // GIVEN
    await openTransaction(current.stack, 'tx-2', 'o-8');

    // WHEN
    const answer = await call(current.running, 'POST', '/api/repairs/resolve', {
      body: { transactionId: 'tx-2', outcome: 'rollback' },
    });

    // THEN
    expect(answer.status).toBe(200);
    expect(current.stack.db.item(TRANSACTIONS, halfMessageKey('tx-2'))).toMatchObject({
      status: 'ROLLED_BACK',
    });
    expect((await call(current.running, 'GET', '/api/repairs')).body).toMatchObject({ transactions: [] });
    expect(current.stack.db.all(OUTBOX)).toEqual([]);
  });
});

describe('a repair the console refuses does nothing', () => {
  let stack: FakeStack;
  let running: RunningConsole;
  beforeEach(async () => {
    stack = fakeStack();
    stack.db.seed(OUTBOX, failedMessage('o-1', 2));
    park(stack, 'p-1', [1]);
  });
  afterEach(async () => {
    await running.close();
  });

  /** Nothing changed: the FAILED message is FAILED, the key parked, nothing sent. */
  function expectNothingDone() {
    expect(stack.db.item(OUTBOX, { groupKey: 'o-1', sequence: 2 })).toMatchObject({ status: 'FAILED' });
    expect(stack.db.item(INBOX, inboxKeys.parked('p-1', 1))).toBeDefined();
    expect(stack.db.item(INBOX, inboxKeys.cursor('p-1'))).toMatchObject({ parked: true });
    expect(sqs.commandCalls(SendMessageCommand)).toHaveLength(0);
  }

  it.each([
    ['no token', { 'x-console-token': null }, /needs the token/],
    ['an empty token', { 'x-console-token': '' }, /needs the token/],
    ['a wrong token', { 'x-console-token': 'the-token!' }, /wrong repair token/],
    ['a token of another length', { 'x-console-token': 'x' }, /wrong repair token/],
    ['no Origin', { origin: null }, /Origin/],
    ['another Origin', { origin: 'http://evil.example' }, /Origin/],
    ['the console on localhost as Origin', { origin: `http://localhost:PORT` }, /Origin/],
    ['another Host (DNS rebinding)', { host: 'evil.example:PORT' }, /Host/],
  ])('fails with 403 for %s', async (_case, headers, message) => {
    running = await serveConsole(stack);
    const withPort = Object.fromEntries(
      Object.entries(headers).map(([name, value]) => [
        name,
        value?.replace('PORT', String(running.port)) ?? null,
      ]),
    );
    for (const [path, body] of [
      ['/api/repairs/retry-failed', {}],
      ['/api/repairs/replay', { groupKey: 'p-1' }],
    ] as const) {
      const answer = await call(running, 'POST', path, { body, headers: withPort });
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ error: expect.stringMatching(message) });
    }
    expectNothingDone();
  });

  it('fails with 403 for every repair when the console is read-only, even with the token', async () => {
    running = await serveConsole(stack, { readOnly: true });
    for (const [path, body] of [
      ['/api/repairs/retry-failed', {}],
      ['/api/repairs/replay', { groupKey: 'p-1' }],
      ['/api/repairs/redrive', {}],
      ['/api/repairs/resolve', { transactionId: 't', outcome: 'commit' }],
    ] as const) {
      const answer = await call(running, 'POST', path, { body });
      expect(answer.status).toBe(403);
      expect(answer.body).toEqual({ error: expect.stringContaining('--read-only') });
    }
    expect((await call(running, 'GET', '/api/console')).body).toMatchObject({ readOnly: true });
    expectNothingDone();
  });

  it.each([
    ['replay without a key', '/api/repairs/replay', {}, /groupKey/],
    ['replay with an empty key', '/api/repairs/replay', { groupKey: '' }, /groupKey/],
    ['replay with a number as key', '/api/repairs/replay', { groupKey: 7 }, /groupKey/],
    ['retry-failed with an unknown field', '/api/repairs/retry-failed', { key: 'o-1' }, /key/],
    ['resolve without an outcome', '/api/repairs/resolve', { transactionId: 't' }, /outcome/],
    [
      'resolve with outcome maybe',
      '/api/repairs/resolve',
      { transactionId: 't', outcome: 'maybe' },
      /outcome/,
    ],
    ['redrive with dryRun "yes"', '/api/repairs/redrive', { dryRun: 'yes' }, /dryRun/],
    ['redrive with an empty group', '/api/repairs/redrive', { group: '' }, /group/],
    ['replay with a number as group', '/api/repairs/replay', { groupKey: 'p-1', group: 7 }, /group/],
    ['a body that is not JSON', '/api/repairs/replay', '{"groupKey":', /not JSON/],
    ['a body that is an array', '/api/repairs/retry-failed', '[]', /body/],
  ])('fails with 400 for %s', async (_case, path, body, message) => {
    running = await serveConsole(stack);
    const answer = await call(running, 'POST', path, { body });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringMatching(message) });
    expectNothingDone();
  });

  it('fails with 409 for a replay of a group the stack does not have, naming its groups, and changes nothing', async () => {
    running = await serveConsole(stack);
    const answer = await call(running, 'POST', '/api/repairs/replay', {
      body: { groupKey: 'p-1', group: 'audit' },
    });
    expect(answer.status).toBe(409);
    expect(answer.body).toEqual({
      error: 'UsageError: no consumer group "audit"; the stack\'s groups: default',
    });
    expectNothingDone();
  });

  it('fails with 400 for a body that is not application/json, and for one over 16 KB', async () => {
    running = await serveConsole(stack);
    const form = await call(running, 'POST', '/api/repairs/replay', {
      body: 'groupKey=p-1',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(400);
    expect(form.body).toEqual({ error: expect.stringContaining('application/json') });
    const large = await call(running, 'POST', '/api/repairs/replay', {
      body: { groupKey: 'p-1', padding: 'x'.repeat(20_000) },
    });
    expect(large.status).toBe(400);
    expect(large.body).toEqual({ error: expect.stringContaining('over 16384 bytes') });
    expectNothingDone();
  });

  it('fails with 404 for an unknown repair and 405 for a repair sent as GET', async () => {
    running = await serveConsole(stack);
    expect((await call(running, 'POST', '/api/repairs/delete-everything', { body: {} })).status).toBe(404);
    expect((await call(running, 'GET', '/api/repairs/replay?groupKey=p-1')).status).toBe(405);
    expectNothingDone();
  });
});
