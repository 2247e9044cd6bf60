import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { attentionOf } from '../../../../functions/runtime/consumer/attention-index';
import { inboxKeys } from '../../../../functions/runtime/consumer/inbox-keys';
import { reconcile } from '../../../../lib/ops/reconcile';
import {
  call,
  consoleForEachTest,
  ddb,
  envelopeJson,
  type FakeStack,
  INBOX,
  ORDERS,
  OUTBOX,
  QUEUE,
  RELAY_FAILURES,
  STACK,
  sqs,
} from './support/console-fixture';

const MINUTE_AGO = () => new Date(Date.now() - 60_000).toISOString();

const envelope = (groupKey: string, sequence: number) => envelopeJson(groupKey, sequence, MINUTE_AGO());

/** Key `o-1`: committed up to 3, applied up to 1, 2 FAILED and 3 PENDING in the outbox. */
function seedFailedKey(fake: FakeStack) {
  fake.db.seed(ORDERS, { orderId: 'o-1', version: 3 });
  fake.db.seed(INBOX, { ...inboxKeys.cursor('o-1'), lastSequence: 1 });
  fake.db.seed(
    OUTBOX,
    {
      groupKey: 'o-1',
      sequence: 2,
      messageId: 'm-o-1-2',
      status: 'FAILED',
      attempts: 4,
      lastError: 'QueueUnreachableError',
      createdAt: MINUTE_AGO(),
    },
    {
      groupKey: 'o-1',
      sequence: 3,
      messageId: 'm-o-1-3',
      status: 'PENDING',
      attempts: 0,
      createdAt: MINUTE_AGO(),
    },
  );
}

/** Key `p-1`: committed up to 2, nothing applied, both messages parked (poison). */
function seedParkedKey(fake: FakeStack) {
  const since = MINUTE_AGO();
  fake.db.seed(ORDERS, { orderId: 'p-1', version: 2 });
  fake.db.seed(INBOX, { ...inboxKeys.cursor('p-1'), lastSequence: 0, parked: true, parkedReason: 'poison' });
  for (const sequence of [1, 2]) {
    fake.db.seed(INBOX, {
      ...inboxKeys.parked('p-1', sequence),
      message: envelope('p-1', sequence),
      parkedAt: since,
      reason: 'InjectedFaultError: poison message of key p-1',
      attention: attentionOf('PARKED', 'p-1'),
      since,
    });
  }
}

describe('the console reads the stack as ops does', () => {
  const current = consoleForEachTest([
    { AlarmName: `${STACK}-AlarmsParkedKeysA1B2C3D4-XYZ`, StateValue: 'ALARM' },
    { AlarmName: `${STACK}-AlarmsFailedMessagesE5F6A7B8-XYZ`, StateValue: 'OK' },
  ]);

  it('answers /api/status with every stage: outbox, queues, relay failures, held and parked, alarms', async () => {
    // GIVEN a FAILED and a PENDING message, a parked key, and messages in the queue, DLQ and relay failure queue
    seedFailedKey(current.stack);
    seedParkedKey(current.stack);
    current.stack.queues.depth[QUEUE] = { visible: 5, inFlight: 2 };
    current.stack.queues.deadLetters.push(envelope('d-1', 1));
    current.stack.queues.depth[RELAY_FAILURES] = { visible: 1, inFlight: 0 };

    // WHEN the page reads the status
    const answer = await call(current.running, 'GET', '/api/status');

    // THEN it has the counts and ages of each stage, and each alarm's state by its short name
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      stackName: STACK,
      outbox: { pending: 1, prepared: 0, failed: 1, oldestPendingAgeSeconds: expect.any(Number) },
      queue: { visible: 5, inFlight: 2 },
      deadLetterQueue: { visible: 1, inFlight: 0 },
      relayFailureQueue: { visible: 1, inFlight: 0 },
      inbox: { heldMessages: 0, parkedMessages: 2, parkedKeys: 1 },
      parkedKeys: ['p-1'],
      alarms: { ParkedKeys: 'ALARM', FailedMessages: 'OK' },
    });
    expect(
      (answer.body as { outbox: { oldestPendingAgeSeconds: number } }).outbox.oldestPendingAgeSeconds,
    ).toBeGreaterThanOrEqual(59);
  });

  it('answers /api/key with the same verdict as `ops reconcile --key`, and why the key is parked', async () => {
    // GIVEN a key with a FAILED message and a parked key
    seedFailedKey(current.stack);
    seedParkedKey(current.stack);

    // WHEN the page asks for each key
    const failed = await call(current.running, 'GET', '/api/key?key=o-1');
    const parked = await call(current.running, 'GET', '/api/key?key=p-1');

    // THEN each view carries reconcile's own report for that key, and the stages' contents
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({
      key: 'o-1',
      committed: 3,
      applied: 1,
      parked: false,
      outbox: [
        { sequence: 2, status: 'FAILED', attempts: 4, lastError: 'QueueUnreachableError' },
        { sequence: 3, status: 'PENDING' },
      ],
      reconcile: JSON.parse(JSON.stringify(await reconcile(current.stack.connection, { key: 'o-1' }))),
    });
    expect(parked.body).toMatchObject({
      key: 'p-1',
      committed: 2,
      applied: 0,
      parked: true,
      parkedMessages: [
        { sequence: 1, reason: 'InjectedFaultError: poison message of key p-1' },
        { sequence: 2, reason: 'InjectedFaultError: poison message of key p-1' },
      ],
      reconcile: {
        notTerminal: 2,
        messages: [expect.objectContaining({ state: 'PARKED', repair: 'replay --key p-1' })],
      },
    });
  });

  it('answers /api/key with the message the consumer applied last and its traceparent, for a healthy key', async () => {
    // GIVEN h-1 committed to 2 and applied, its cursor recording message 2 and its trace context
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    current.stack.db.seed(ORDERS, { orderId: 'h-1', version: 2 });
    current.stack.db.seed(INBOX, {
      ...inboxKeys.cursor('h-1'),
      lastSequence: 2,
      lastMessageId: 'm-h-1-2',
      lastTraceparent: traceparent,
    });

    // WHEN the page asks for the key
    const answer = await call(current.running, 'GET', '/api/key?key=h-1');

    // THEN the view names that message, for the key and for its group, and reconcile's report says it too
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      key: 'h-1',
      applied: 2,
      lastMessageId: 'm-h-1-2',
      lastTraceparent: traceparent,
      messages: [],
      groups: [{ applied: 2, lastMessageId: 'm-h-1-2', lastTraceparent: traceparent }],
      reconcile: {
        allTerminal: true,
        lastApplied: [{ sequence: 2, messageId: 'm-h-1-2', traceparent }],
      },
    });
  });

  it('answers /api/repairs with FAILED messages, parked keys with their reasons, dead letters and transactions', async () => {
    // GIVEN one of each
    seedFailedKey(current.stack);
    seedParkedKey(current.stack);
    current.stack.queues.deadLetters.push(envelope('d-1', 1));
    current.stack.db.seed(OUTBOX, {
      groupKey: 'TX#tx-1',
      sequence: 0,
      transactionId: 'tx-1',
      targetGroupKey: 'o-9',
      messageId: 'm-tx-1',
      type: 'PaymentCaptured',
      status: 'FAILED',
      checkCount: 3,
      createdAt: MINUTE_AGO(),
    });

    // WHEN the page reads the lists
    const answer = await call(current.running, 'GET', '/api/repairs');

    // THEN each list holds what needs its repair
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      failedMessages: [{ groupKey: 'o-1', sequence: 2, messageId: 'm-o-1-2', attempts: 4 }],
      parkedKeys: [{ groupKey: 'p-1', messages: [{ sequence: 1 }, { sequence: 2 }] }],
      deadLetters: [{ groupKey: 'd-1', sequence: 1, messageId: 'm-d-1-1' }],
      transactions: [{ transactionId: 'tx-1', groupKey: 'o-9', status: 'FAILED', checkCount: 3 }],
    });
  });

  it('answers /api/console with the current.stack, the mode, the refresh interval, the extra reads and the groups', async () => {
    const answer = await call(current.running, 'GET', '/api/console');
    expect(answer.body).toEqual({
      stackName: STACK,
      source: 'test',
      readOnly: false,
      refreshSeconds: 3,
      extraReads: ['/api/reports'],
      groups: ['default'],
    });
  });

  it.each([
    ['no key', '/api/key'],
    ['an empty key', '/api/key?key='],
    ['two keys', '/api/key?key=a&key=b'],
    ['a control character', '/api/key?key=a%0Ab'],
  ])('fails with 400 for %s, reading nothing', async (_case, path) => {
    // WHEN the key asked for is malformed
    const answer = await call(current.running, 'GET', path);

    // THEN 400 with what a key must be, and no table was read
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({ error: expect.stringMatching(/key/) });
    expect(ddb.calls()).toHaveLength(0);
  });

  it('reads the group ?group= names, refusing two groups (400) and one the stack does not have (409)', async () => {
    const one = await call(current.running, 'GET', '/api/status?group=default');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ groups: [{ group: 'default' }] });
    expect((await call(current.running, 'GET', '/api/repairs?group=default')).body).toMatchObject({
      group: 'default',
      groups: ['default'],
    });
    const two = await call(current.running, 'GET', '/api/status?group=a&group=b');
    expect(two.status).toBe(400);
    expect(two.body).toEqual({ error: 'give at most one group: ?group=NAME' });
    const unknown = await call(current.running, 'GET', '/api/key?key=o-1&group=audit');
    expect(unknown.status).toBe(409);
    expect(unknown.body).toEqual({
      error: 'UsageError: no consumer group "audit"; the stack\'s groups: default',
    });
  });

  it('fails with 404 for an unknown route and 405 for a read sent as POST', async () => {
    expect((await call(current.running, 'GET', '/api/nothing')).status).toBe(404);
    const post = await call(current.running, 'POST', '/api/status', { body: {} });
    expect(post.status).toBe(405);
    expect(post.body).toEqual({ error: '/api/status takes GET' });
  });

  it('reads the dead-letter queue only when it holds messages', async () => {
    // GIVEN an empty DLQ WHEN the lists are read THEN it was not received from
    await call(current.running, 'GET', '/api/repairs');
    expect(sqs.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
  });
});
