import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { InvalidEnvelopeError } from '../../../../functions/runtime/errors';
import { type OutboxItem, parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import {
  OutboxPublisher,
  type RelayProblem,
  type RelayResult,
  sendRounds,
} from '../../../../functions/runtime/relay/outbox-publisher';
import { type RelayCandidate, relayCandidates } from '../../../../functions/runtime/relay/stream-records';
import type { LostAnswer } from '../../../../tools/dynamodb/in-memory-dynamodb';
import { outboxTable } from '../../../../tools/dynamodb/outbox-table';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';
const OUTBOX_TABLE = 'outbox-table';
const CREATED_AT = '2026-03-01T12:00:00.000Z';

const sqs = mockClient(SQSClient);
const ddb = mockClient(DynamoDBDocumentClient);

function outboxItem(
  groupKey: string,
  sequence: number,
  payload: unknown = { groupKey, sequence },
): OutboxItem {
  return {
    groupKey,
    sequence,
    messageId: `msg-${groupKey}-${sequence}`,
    type: 'OrderNoteAdded',
    payload: JSON.stringify(payload),
    status: 'PENDING',
    attempts: 0,
    createdAt: CREATED_AT,
  };
}

function candidate(groupKey: string, sequence: number, payload?: unknown): RelayCandidate {
  return { recordId: `record-${groupKey}-${sequence}`, item: outboxItem(groupKey, sequence, payload) };
}

function messageIds(candidates: readonly RelayCandidate[]): string[] {
  return candidates.map((c) => c.item.messageId);
}

function newRelay(problems: RelayProblem[] = []): OutboxPublisher {
  return new OutboxPublisher({
    sqs: new SQSClient({ region: 'us-east-1' }),
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    queueUrl: QUEUE_URL,
    outboxTableName: OUTBOX_TABLE,
    onProblem: (problem) => problems.push(problem),
  });
}

/** SQS accepts every entry except those whose deduplication id (= messageId) is listed. */
function sqsRejecting(...rejectedMessageIds: string[]) {
  return (input: SendMessageBatchCommandInput): SendMessageBatchCommandOutput => {
    const entries = input.Entries ?? [];
    const rejected = entries.filter((entry) =>
      rejectedMessageIds.includes(entry.MessageDeduplicationId ?? ''),
    );
    const accepted = entries.filter((entry) => !rejected.includes(entry));
    return {
      $metadata: {},
      Successful: accepted.map((entry) => ({
        Id: entry.Id,
        MessageId: `sqs-${entry.Id}`,
        MD5OfMessageBody: 'md5',
      })),
      Failed: rejected.map((entry) => ({
        Id: entry.Id,
        SenderFault: false,
        Code: 'InternalError',
        Message: 'try again',
      })),
    };
  };
}

function sentBatches(): SendMessageBatchCommandInput[] {
  return sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);
}

function sentDeduplicationIds(): string[][] {
  return sentBatches().map((batch) =>
    (batch.Entries ?? []).map((entry) => entry.MessageDeduplicationId ?? ''),
  );
}

type DeleteRequests = NonNullable<BatchWriteCommandInput['RequestItems']>[string];

function deleteRequests(): DeleteRequests[] {
  return ddb
    .commandCalls(BatchWriteCommand)
    .map((call) => call.args[0].input.RequestItems?.[OUTBOX_TABLE] ?? []);
}

function deletedKeys(): string[] {
  return deleteRequests()
    .flat()
    .map(
      (request) =>
        `${String(request.DeleteRequest?.Key?.groupKey)}#${String(request.DeleteRequest?.Key?.sequence)}`,
    );
}

/** Runs the relay to the end, letting the retry back-off timers pass instantly. */
/** Throttling that outlasted the SDK's retries. */
function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400, attempts: 3 },
  });
}

async function relayWithFakeTimers(
  relay: OutboxPublisher,
  candidates: readonly RelayCandidate[],
): Promise<RelayResult> {
  vi.useFakeTimers();
  const relaying = relay.relay(candidates);
  await vi.runAllTimersAsync();
  return relaying;
}

beforeEach(() => {
  sqs.reset();
  ddb.reset();
  sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting());
  ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
});

afterEach(() => {
  vi.useRealTimers();
});

describe('OutboxPublisher.relay', () => {
  describe('what it sends', () => {
    it('sends each message with MessageGroupId = groupKey, MessageDeduplicationId = messageId and the envelope as body', async () => {
      // GIVEN
      const relay = newRelay();
      const message = candidate('order-1', 3, { orderId: 'order-1', text: 'hi' });

      // WHEN
      await relay.relay([message]);

      // THEN
      const [batch] = sentBatches();
      expect(batch?.QueueUrl).toBe(QUEUE_URL);
      expect(batch?.Entries).toHaveLength(1);
      const entry = batch?.Entries?.[0];
      expect(entry).toMatchObject({ MessageGroupId: 'order-1', MessageDeduplicationId: 'msg-order-1-3' });
      expect(JSON.parse(entry?.MessageBody ?? '')).toEqual({
        messageId: 'msg-order-1-3',
        groupKey: 'order-1',
        sequence: 3,
        type: 'OrderNoteAdded',
        payload: { orderId: 'order-1', text: 'hi' },
        createdAt: CREATED_AT,
      });
    });

    it("sends at most 10 messages per SendMessageBatch, each key's in stream order, in as many batches as needed", async () => {
      // GIVEN 23 messages over 4 keys, interleaved as a stream has them
      const relay = newRelay();
      const candidates = Array.from({ length: 23 }, (_, index) =>
        candidate(`key-${index % 4}`, Math.floor(index / 4) + 1),
      );

      // WHEN
      const result = await relay.relay(candidates);

      // THEN three batches, as 23 messages need
      expect(sentDeduplicationIds().map((ids) => ids.length)).toEqual([10, 10, 3]);
      expect(sentDeduplicationIds().flat().sort()).toEqual(messageIds(candidates).sort());
      for (const key of ['key-0', 'key-1', 'key-2', 'key-3']) {
        const ofKey = messageIds(candidates.filter((c) => c.item.groupKey === key));
        expect(
          sentDeduplicationIds()
            .flat()
            .filter((id) => ofKey.includes(id)),
        ).toEqual(ofKey);
        expect(messageIds(result.sent).filter((id) => ofKey.includes(id))).toEqual(ofKey);
      }
      expect(result.failed).toEqual([]);
    });

    it('sends nothing and deletes nothing when there is nothing to relay', async () => {
      // GIVEN
      const relay = newRelay();

      // WHEN
      const result = await relay.relay([]);

      // THEN
      expect(result).toEqual({ sent: [], failed: [], failures: [], notDeleted: 0, marked: 0 });
      expect(sqs.calls()).toHaveLength(0);
      expect(ddb.calls()).toHaveLength(0);
    });
  });

  describe('reading Failed[]', () => {
    it('reports the entries listed in Failed[] as failed and the others as sent', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      const candidates = [candidate('a', 1), candidate('b', 1), candidate('c', 1)];
      sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-b-1'));

      // WHEN
      const result = await relay.relay(candidates);

      // THEN
      expect(messageIds(result.sent)).toEqual(['msg-a-1', 'msg-c-1']);
      expect(result.failed).toEqual([candidates[1]]);
      expect(problems).toEqual([
        {
          kind: 'send-failed',
          messageId: 'msg-b-1',
          groupKey: 'b',
          sequence: 1,
          error: 'InternalError: try again',
        },
      ]);
    });

    it('treats an entry SQS confirmed neither as successful nor as failed as not sent', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      const candidates = [candidate('a', 1), candidate('b', 1)];
      sqs
        .on(SendMessageBatchCommand)
        .resolves({ Successful: [{ Id: '0', MessageId: 'x', MD5OfMessageBody: 'md5' }], Failed: [] });

      // WHEN
      const result = await relay.relay(candidates);

      // THEN
      expect(messageIds(result.sent)).toEqual(['msg-a-1']);
      expect(messageIds(result.failed)).toEqual(['msg-b-1']);
      expect(problems).toEqual([expect.objectContaining({ kind: 'send-failed', messageId: 'msg-b-1' })]);
    });

    it('fails every message of a chunk whose SendMessageBatch threw, and goes on with the next chunk', async () => {
      // GIVEN a deterministic error (retrying it would not help)
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      const firstChunk = Array.from({ length: 10 }, (_, index) => candidate(`key-${index}`, 1));
      const secondChunk = [candidate('other', 1)];
      sqs
        .on(SendMessageBatchCommand)
        .rejectsOnce(
          Object.assign(new Error('not authorized'), {
            name: 'AccessDeniedException',
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          }),
        )
        .callsFake(sqsRejecting());

      // WHEN
      const result = await relay.relay([...firstChunk, ...secondChunk]);

      // THEN
      expect(sentBatches()).toHaveLength(2);
      expect(result.failed).toEqual(firstChunk);
      expect(result.sent).toEqual(secondChunk);
      expect(problems).toHaveLength(10);
      expect(problems[0]).toEqual({
        kind: 'send-failed',
        messageId: 'msg-key-0-1',
        groupKey: 'key-0',
        sequence: 1,
        error: 'AccessDeniedException: not authorized',
      });
    });

    it('retries a SendMessageBatch that failed for a transient reason, in-process, and counts its messages sent', async () => {
      // GIVEN throttling that outlasted the SDK's retries, then a connection reset
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      const candidates = [candidate('a', 1), candidate('a', 2), candidate('b', 1)];
      sqs
        .on(SendMessageBatchCommand)
        .rejectsOnce(throttled())
        .rejectsOnce(Object.assign(new Error('connection reset'), { name: 'NetworkingError' }))
        .callsFake(sqsRejecting());
      ddb.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });

      // WHEN
      const result = await relayWithFakeTimers(relay, candidates);

      // THEN the same batch went out three times (SQS deduplicates by messageId), and nothing failed
      expect(sentDeduplicationIds()).toEqual([
        ['msg-a-1', 'msg-a-2', 'msg-b-1'],
        ['msg-a-1', 'msg-a-2', 'msg-b-1'],
        ['msg-a-1', 'msg-a-2', 'msg-b-1'],
      ]);
      expect(result.sent).toEqual(candidates);
      expect(result.failed).toEqual([]);
      expect(problems).toEqual([]);
    });

    it('fails the chunk, reporting the last error, when a transient failure outlasts the time left', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      sqs.on(SendMessageBatchCommand).rejects(throttled());

      // WHEN the invocation has less than the reserve left
      const result = await relay.relay([candidate('a', 1)], { remainingTimeMs: () => 500 });

      // THEN one attempt, and the message fails (its stream record is retried)
      expect(sentBatches()).toHaveLength(1);
      expect(result.failed).toEqual([candidate('a', 1)]);
      expect(problems).toEqual([
        {
          kind: 'send-failed',
          messageId: 'msg-a-1',
          groupKey: 'a',
          sequence: 1,
          error: 'ThrottlingException: Rate exceeded',
        },
      ]);
    });
  });

  describe('order per key', () => {
    it("fails the rest of a key's messages after the first failure, even those SQS accepted", async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      const candidates = [
        candidate('a', 1),
        candidate('a', 2),
        candidate('b', 1),
        candidate('a', 3),
        candidate('b', 2),
      ];
      sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-a-2'));

      // WHEN
      const result = await relay.relay(candidates);

      // THEN
      expect(messageIds(result.sent)).toEqual(['msg-a-1', 'msg-b-1', 'msg-b-2']);
      expect(messageIds(result.failed)).toEqual(['msg-a-2', 'msg-a-3']);
      expect(problems).toEqual([
        {
          kind: 'send-failed',
          messageId: 'msg-a-2',
          groupKey: 'a',
          sequence: 2,
          error: 'InternalError: try again',
        },
        { kind: 'blocked-behind-failure', messageId: 'msg-a-3', groupKey: 'a', sequence: 3 },
      ]);
    });

    it("does not send a failed key's later messages in later rounds, but still sends the other keys", async () => {
      // GIVEN key a has 11 messages (two rounds), b one; SQS refuses a1
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      const ofA = Array.from({ length: 11 }, (_, index) => candidate('a', index + 1));
      sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-a-1'));

      // WHEN
      const result = await relay.relay([...ofA, candidate('b', 1)]);

      // THEN a11 is never sent; b1 is
      expect(sentDeduplicationIds().flat()).not.toContain('msg-a-11');
      expect(sentDeduplicationIds().flat()).toContain('msg-b-1');
      expect(messageIds(result.sent)).toEqual(['msg-b-1']);
      expect(messageIds(result.failed)).toEqual(messageIds(ofA));
      expect(problems).toContainEqual({
        kind: 'blocked-behind-failure',
        messageId: 'msg-a-11',
        groupKey: 'a',
        sequence: 11,
      });
    });

    it("sends a key's next batch only after its previous batch was answered", async () => {
      // GIVEN key a has 15 messages (two rounds); b and c one each; every answer takes a few ticks
      const events: string[] = [];
      sqs.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
        const first = input.Entries?.[0]?.MessageDeduplicationId ?? '';
        events.push(`start ${first}`);
        for (let tick = 0; tick < 5; tick++) await new Promise((resolve) => setImmediate(resolve));
        events.push(`end ${first}`);
        return sqsRejecting()(input);
      });
      const candidates = [
        ...Array.from({ length: 15 }, (_, index) => candidate('a', index + 1)),
        ...Array.from({ length: 10 }, (_, index) => candidate(`k${index}`, 1)),
      ];

      // WHEN
      const result = await newRelay().relay(candidates);

      // THEN a11's batch starts after a1's batch was answered
      expect(events.indexOf('start msg-a-11')).toBeGreaterThan(events.indexOf('end msg-a-1'));
      expect(result.sent).toHaveLength(25);
    });

    it('sends the batches of a round at once, at most `sendConcurrency` at a time', async () => {
      // GIVEN 6 keys of 10 messages: six batches of disjoint keys
      let inFlight = 0;
      let mostInFlight = 0;
      sqs.on(SendMessageBatchCommand).callsFake(async (input: SendMessageBatchCommandInput) => {
        inFlight++;
        mostInFlight = Math.max(mostInFlight, inFlight);
        for (let tick = 0; tick < 5; tick++) await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        return sqsRejecting()(input);
      });
      const candidates = ['a', 'b', 'c', 'd', 'e', 'f'].flatMap((key) =>
        Array.from({ length: 10 }, (_, index) => candidate(key, index + 1)),
      );
      const relayOf = (sendConcurrency?: number) =>
        new OutboxPublisher({
          sqs: new SQSClient({ region: 'us-east-1' }),
          dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
          queueUrl: QUEUE_URL,
          outboxTableName: OUTBOX_TABLE,
          ...(sendConcurrency === undefined ? {} : { sendConcurrency }),
        });

      // WHEN by default
      await relayOf().relay(candidates);

      // THEN five at once
      expect(mostInFlight).toBe(5);

      // WHEN one at a time
      mostInFlight = 0;
      await relayOf(1).relay(candidates);

      // THEN
      expect(mostInFlight).toBe(1);
      expect(sentBatches()).toHaveLength(12);
    });

    it.each([0, -1, 1.5, Number.NaN])('fails if sendConcurrency is %s', (sendConcurrency) => {
      expect(
        () =>
          new OutboxPublisher({
            sqs: new SQSClient({ region: 'us-east-1' }),
            dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
            queueUrl: QUEUE_URL,
            outboxTableName: OUTBOX_TABLE,
            sendConcurrency,
          }),
      ).toThrow(/sendConcurrency must be a whole number ≥ 1; got /);
    });

    it('sends no batch at all for a chunk whose messages all belong to failed keys', async () => {
      // GIVEN
      const relay = newRelay();
      const firstChunk = Array.from({ length: 10 }, (_, index) => candidate('a', index + 1));
      const secondChunk = [candidate('a', 11), candidate('a', 12)];
      sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-a-1'));

      // WHEN
      const result = await relay.relay([...firstChunk, ...secondChunk]);

      // THEN
      expect(sentBatches()).toHaveLength(1);
      expect(result.sent).toEqual([]);
      expect(result.failed).toEqual([...firstChunk, ...secondChunk]);
    });

    it('returns the failed messages in stream order', async () => {
      // GIVEN
      const relay = newRelay();
      const candidates = [candidate('a', 1), candidate('b', 1), candidate('a', 2), candidate('b', 2)];
      sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-b-1', 'msg-a-1'));

      // WHEN
      const result = await relay.relay(candidates);

      // THEN
      expect(result.failed).toEqual(candidates);
    });
  });

  describe('deleting sent messages from the outbox', () => {
    it('deletes exactly the sent messages, by groupKey and sequence', async () => {
      // GIVEN
      const relay = newRelay();
      sqs.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-b-1'));

      // WHEN
      const result = await relay.relay([
        candidate('a', 1),
        candidate('b', 1),
        candidate('b', 2),
        candidate('c', 4),
      ]);

      // THEN
      expect(deleteRequests()).toEqual([
        [
          { DeleteRequest: { Key: { groupKey: 'a', sequence: 1 } } },
          { DeleteRequest: { Key: { groupKey: 'c', sequence: 4 } } },
        ],
      ]);
      expect(result.notDeleted).toBe(0);
    });

    it('deletes nothing when nothing was sent', async () => {
      // GIVEN
      const relay = newRelay();
      sqs.on(SendMessageBatchCommand).rejects(new Error('queue unavailable'));

      // WHEN
      const result = await relay.relay([candidate('a', 1)]);

      // THEN
      expect(ddb.commandCalls(BatchWriteCommand)).toHaveLength(0);
      expect(result.notDeleted).toBe(0);
    });

    it('deletes at most 25 items per BatchWriteItem', async () => {
      // GIVEN
      const relay = newRelay();
      const candidates = Array.from({ length: 60 }, (_, index) => candidate(`key-${index}`, 1));

      // WHEN
      await relay.relay(candidates);

      // THEN
      expect(deleteRequests().map((requests) => requests.length)).toEqual([25, 25, 10]);
      expect(deletedKeys().sort()).toEqual(candidates.map((c) => `${c.item.groupKey}#1`).sort());
    });

    it('retries the unprocessed deletes, and only those', async () => {
      // GIVEN
      const relay = newRelay();
      const unprocessed = [
        { DeleteRequest: { Key: { groupKey: 'b', sequence: 1 } } },
        { DeleteRequest: { Key: { groupKey: 'c', sequence: 1 } } },
      ];
      ddb
        .on(BatchWriteCommand)
        .resolvesOnce({ UnprocessedItems: { [OUTBOX_TABLE]: unprocessed } })
        .resolves({ UnprocessedItems: {} });

      // WHEN
      const result = await relayWithFakeTimers(relay, [
        candidate('a', 1),
        candidate('b', 1),
        candidate('c', 1),
      ]);

      // THEN
      expect(deleteRequests()).toHaveLength(2);
      expect(deleteRequests()[1]).toEqual(unprocessed);
      expect(result.notDeleted).toBe(0);
    });

    it('reports the items it could not delete after its retries, and still counts their messages as sent', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      ddb
        .on(BatchWriteCommand)
        .callsFake((input: BatchWriteCommandInput) => ({ UnprocessedItems: input.RequestItems }));

      // WHEN
      const result = await relayWithFakeTimers(relay, [candidate('a', 1), candidate('b', 1)]);

      // THEN
      expect(deleteRequests()).toHaveLength(5);
      expect(result.notDeleted).toBe(2);
      expect(messageIds(result.sent)).toEqual(['msg-a-1', 'msg-b-1']);
      expect(result.failed).toEqual([]);
      expect(problems).toEqual([{ kind: 'delete-failed', count: 2, error: 'unprocessed items' }]);
    });

    it('retries after a thrown BatchWriteItem error and reports the last error when it keeps failing', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      ddb
        .on(BatchWriteCommand)
        .rejects(Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' }));

      // WHEN
      const result = await relayWithFakeTimers(relay, [candidate('a', 1)]);

      // THEN
      expect(deleteRequests()).toHaveLength(5);
      expect(result.notDeleted).toBe(1);
      expect(problems).toEqual([
        { kind: 'delete-failed', count: 1, error: 'ThrottlingException: rate exceeded' },
      ]);
    });

    it('succeeds when a delete goes through on a retry after a thrown error', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      ddb
        .on(BatchWriteCommand)
        .rejectsOnce(
          Object.assign(new Error('internal error'), {
            name: 'InternalServerError',
            $fault: 'server',
            $metadata: { httpStatusCode: 500 },
          }),
        )
        .resolves({ UnprocessedItems: {} });

      // WHEN
      const result = await relayWithFakeTimers(relay, [candidate('a', 1)]);

      // THEN
      expect(deleteRequests()).toHaveLength(2);
      expect(result.notDeleted).toBe(0);
      expect(problems).toEqual([]);
    });

    it.each<LostAnswer>(['server-error', 'timeout', 'sdk-retry'])(
      'deletes the sent messages once, reports none left and nothing wrong, when the answer to the delete was lost (%s)',
      async (outcome) => {
        // GIVEN an outbox holding the sent messages and a later message of the same key, committed meanwhile
        const table = outboxTable(OUTBOX_TABLE);
        table.db.install(ddb);
        table.seed({ ...outboxItem('a', 1) }, { ...outboxItem('a', 2) }, { ...outboxItem('b', 1) });
        table.db.loseAnswer('BatchWrite', () => true, outcome);
        const problems: RelayProblem[] = [];

        // WHEN
        const result = await newRelay(problems).relay([candidate('a', 1), candidate('b', 1)]);

        // THEN
        expect(table.db.lostAnswerCount).toBe(1);
        expect(messageIds(result.sent)).toEqual(['msg-a-1', 'msg-b-1']);
        expect(result).toMatchObject({ failed: [], notDeleted: 0 });
        expect(problems).toEqual([]);
        expect(table.all()).toEqual([outboxItem('a', 2)]);
      },
    );

    it('gives up at once on a deterministic delete error, reporting it', async () => {
      // GIVEN
      const problems: RelayProblem[] = [];
      const relay = newRelay(problems);
      ddb.on(BatchWriteCommand).rejects(
        Object.assign(new Error('no such table'), {
          name: 'ResourceNotFoundException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
      );

      // WHEN
      const result = await relayWithFakeTimers(relay, [candidate('a', 1)]);

      // THEN
      expect(deleteRequests()).toHaveLength(1);
      expect(result.notDeleted).toBe(1);
      expect(problems).toEqual([
        { kind: 'delete-failed', count: 1, error: 'ResourceNotFoundException: no such table' },
      ]);
    });
  });
});

describe('sendRounds', () => {
  const sequences = (rounds: RelayCandidate[][][]) =>
    rounds.map((round) => round.map((chunk) => chunk.map((c) => `${c.item.groupKey}${c.item.sequence}`)));

  it("keeps a key's order and puts at most 10 of its messages in a round", () => {
    // GIVEN
    const candidates = Array.from({ length: 21 }, (_, index) => candidate('a', index + 1));

    // WHEN
    const rounds = sendRounds(candidates);

    // THEN
    expect(rounds.map((round) => round.map((chunk) => chunk.length))).toEqual([[10], [10], [1]]);
    expect(rounds.flat(2)).toEqual(candidates);
  });

  it('packs keys into full chunks of one round; what of a key does not fit waits for the next round', () => {
    // GIVEN three keys of six messages each, interleaved
    const candidates = Array.from({ length: 18 }, (_, index) =>
      candidate(['a', 'b', 'c'][index % 3]!, Math.floor(index / 3) + 1),
    );

    // WHEN
    const rounds = sendRounds(candidates);

    // THEN
    expect(sequences(rounds)).toEqual([
      [
        ['a1', 'a2', 'a3', 'a4', 'a5', 'a6', 'b1', 'b2', 'b3', 'b4'],
        ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'],
      ],
      [['b5', 'b6']],
    ]);
  });

  it('never puts a key in two chunks of one round, keeps every key in stream order and adds at most one chunk a round', () => {
    // GIVEN 500 messages over 37 keys with sizes that also hit the byte limit
    let seed = 7;
    const random = () => {
      seed = (seed * 48271) % 2147483647;
      return seed / 2147483647;
    };
    const nextSequence = new Map<string, number>();
    const candidates = Array.from({ length: 500 }, () => {
      const key = `k${Math.floor(random() * 37)}`;
      const sequence = (nextSequence.get(key) ?? 0) + 1;
      nextSequence.set(key, sequence);
      return candidate(key, sequence, 'x'.repeat(Math.floor(random() * 60 * 1024)));
    });

    // WHEN
    const rounds = sendRounds(candidates);

    // THEN
    for (const round of rounds) {
      const keys = round.map((chunk) => new Set(chunk.map((c) => c.item.groupKey)));
      for (const [i, mine] of keys.entries()) {
        for (const other of keys.slice(i + 1)) expect([...mine].filter((key) => other.has(key))).toEqual([]);
      }
      for (const chunk of round) expect(chunk.length).toBeLessThanOrEqual(10);
    }
    for (const key of nextSequence.keys()) {
      const inRounds = rounds.flat(2).filter((c) => c.item.groupKey === key);
      expect(inRounds).toEqual(candidates.filter((c) => c.item.groupKey === key));
    }
    expect(rounds.flat().length).toBeLessThanOrEqual(chunkCountInStreamOrder(candidates) + rounds.length - 1);
  });

  it('starts a new chunk before the bodies would pass 250 KiB', () => {
    // GIVEN
    const big = 'x'.repeat(100 * 1024);
    const candidates = [
      candidate('a', 1, big),
      candidate('a', 2, big),
      candidate('a', 3, big),
      candidate('a', 4, 'small'),
    ];

    // WHEN
    const rounds = sendRounds(candidates);

    // THEN
    expect(sequences(rounds)).toEqual([[['a1', 'a2']], [['a3', 'a4']]]);
  });

  it("starts a new chunk of the same round when the next key's first message would pass 250 KiB", () => {
    // GIVEN
    const candidates = [candidate('a', 1, 'x'.repeat(200 * 1024)), candidate('b', 1, 'y'.repeat(100 * 1024))];

    // WHEN
    const rounds = sendRounds(candidates);

    // THEN one round of two chunks
    expect(sequences(rounds)).toEqual([[['a1'], ['b1']]]);
  });

  it('puts a message bigger than a whole batch in a chunk of its own', () => {
    // GIVEN
    const candidates = [candidate('a', 1), candidate('a', 2, 'y'.repeat(300 * 1024)), candidate('a', 3)];

    // WHEN
    const rounds = sendRounds(candidates);

    // THEN
    expect(sequences(rounds)).toEqual([[['a1']], [['a2']], [['a3']]]);
  });

  it('returns no round for no messages', () => {
    expect(sendRounds([])).toEqual([]);
  });
});

/** How many batches the messages would take sent one after another in stream order (10 or 250 KiB a batch). */
function chunkCountInStreamOrder(candidates: readonly RelayCandidate[]): number {
  let chunks = 0;
  let count = 0;
  let bytes = 0;
  for (const c of candidates) {
    const size =
      Buffer.byteLength(c.item.payload) +
      Buffer.byteLength(c.item.groupKey) +
      Buffer.byteLength(c.item.messageId) +
      2 * Buffer.byteLength(c.item.type) +
      512;
    if (count > 0 && (count === 10 || bytes + size > 250 * 1024)) {
      chunks++;
      count = 0;
      bytes = 0;
    }
    count++;
    bytes += size;
  }
  return count > 0 ? chunks + 1 : chunks;
}

describe('relayCandidates', () => {
  function streamRecord(
    eventName: 'INSERT' | 'MODIFY' | 'REMOVE',
    sequenceNumber: string,
    item: OutboxItem | undefined,
  ): DynamoDBRecord {
    return {
      eventName,
      eventSource: 'aws:dynamodb',
      dynamodb: {
        SequenceNumber: sequenceNumber,
        Keys: { groupKey: { S: 'k' }, sequence: { N: '1' } },
        ...(item === undefined
          ? {}
          : {
              NewImage: {
                groupKey: { S: item.groupKey },
                sequence: { N: String(item.sequence) },
                messageId: { S: item.messageId },
                type: { S: item.type },
                payload: { S: item.payload },
                status: { S: item.status },
                attempts: { N: String(item.attempts) },
                createdAt: { S: item.createdAt },
              },
            }),
      },
    };
  }

  it('passes only INSERTs of PENDING items, in stream order, identified by the stream sequence number', () => {
    // GIVEN
    const first = outboxItem('a', 1);
    const last = outboxItem('b', 2);
    const records = [
      streamRecord('INSERT', '100', first),
      streamRecord('MODIFY', '101', { ...outboxItem('a', 2), attempts: 1 }),
      streamRecord('REMOVE', '102', undefined),
      streamRecord('INSERT', '103', { ...outboxItem('c', 1), status: 'PREPARED' }),
      streamRecord('INSERT', '104', { ...outboxItem('d', 1), status: 'FAILED' }),
      streamRecord('INSERT', '105', last),
    ];

    // WHEN
    const candidates = relayCandidates(records);

    // THEN
    expect(candidates).toEqual([
      { recordId: '100', item: first },
      { recordId: '105', item: last },
    ]);
  });

  it('skips an INSERT that carries no new image', () => {
    // GIVEN
    const records = [streamRecord('INSERT', '100', undefined)];

    // WHEN
    const candidates = relayCandidates(records);

    // THEN
    expect(candidates).toEqual([]);
  });
});

describe('the message envelope', () => {
  it('is what the relay sends, and parses back into the same message on the consumer side', async () => {
    // GIVEN
    const relay = newRelay();
    const message = candidate('order-9', 2, { orderId: 'order-9', items: [{ sku: 'sku-1', quantity: 2 }] });

    // WHEN
    await relay.relay([message]);
    const body = sentBatches()[0]?.Entries?.[0]?.MessageBody ?? '';

    // THEN
    expect(parseEnvelope(body)).toEqual({
      messageId: 'msg-order-9-2',
      groupKey: 'order-9',
      sequence: 2,
      type: 'OrderNoteAdded',
      payload: { orderId: 'order-9', items: [{ sku: 'sku-1', quantity: 2 }] },
      createdAt: CREATED_AT,
    });
  });

  it.each([
    ['not JSON', '{"messageId":'],
    [
      'missing the messageId',
      JSON.stringify({ groupKey: 'a', sequence: 1, type: 'T', payload: {}, createdAt: CREATED_AT }),
    ],
    [
      'with sequence 0',
      JSON.stringify({
        messageId: 'm',
        groupKey: 'a',
        sequence: 0,
        type: 'T',
        payload: {},
        createdAt: CREATED_AT,
      }),
    ],
    [
      'with a text sequence',
      JSON.stringify({
        messageId: 'm',
        groupKey: 'a',
        sequence: '1',
        type: 'T',
        payload: {},
        createdAt: CREATED_AT,
      }),
    ],
    [
      'with an empty groupKey',
      JSON.stringify({
        messageId: 'm',
        groupKey: '',
        sequence: 1,
        type: 'T',
        payload: {},
        createdAt: CREATED_AT,
      }),
    ],
    ['a JSON array', '[]'],
  ])('is refused with InvalidEnvelopeError when the body is %s', (_case, body) => {
    expect(() => parseEnvelope(body)).toThrow(InvalidEnvelopeError);
  });
});
