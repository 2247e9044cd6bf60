import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, type SendMessageBatchCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import {
  DynamoDBDocumentClient,
  ScanCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { type OutboxItem, parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import { OutboxWriter } from '../../../../functions/runtime/outbox/outbox-writer';
import { unsentMessageAttributes } from '../../../../functions/runtime/outbox/unsent-index';
import { OutboxPublisher, type RelayProblem } from '../../../../functions/runtime/relay/outbox-publisher';
import { OutboxAudit } from '../../../../functions/runtime/sweeper/outbox-audit';
import { OutboxSweeper } from '../../../../functions/runtime/sweeper/outbox-sweeper';
import { InMemoryDynamoDb } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { OUTBOX_INDEXES, OUTBOX_KEY } from '../../../../tools/dynamodb/outbox-table';
import { beforeEvery } from '../../support/dynamo-faults';

// The lean outbox (issue 22): the producer writes no index entry, the relay marks only what it could not send, and
// the outbox audit marks what nobody processed; the sweep sends whatever is marked.

const OUTBOX = 'outbox';
const BUSINESS = 'business';
const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const ddb = mockClient(DynamoDBDocumentClient);
const sqs = mockClient(SQSClient);

let db: InMemoryDynamoDb;
let now: Date;
let queueUp: boolean;
let sent: string[];
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};

const relayCore = (
  problems: RelayProblem[] = [],
  hooks?: ConstructorParameters<typeof OutboxPublisher>[0]['hooks'],
) =>
  new OutboxPublisher({
    sqs: new SQSClient({ region: 'us-east-1' }),
    dynamodb,
    queueUrl: QUEUE_URL,
    outboxTableName: OUTBOX,
    onProblem: (problem) => problems.push(problem),
    transientRetry: { maxAttempts: 1 },
    ...(hooks === undefined ? {} : { hooks }),
  });
const sweeper = () =>
  new OutboxSweeper({
    dynamodb,
    sns: new SNSClient({ region: 'us-east-1' }),
    relay: relayCore(),
    outboxTableName: OUTBOX,
    alertTopicArn: 'arn:aws:sns:us-east-1:123456789012:alerts',
    clock: () => now,
  });
const audit = (policy = {}) =>
  new OutboxAudit({ dynamodb, outboxTableName: OUTBOX, clock: () => now, policy });

async function commit(groupKey: string, sequence: number): Promise<OutboxItem> {
  await new OutboxWriter(dynamodb, OUTBOX, () => now).commit(
    [
      {
        Update: {
          TableName: BUSINESS,
          Key: { pk: groupKey },
          UpdateExpression: 'SET version = :sequence',
          ExpressionAttributeValues: { ':sequence': sequence },
        },
      },
    ],
    { groupKey, sequence, type: 'NoteAdded', payload: { text: `note ${sequence}` } },
  );
  return db.item(OUTBOX, { groupKey, sequence }) as unknown as OutboxItem;
}
const candidates = (...items: OutboxItem[]) => items.map((item) => ({ recordId: item.messageId, item }));
const outbox = () => db.all(OUTBOX) as unknown as OutboxItem[];

beforeEach(() => {
  ddb.reset();
  sqs.reset();
  db = new InMemoryDynamoDb({ [OUTBOX]: OUTBOX_KEY, [BUSINESS]: ['pk'] }, { [OUTBOX]: OUTBOX_INDEXES });
  db.scanBilledBySize = true;
  db.install(ddb);
  now = new Date('2026-12-01T12:00:00.000Z');
  queueUp = true;
  sent = [];
  sqs.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
    if (!queueUp) throw Object.assign(new Error('queue unavailable'), { name: 'QueueDoesNotExist' });
    for (const entry of input.Entries ?? []) {
      const envelope = parseEnvelope(entry.MessageBody ?? '');
      sent.push(`${envelope.groupKey}#${envelope.sequence}`);
    }
    return {
      Successful: (input.Entries ?? []).map((entry) => ({
        Id: entry.Id,
        MessageId: 'm',
        MD5OfMessageBody: 'x',
      })),
      Failed: [],
    };
  });
});

describe('the happy path', () => {
  it('writes 4 units at the producer (a 2-item transaction, no index entry) and 1 at the relay (the delete)', async () => {
    // GIVEN
    const message = await commit('order-1', 1);
    const afterCommit = db.consumedWriteUnits;

    // WHEN
    const result = await relayCore().relay(candidates(message));

    // THEN
    expect(afterCommit).toBe(4);
    expect(message).not.toHaveProperty('sweepShard');
    expect(result.sent).toHaveLength(1);
    expect(db.consumedWriteUnits - afterCommit).toBe(1);
    expect(outbox()).toEqual([]);
  });
});

describe('a message the relay could not send', () => {
  it('is marked for the sweep with its error, and so is every later message of its key; the sweep sends them in order', async () => {
    // GIVEN
    const first = await commit('order-1', 1);
    const second = await commit('order-1', 2);
    queueUp = false;

    // WHEN
    const result = await relayCore().relay(candidates(first, second));

    // THEN
    expect(result.marked).toBe(2);
    expect(outbox()).toEqual([
      expect.objectContaining({
        ...unsentMessageAttributes('order-1', 1),
        lastError: 'QueueDoesNotExist: queue unavailable',
      }),
      expect.objectContaining(unsentMessageAttributes('order-1', 2)),
    ]);

    // WHEN the queue is back and the sweep runs past its grace period
    queueUp = true;
    advance(600);
    const report = await sweeper().sweep();

    // THEN
    expect(report.resent).toBe(2);
    expect(sent).toEqual(['order-1#1', 'order-1#2']);
    expect(outbox()).toEqual([]);
  });

  it('is not marked again when it is in the index already (a message the sweep is sending)', async () => {
    // GIVEN
    const message = { ...(await commit('order-1', 1)), ...unsentMessageAttributes('order-1', 1) };
    db.patch(OUTBOX, { groupKey: 'order-1', sequence: 1 }, { ...unsentMessageAttributes('order-1', 1) });
    queueUp = false;

    // WHEN
    const result = await relayCore().relay(candidates(message));

    // THEN
    expect(result.marked).toBe(0);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('is not brought back by its mark when someone sent and deleted it meanwhile', async () => {
    // GIVEN
    const message = await commit('order-1', 1);
    queueUp = false;
    beforeEvery(db, 'Update', () => db.remove(OUTBOX, { groupKey: 'order-1', sequence: 1 }));

    // WHEN
    const problems: RelayProblem[] = [];
    const result = await relayCore(problems).relay(candidates(message));

    // THEN
    expect(result.marked).toBe(0);
    expect(result.failed).toHaveLength(1);
    expect(problems.map((problem) => problem.kind)).toEqual(['send-failed']);
    expect(outbox()).toEqual([]);
  });

  it('reports a mark that failed for another reason, and still reports the message failed (the audit finds it)', async () => {
    // GIVEN
    const message = await commit('order-1', 1);
    queueUp = false;
    beforeEvery(db, 'Update', () => {
      throw Object.assign(new Error('access denied'), { name: 'AccessDeniedException' });
    });

    // WHEN
    const problems: RelayProblem[] = [];
    const result = await relayCore(problems).relay(candidates(message));

    // THEN
    expect(result.marked).toBe(0);
    expect(result.failed).toHaveLength(1);
    expect(problems).toContainEqual(
      expect.objectContaining({ kind: 'mark-failed', groupKey: 'order-1', sequence: 1 }),
    );
    expect(outbox()[0]).not.toHaveProperty('sweepShard');

    // WHEN the audit runs past the grace period
    advance(600);
    const report = await audit().audit();

    // THEN
    expect(report.marked).toBe(1);
    expect(outbox()[0]).toMatchObject(unsentMessageAttributes('order-1', 1));
  });
});

describe('a stream record the relay never processed', () => {
  it('is marked by the audit once past its grace period, and the sweep then sends the key in order', async () => {
    // GIVEN: committed, never relayed (the mapping failed, was disabled, or the record aged out)
    await commit('order-1', 1);
    await commit('order-1', 2);
    await commit('order-2', 1);

    // WHEN the audit runs within the grace period
    advance(60);
    const early = await audit().audit();

    // THEN it leaves them to the relay
    expect(early).toMatchObject({ audited: true, scanned: 3, marked: 0, complete: true });

    // WHEN it runs past the grace period, then the sweep
    advance(120);
    const late = await audit().audit();
    advance(1);
    const report = await sweeper().sweep();

    // THEN
    expect(late.marked).toBe(3);
    expect(report.resent).toBe(3);
    expect(sent.filter((key) => key.startsWith('order-1'))).toEqual(['order-1#1', 'order-1#2']);
    expect(outbox()).toEqual([]);
  });

  it('leaves alone what is marked already, FAILED messages and half messages', async () => {
    // GIVEN
    await commit('order-1', 1);
    db.patch(OUTBOX, { groupKey: 'order-1', sequence: 1 }, { ...unsentMessageAttributes('order-1', 1) });
    await commit('order-2', 1);
    db.patch(OUTBOX, { groupKey: 'order-2', sequence: 1 }, { status: 'FAILED' });
    db.seed(OUTBOX, {
      groupKey: 'TX#t-1',
      sequence: 0,
      transactionId: 't-1',
      status: 'COMMITTED',
      createdAt: now.toISOString(),
    });
    advance(600);

    // WHEN
    const report = await audit().audit();

    // THEN
    expect(report).toMatchObject({ scanned: 3, marked: 0 });
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
  });

  it('never brings back a message the relay deleted after the Scan read it', async () => {
    // GIVEN
    await commit('order-1', 1);
    advance(600);
    beforeEvery(db, 'Update', () => db.remove(OUTBOX, { groupKey: 'order-1', sequence: 1 }));

    // WHEN
    const report = await audit().audit();

    // THEN
    expect(report.marked).toBe(0);
    expect(outbox()).toEqual([]);
  });
});

describe('a relay that crashed between send and delete', () => {
  it('leaves the message unmarked; the audit marks it and the sweep sends it again with the same messageId', async () => {
    // GIVEN
    const message = await commit('order-1', 1);
    const crashing = relayCore([], {
      beforeDelete: async () => {
        throw new Error('crashed');
      },
    });
    await expect(crashing.relay(candidates(message))).rejects.toThrow('crashed');
    expect(outbox()[0]).not.toHaveProperty('sweepShard');

    // WHEN
    advance(600);
    await audit().audit();
    const report = await sweeper().sweep();

    // THEN
    expect(report.resent).toBe(1);
    expect(sent).toEqual(['order-1#1', 'order-1#1']);
    expect(outbox()).toEqual([]);
  });
});

describe('the audit', () => {
  it('reads half a unit per segment of an empty outbox', async () => {
    // WHEN
    const report = await audit({ segments: 4 }).audit();

    // THEN
    expect(report).toMatchObject({
      audited: true,
      scanned: 0,
      marked: 0,
      readCapacityUnits: 2,
      complete: true,
    });
    expect(
      ddb
        .commandCalls(ScanCommand)
        .map((call) => call.args[0].input.Segment)
        .sort(),
    ).toEqual([0, 1, 2, 3]);
  });

  it('audits again only once its interval has passed since its last complete audit', async () => {
    // GIVEN
    const auditor = audit({ intervalSeconds: 600 });

    // WHEN
    const first = await auditor.auditIfDue();
    advance(599);
    const second = await auditor.auditIfDue();
    advance(1);
    const third = await auditor.auditIfDue();

    // THEN
    expect([first.audited, second.audited, third.audited]).toEqual([true, false, true]);
  });

  it('stops before its time is up and reports an incomplete audit, which the next run repeats', async () => {
    // GIVEN
    const auditor = audit({ intervalSeconds: 600, stopBeforeTimeoutSeconds: 30 });

    // WHEN
    const cut = await auditor.auditIfDue({ remainingTimeMs: () => 10_000 });
    const next = await auditor.auditIfDue();

    // THEN
    expect(cut).toMatchObject({ audited: true, complete: false });
    expect(next).toMatchObject({ audited: true, complete: true });
  });

  it('marks many messages per write, several writes at once, never more than its markConcurrency', async () => {
    // GIVEN 40 messages nobody marked, past the grace period, and writes that take a while each
    for (let sequence = 1; sequence <= 40; sequence++)
      await commit(`k${sequence % 8}`, Math.ceil(sequence / 8));
    advance(600);
    let inFlight = 0;
    let most = 0;
    ddb.on(TransactWriteCommand).callsFake(async (input) => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inFlight--;
      return db.transactWrite(input);
    });

    // WHEN one segment audits them, 5 messages per write, 2 writes at a time
    const committed = ddb.commandCalls(TransactWriteCommand).length;
    const report = await audit({ segments: 1, markBatchSize: 5, markConcurrency: 2 }).audit();

    // THEN all are marked, in 8 writes, with 2 in flight at the most
    expect(report).toMatchObject({ scanned: 40, marked: 40, complete: true });
    expect(ddb.commandCalls(TransactWriteCommand).length - committed).toBe(8);
    expect(most).toBe(2);
    expect(outbox().every((item) => item.sweepShard !== undefined)).toBe(true);
  });

  it('marks the rest of a write when one of its messages was sent and deleted since the Scan read it', async () => {
    // GIVEN three messages nobody marked, the second deleted by the relay between the Scan and the mark
    const items = [await commit('k', 1), await commit('k', 2), await commit('k', 3)];
    advance(600);
    const scan = db.scan.bind(db);
    ddb.on(ScanCommand).callsFake(async (input) => {
      const page = await scan(input);
      db.remove(OUTBOX, { groupKey: 'k', sequence: 2 });
      return page;
    });

    // WHEN
    const report = await audit({ segments: 1 }).audit();

    // THEN the other two are marked, and the deleted one is not brought back
    expect(report).toMatchObject({ scanned: 3, marked: 2 });
    expect(outbox().map((item) => [item.sequence, item.sweepShard !== undefined])).toEqual([
      [1, true],
      [3, true],
    ]);
    expect(items).toHaveLength(3);
  });

  it('fails on a policy it cannot use, naming the value', () => {
    expect(() => audit({ segments: 0 })).toThrow('segments must be an integer ≥ 1; got 0');
    expect(() => audit({ graceSeconds: -1 })).toThrow('graceSeconds must be a number ≥ 0; got -1');
    expect(() => audit({ markConcurrency: 0 })).toThrow('markConcurrency must be an integer ≥ 1; got 0');
    expect(() => audit({ markBatchSize: 101 })).toThrow('markBatchSize must be at most 100');
  });
});
