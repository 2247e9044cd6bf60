import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  clientRequestToken,
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  InvalidIdempotencyKeyError,
  requestFingerprint,
  validateIdempotencyKey,
} from '../../functions/runtime/idempotency/idempotency-key';
import {
  type IdempotencyClaim,
  IdempotencyStore,
  idempotencyAttachment,
} from '../../functions/runtime/idempotency/idempotency-store';
import { OutboxWriter } from '../../functions/runtime/outbox/outbox-writer';
import { InMemoryDynamoDb } from './support/in-memory-dynamodb';

const KEYS = 'idempotency-table';
const OUTBOX = 'outbox-table';
const LEDGER = 'ledger-table';
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

    // THEN
    await expect(store.claim('bound', 'fp')).rejects.toBeInstanceOf(IdempotencyKeyInProgressError);
  });

  it('refuses a lease or retention that cannot work', () => {
    expect(() => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 0 })).toThrow(
      /leaseSeconds/,
    );
    expect(
      () => new IdempotencyStore({ dynamodb, tableName: KEYS, leaseSeconds: 60, retentionSeconds: 60 }),
    ).toThrow(/retentionSeconds must be > leaseSeconds \(60\); got 60/);
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
