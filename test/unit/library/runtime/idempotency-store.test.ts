import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { TransactionalProducer } from '../../../../functions/runtime/half/transactional-producer';
import {
  clientRequestToken,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
  requestFingerprint,
  validateIdempotencyKey,
} from '../../../../functions/runtime/idempotency/idempotency-key';
import {
  type IdempotencyClaim,
  IdempotencyStore,
  idempotencyAttachment,
  MAX_CLAIM_RACES,
} from '../../../../functions/runtime/idempotency/idempotency-store';
import { OutboxWriter } from '../../../../functions/runtime/outbox/outbox-writer';
import {
  InMemoryDynamoDb,
  type LostAnswer,
  timeoutAfterWrite,
} from '../../../../tools/dynamodb/in-memory-dynamodb';

const KEYS = 'idempotency-table';
const OUTBOX = 'outbox-table';
const LEDGER = 'ledger-table';
const ORDERS = 'orders-table';
const RETENTION = 24 * 3600;
const LOST_ANSWERS: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];
const isClaimPut = (input: PutCommandInput) => input.TableName === KEYS;
const keyRecord = (key: string) => db.item(KEYS, { idempotencyKey: key });
const START = new Date('2026-03-01T12:00:00.000Z');

const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
let db: InMemoryDynamoDb;
let now: Date;
let store: IdempotencyStore;
let writer: OutboxWriter;

const advance = (seconds: number) => {
  now = new Date(now.getTime() + seconds * 1000);
};

async function claimed(key: string, fingerprint: string): Promise<IdempotencyClaim> {
  const outcome = await store.claim(key, fingerprint);
  if (outcome.kind !== 'claimed') throw new Error(`expected a claim, got ${outcome.kind}`);
  return outcome.claim;
}

/** A change with no condition of its own: only the key's record can stop a second one. */
function commitEntry(claim: IdempotencyClaim, entry: string) {
  return writer.commit(
    [{ Put: { TableName: LEDGER, Item: { entryId: entry } } }],
    {
      groupKey: 'ledger',
      sequence: Number(entry.replace(/\D/g, '')),
      type: 'EntryAdded',
      payload: { entry },
    },
    { idempotency: { claim, response: (message) => ({ statusCode: 201, body: JSON.stringify(message) }) } },
  );
}

beforeEach(() => {
  ddb.reset();
  db = new InMemoryDynamoDb({
    [KEYS]: ['idempotencyKey'],
    [OUTBOX]: ['groupKey', 'sequence'],
    [LEDGER]: ['entryId'],
    [ORDERS]: ['orderId'],
  });
  db.install(ddb);
  now = START;
  store = new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 30, clock: () => now });
  writer = new OutboxWriter(dynamodb, OUTBOX, () => now, { sleep: async () => {} });
});

describe('IdempotencyStore', () => {
  it('a claim whose lease ran out and was taken over cannot commit: the key’s record refuses its transaction', async () => {
    // GIVEN request A claimed the key, then stalled past its lease; request B took the key over
    const a = await claimed('key-1', 'fp');
    advance(30);
    const b = await claimed('key-1', 'fp');

    // WHEN A's transaction finally arrives (its own change has no condition that could stop it)
    const late = commitEntry(a, 'entry-1');

    // THEN it is refused, and nothing of it is written; B commits
    await expect(late).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    expect(db.all(LEDGER)).toEqual([]);
    await commitEntry(b, 'entry-2');
    expect(db.all(LEDGER)).toEqual([{ entryId: 'entry-2' }]);
    // AND once completed, the key answers B's response to anyone asking again
    expect(await store.claim('key-1', 'fp')).toMatchObject({ kind: 'replay', response: { statusCode: 201 } });
  });

  it('a completed key cannot be completed again by another claim’s transaction', async () => {
    // GIVEN
    const a = await claimed('key-1', 'fp');
    await commitEntry(a, 'entry-1');
    const stale: IdempotencyClaim = { ...a, owner: 'another-owner' };

    // WHEN / THEN
    await expect(commitEntry(stale, 'entry-2')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    expect(db.all(LEDGER)).toEqual([{ entryId: 'entry-1' }]);
  });

  it('only one of two concurrent claims of a key wins; the other is told the key is in progress', async () => {
    // WHEN
    const results = await Promise.allSettled([store.claim('key-1', 'fp'), store.claim('key-1', 'fp')]);

    // THEN
    expect(results.map((result) => result.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(results.find((result) => result.status === 'rejected')).toMatchObject({
      reason: expect.any(IdempotencyKeyInProgressError),
    });
  });

  it('refuses the key for another fingerprint, in progress or completed', async () => {
    // GIVEN
    const a = await claimed('key-1', 'fp');

    // WHEN / THEN
    await expect(store.claim('key-1', 'other')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    await commitEntry(a, 'entry-1');
    await expect(store.claim('key-1', 'other')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
  });

  it('release gives an unused claim up, but never a completed key nor one bound to a half message', async () => {
    // GIVEN three keys: unused, completed, bound to an open transaction
    const unused = await claimed('unused', 'fp');
    const completed = await claimed('completed', 'fp');
    await commitEntry(completed, 'entry-1');
    const bound = await claimed('bound', 'fp');
    await db.transactWrite({ TransactItems: [idempotencyAttachment(bound, 'tx-1')] });

    // WHEN
    for (const claim of [unused, completed, bound]) await store.release(claim);

    // THEN
    expect(
      db.all(KEYS).map((record) => [record.idempotencyKey, record.status, record.transactionId]),
    ).toEqual([
      ['completed', 'COMPLETED', undefined],
      ['bound', 'IN_PROGRESS', 'tx-1'],
    ]);
  });

  it('never lets a retry take over a key bound to an open half message, however late', async () => {
    // GIVEN
    const bound = await claimed('bound', 'fp');
    await db.transactWrite({ TransactItems: [idempotencyAttachment(bound, 'tx-1')] });

    // WHEN
    advance(7 * 24 * 3600);

    // THEN at once: a key without a lease is not raced for
    await expect(store.claim('bound', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(2);
  });

  it('holds a claim 30 s and keeps a response 24 h by default, on the system clock', async () => {
    // GIVEN a store with no options but its table, and one on a test clock with only the table's options
    const system = new IdempotencyStore({ dynamodb, tableName: KEYS });
    const before = Math.floor(Date.now() / 1000);
    const claim = await system.claim('system', 'fp');
    const after = Math.floor(Date.now() / 1000);
    expect(claim.kind).toBe('claimed');
    const record = keyRecord('system');
    expect(Number(record?.leaseExpiresAt)).toBeGreaterThanOrEqual(before + 30);
    expect(Number(record?.leaseExpiresAt)).toBeLessThanOrEqual(after + 30);
    expect(Number(record?.expiresAt) - Number(record?.leaseExpiresAt)).toBe(RETENTION - 30);

    const defaults = new IdempotencyStore({ dynamodb, tableName: KEYS, clock: () => now });
    const first = await defaults.claim('key-1', 'fp');
    advance(29);
    await expect(defaults.claim('key-1', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    advance(1);
    const second = await defaults.claim('key-1', 'fp');
    expect(
      second.kind === 'claimed' && first.kind === 'claimed' && second.claim.owner !== first.claim.owner,
    ).toBe(true);
    expect(second).toMatchObject({ claim: { retentionSeconds: RETENTION } });
  });

  it('release never deletes a claim it does not own, and swallows a failure', async () => {
    // GIVEN
    const mine = await claimed('key-1', 'fp');
    const stale: IdempotencyClaim = { ...mine, owner: 'another-owner' };
    // WHEN
    await store.release(stale);
    db.before(
      'Delete',
      () => true,
      () => {
        throw Object.assign(new Error('rate exceeded'), { name: 'ThrottlingException' });
      },
    );
    await expect(store.release(mine)).resolves.toBeUndefined();
    // THEN
    expect(keyRecord('key-1')).toMatchObject({ owner: mine.owner, status: 'IN_PROGRESS' });
  });

  it('refuses a lease or retention that cannot work', () => {
    expect(() => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 0 })).toThrow(
      /leaseSeconds/,
    );
    expect(
      () => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 60, retentionSeconds: 60 }),
    ).toThrow(/retentionSeconds must be > leaseSeconds \(60\); got 60/);
    expect(() => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: -1 })).toThrow(
      'leaseSeconds must be > 0; got -1',
    );
    expect(() => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: Number.NaN })).toThrow(
      RangeError,
    );
    expect(
      () => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 60, retentionSeconds: 61 }),
    ).not.toThrow();
    expect(() => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 1 })).not.toThrow();
  });
});

describe('IdempotencyStore.claim under lost answers', () => {
  it.each(LOST_ANSWERS)(
    'answers its own claim, never 409, when the claim landed and its answer was lost (%s)',
    async (outcome) => {
      // GIVEN the claim's put lands, then its caller sees a 500, a timeout, or the SDK's retry meeting the first put
      db.loseAnswer('Put', isClaimPut, outcome);

      // WHEN
      const claim = await claimed('key-1', 'fp');

      // THEN the key is this claim's, and its transaction completes it
      expect(keyRecord('key-1')).toMatchObject({ status: 'IN_PROGRESS', owner: claim.owner });
      await commitEntry(claim, 'entry-1');
      expect(keyRecord('key-1')).toMatchObject({ status: 'COMPLETED', owner: claim.owner });
      expect(db.lostAnswerCount).toBe(1);
    },
  );

  it('reads the record the failed condition returns (ALL_OLD), without another read', async () => {
    // GIVEN the SDK's retry of the claim's put fails its condition against the first attempt
    db.loseAnswer('Put', isClaimPut, 'sdk-retry');
    // WHEN
    await claimed('key-1', 'fp');
    // THEN the owner was told apart from the record in the error alone
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toMatchObject({
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  });

  it('reads the record again when a failed condition returns none', async () => {
    // GIVEN another request's completed record, and a failed condition that carries no item
    const first = await claimed('key-1', 'fp');
    await commitEntry(first, 'entry-1');
    db.before('Put', isClaimPut, () => {
      throw new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });
    });
    // WHEN / THEN the read finds the first response
    expect(await store.claim('key-1', 'fp')).toMatchObject({ kind: 'replay', response: { statusCode: 201 } });
    expect(ddb.commandCalls(GetCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toMatchObject({ ConsistentRead: true });
  });

  it('never takes another request’s claim for its own after an unknown outcome', async () => {
    // GIVEN the claim's put times out without landing, while another request claims the key
    db.before('Put', isClaimPut, () => {
      db.seed(KEYS, {
        idempotencyKey: 'key-1',
        fingerprint: 'fp',
        status: 'IN_PROGRESS',
        owner: 'another-request',
        createdAt: now.toISOString(),
        expiresAt: Math.floor(now.getTime() / 1000) + RETENTION,
        leaseExpiresAt: Math.floor(now.getTime() / 1000) + 30,
      });
      throw timeoutAfterWrite();
    });
    // WHEN / THEN
    await expect(store.claim('key-1', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    expect(keyRecord('key-1')).toMatchObject({ owner: 'another-request' });
  });

  it('claims again when its put did not land and nothing holds the key', async () => {
    // GIVEN puts that time out before they land, one fewer than the limit
    for (let attempt = 1; attempt < MAX_CLAIM_RACES; attempt++) {
      db.before('Put', isClaimPut, () => {
        throw timeoutAfterWrite();
      });
    }
    // WHEN
    const claim = await claimed('key-1', 'fp');
    // THEN the last put claimed it
    expect(ddb.commandCalls(PutCommand)).toHaveLength(MAX_CLAIM_RACES);
    expect(keyRecord('key-1')).toMatchObject({ owner: claim.owner });
  });

  it(`gives up after ${MAX_CLAIM_RACES} puts that did not land, with the last failure (not a 409)`, async () => {
    // GIVEN every put times out before it lands
    const failures = Array.from({ length: MAX_CLAIM_RACES + 1 }, () => timeoutAfterWrite());
    for (const failure of failures) {
      db.before('Put', isClaimPut, () => {
        throw failure;
      });
    }
    // WHEN
    const claiming = store.claim('key-1', 'fp');
    // THEN
    await expect(claiming).rejects.toBe(failures[MAX_CLAIM_RACES - 1]);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(MAX_CLAIM_RACES);
    expect(keyRecord('key-1')).toBeUndefined();
  });

  it('takes over an abandoned claim it read after an unknown outcome, and replays no expired response', async () => {
    // GIVEN key-1 holds a claim whose lease ran out, key-2 a completed response whose retention ran out, and each
    // key's next put does not land
    const abandoned = await claimed('key-1', 'fp');
    const expired = await claimed('key-2', 'fp');
    await commitEntry(expired, 'entry-1');
    const putOf = (key: string) => (input: PutCommandInput) =>
      isClaimPut(input) && input.Item?.idempotencyKey === key;
    const putsOf = (key: string) =>
      ddb.commandCalls(PutCommand).filter((call) => call.args[0].input.Item?.idempotencyKey === key);
    for (const key of ['key-1', 'key-2']) {
      db.before('Put', putOf(key), () => {
        throw timeoutAfterWrite();
      });
    }

    // WHEN the lease has run out
    advance(30);
    const takeover = await claimed('key-1', 'fp');
    // AND the retention has run out, this very second
    advance(RETENTION - 30);
    const fresh = await store.claim('key-2', 'fp');

    // THEN each read what held its key, and claimed it with its next put
    expect(takeover.owner).not.toBe(abandoned.owner);
    expect(keyRecord('key-1')).toMatchObject({ owner: takeover.owner, status: 'IN_PROGRESS' });
    expect(fresh.kind).toBe('claimed');
    expect(putsOf('key-1')).toHaveLength(3);
    expect(putsOf('key-2')).toHaveLength(3);
  });

  it(`answers 409 after ${MAX_CLAIM_RACES} puts that did not land while an abandoned claim holds the key`, async () => {
    // GIVEN an abandoned claim, and puts that never land
    await claimed('key-1', 'fp');
    advance(30);
    for (let attempt = 0; attempt < MAX_CLAIM_RACES; attempt++) {
      db.before('Put', isClaimPut, () => {
        throw timeoutAfterWrite();
      });
    }
    // WHEN / THEN
    await expect(store.claim('key-1', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1 + MAX_CLAIM_RACES);
  });

  it(`answers 409 when, ${MAX_CLAIM_RACES} times, a condition fails and then nothing holds the key`, async () => {
    // GIVEN the key changes under every put: its condition fails (no item returned), and the read finds nothing
    for (let attempt = 0; attempt < MAX_CLAIM_RACES; attempt++) {
      db.before('Put', isClaimPut, () => {
        throw new ConditionalCheckFailedException({ message: 'failed', $metadata: {} });
      });
    }
    // WHEN / THEN
    await expect(store.claim('key-1', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(MAX_CLAIM_RACES);
  });

  it('completes a claim stored before claims carried their retention: 24 hours from the completion', async () => {
    // GIVEN a claim as a half message prepared by an older version stores it (no retentionSeconds)
    const { retentionSeconds: _, ...legacy } = await claimed('key-1', 'fp');
    advance(100);
    // WHEN
    await commitEntry(legacy, 'entry-1');
    // THEN
    expect(keyRecord('key-1')).toMatchObject({ expiresAt: Math.floor(now.getTime() / 1000) + 24 * 3600 });
  });

  it('replays a completed response stored without a body as an empty body', async () => {
    // GIVEN
    db.seed(KEYS, {
      idempotencyKey: 'key-1',
      fingerprint: 'fp',
      status: 'COMPLETED',
      owner: 'o',
      createdAt: now.toISOString(),
      expiresAt: Math.floor(now.getTime() / 1000) + 60,
      responseStatus: 204,
    });
    // WHEN / THEN
    expect(await store.claim('key-1', 'fp')).toEqual({
      kind: 'replay',
      response: { statusCode: 204, body: '' },
    });
  });

  it('fails with a failure that is not an unknown outcome at once, and writes nothing', async () => {
    // GIVEN the put is throttled
    const throttled = Object.assign(new Error('rate exceeded'), {
      name: 'ProvisionedThroughputExceededException',
      $metadata: { httpStatusCode: 400 },
    });
    db.before('Put', isClaimPut, () => {
      throw throttled;
    });
    // WHEN / THEN
    await expect(store.claim('key-1', 'fp')).rejects.toBe(throttled);
    expect(ddb.commandCalls(PutCommand)).toHaveLength(1);
    expect(ddb.commandCalls(GetCommand)).toHaveLength(0);
  });
});

describe('IdempotencyStore leases and retention', () => {
  it('holds the key for the whole lease, and lets the same request take it over the second it ends', async () => {
    // GIVEN
    const first = await claimed('key-1', 'fp');

    // WHEN / THEN one second before the lease ends: in progress
    advance(29);
    await expect(store.claim('key-1', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
    // AND another request is never let in, lease or not
    advance(1);
    await expect(store.claim('key-1', 'other')).rejects.toBeInstanceOf(IdempotencyKeyReusedError);
    // AND at the lease's end the same request takes it over
    const second = await claimed('key-1', 'fp');
    expect(second.owner).not.toBe(first.owner);
    expect(keyRecord('key-1')).toMatchObject({
      owner: second.owner,
      leaseExpiresAt: Math.floor(now.getTime() / 1000) + 30,
      expiresAt: Math.floor(now.getTime() / 1000) + RETENTION,
    });
  });

  it('keeps a completed response for the retention from its completion, not from the claim', async () => {
    // GIVEN a claim completed 20 seconds after it was made
    const claim = await claimed('key-1', 'fp');
    advance(20);
    await commitEntry(claim, 'entry-1');

    // WHEN / THEN it answers until the retention after the completion ends
    advance(RETENTION - 1);
    expect(await store.claim('key-1', 'fp')).toMatchObject({ kind: 'replay' });
    advance(1);
    expect(await store.claim('key-1', 'fp')).toMatchObject({ kind: 'claimed' });
  });

  it('keeps the response of a half message committed after the key’s retention, so a retry never pays twice', async () => {
    // GIVEN a payment prepared under a key, whose transaction is committed (by the check-back) 8 days later
    db.seed(ORDERS, { orderId: 'order-1', version: 1 });
    const producer = new TransactionalProducer({ dynamodb, outboxTableName: OUTBOX, clock: () => now });
    const claim = await claimed('key-1', 'fp');
    await producer.prepare(
      {
        transactionId: 'tx-1',
        groupKey: 'order-1',
        type: 'PaymentCaptured',
        payload: {},
        aggregate: { tableName: ORDERS, key: { orderId: 'order-1' } },
      },
      { idempotency: { claim, response: () => ({ statusCode: 202, body: '{"paid":true}' }) } },
    );
    advance(8 * 24 * 3600);
    await producer.commit('tx-1', 'check-back');

    // WHEN the client retries under the same key
    const retry = await store.claim('key-1', 'fp');

    // THEN it gets the payment's answer, which expires a retention after the commit
    expect(retry).toEqual({ kind: 'replay', response: { statusCode: 202, body: '{"paid":true}' } });
    expect(keyRecord('key-1')).toMatchObject({ expiresAt: Math.floor(now.getTime() / 1000) + RETENTION });
  });
});

describe('Idempotency-Key checks, fingerprints and tokens', () => {
  it('accepts 1 to 255 printable ASCII characters', () => {
    expect(validateIdempotencyKey('a')).toBe('a');
    expect(validateIdempotencyKey(' ~!"#$%&\'()*+,-./09:;<=>?@AZ[\\]^_`az{|}')).toHaveLength(39);
    expect(validateIdempotencyKey('k'.repeat(255))).toHaveLength(255);
  });

  it.each([
    ['', /empty/],
    ['k'.repeat(256), /256 characters; at most 255/],
    ['naïve', /printable ASCII/],
    ['a\u007f', /printable ASCII/],
    ['line\nbreak', /printable ASCII/],
  ])('refuses %j', (key, message) => {
    expect(() => validateIdempotencyKey(key)).toThrow(InvalidIdempotencyKeyError);
    expect(() => validateIdempotencyKey(key)).toThrow(message);
  });

  it('names its errors, and says what to do', () => {
    expect(new InvalidIdempotencyKeyError('bad')).toMatchObject({
      name: 'InvalidIdempotencyKeyError',
      message: 'bad',
    });
    expect(new IdempotencyKeyReusedError('k')).toMatchObject({
      name: 'IdempotencyKeyReusedError',
      idempotencyKey: 'k',
      message: 'this Idempotency-Key was used for another request (another body, method or path)',
    });
    const cause = new Error('cause');
    expect(new IdempotencyKeyInProgressError('k', { cause })).toMatchObject({
      name: 'IdempotencyKeyInProgressError',
      idempotencyKey: 'k',
      cause,
      message: 'a request with this Idempotency-Key is still in progress; retry later with the same key',
    });
  });

  it('keeps the fingerprint of stored records: SHA-256 of the upper-case method, the path and the body', () => {
    expect(requestFingerprint('post', '/orders', '{}')).toBe(
      createHash('sha256').update('POST\u0000/orders\u0000{}').digest('hex'),
    );
  });

  it('tells requests apart by method, path and body', () => {
    const base = requestFingerprint('POST', '/orders/o-1/notes', '{"text":"a"}');
    expect(requestFingerprint('post', '/orders/o-1/notes', '{"text":"a"}')).toBe(base);
    expect(requestFingerprint('PUT', '/orders/o-1/notes', '{"text":"a"}')).not.toBe(base);
    expect(requestFingerprint('POST', '/orders/o-2/notes', '{"text":"a"}')).not.toBe(base);
    expect(requestFingerprint('POST', '/orders/o-1/notes', '{"text":"b"}')).not.toBe(base);
    expect(requestFingerprint('POST', '/orders/o-1/notes{"text":"a"}', '')).not.toBe(base);
  });

  it('derives a 36-character ClientRequestToken per key and call', () => {
    const token = clientRequestToken('key-1', 'call-1');
    expect(token).toHaveLength(36);
    expect(clientRequestToken('key-1', 'call-1')).toBe(token);
    expect(clientRequestToken('key-1', 'call-2')).not.toBe(token);
    expect(clientRequestToken('key-2', 'call-1')).not.toBe(token);
  });
});
