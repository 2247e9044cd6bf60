import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { WriteConditionError } from '../../functions/runtime/atomic-write';
import {
  applyEffect,
  type DynamoEffect,
  type EffectGuardOptions,
  IDEMPOTENCY_STRATEGIES,
  type IdempotencyStrategy,
  VersionMismatchError,
} from '../../functions/runtime/consumer/effect-strategies';
import { MessageInProgressError, ReliableMessagingError } from '../../functions/runtime/errors';
import type { MessageEnvelope } from '../../functions/runtime/outbox/outbox-message';
import type { TransactItem } from '../../functions/runtime/outbox/outbox-writer';
import type { InMemoryDynamoDb } from './support/in-memory-dynamodb';
import {
  CLAIM_SECONDS,
  envelope,
  INBOX_TABLE,
  inboxOf,
  newConsumerTables,
  PROJECTION_TABLE,
  RETENTION_SECONDS,
  seconds,
} from './support/inbox-fixtures';

const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
const START = new Date('2026-03-01T12:00:00.000Z');
const GROUP = 'order-1';

interface Note {
  readonly text: string;
}

let db: InMemoryDynamoDb;
let now: Date;

const message = (sequence: number, groupKey = GROUP): MessageEnvelope<Note> =>
  envelope(groupKey, sequence, 'NoteAdded', { text: `note ${sequence}` });

const journalKey = (groupKey: string) => ({ pk: `JOURNAL#${groupKey}`, sk: 'JOURNAL' });
const tallyKey = (groupKey: string) => ({ pk: `TALLY#${groupKey}`, sk: 'TALLY' });

/** Appends the note to the key's journal and sets the journal's version: a second application shows. */
function journalWrite(delivered: MessageEnvelope<Note>): TransactItem {
  return {
    Update: {
      TableName: PROJECTION_TABLE,
      Key: journalKey(delivered.groupKey),
      UpdateExpression:
        'SET entries = list_append(if_not_exists(entries, :empty), :entry), version = :version',
      ExpressionAttributeValues: {
        ':empty': [],
        ':entry': [delivered.payload.text],
        ':version': delivered.sequence,
      },
    },
  };
}

/** Counts the applications (ADD: not idempotent by itself). */
function tallyWrite(delivered: MessageEnvelope<Note>): TransactItem {
  return {
    Update: {
      TableName: PROJECTION_TABLE,
      Key: tallyKey(delivered.groupKey),
      UpdateExpression: 'ADD applied :one',
      ExpressionAttributeValues: { ':one': 1 },
    },
  };
}

/** Two writes (journal and tally), versioned by the journal: any strategy can guard it. */
const journal: DynamoEffect<Note> = {
  name: 'journal',
  items: (delivered) => [journalWrite(delivered), tallyWrite(delivered)],
  versionTarget: (delivered) => ({ tableName: PROJECTION_TABLE, key: journalKey(delivered.groupKey) }),
};

const options = (): EffectGuardOptions => ({
  dynamodb,
  inboxTableName: INBOX_TABLE,
  retentionSeconds: RETENTION_SECONDS,
  claimSeconds: CLAIM_SECONDS,
  clock: () => now,
});

const apply = (effect: DynamoEffect<Note>, strategy: IdempotencyStrategy, delivered: MessageEnvelope<Note>) =>
  applyEffect(effect, strategy, delivered, options());

const journalOf = (groupKey = GROUP) => db.item(PROJECTION_TABLE, journalKey(groupKey));
const tallyOf = (groupKey = GROUP) => Number(db.item(PROJECTION_TABLE, tallyKey(groupKey))?.applied ?? 0);
const recordOf = (delivered: MessageEnvelope<Note>, effect = 'journal') =>
  inboxOf(db).effect(delivered.messageId, effect);
const transactItems = (call = 0) => ddb.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems;
const writeCount = () =>
  ddb.commandCalls(TransactWriteCommand).length +
  ddb.commandCalls(PutCommand).length +
  ddb.commandCalls(UpdateCommand).length +
  ddb.commandCalls(DeleteCommand).length;

function throttled(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
}

/** Seeds the journal as a message of the given sequence left it. */
function seedJournal(version: number, entries: string[] = [`note ${version}`]): void {
  db.seed(PROJECTION_TABLE, { ...journalKey(GROUP), entries, version });
}

beforeEach(() => {
  ddb.reset();
  db = newConsumerTables();
  db.install(ddb);
  now = START;
});

describe('applyEffect, whatever the strategy', () => {
  it.each(IDEMPOTENCY_STRATEGIES.filter((strategy) => strategy !== 'version'))(
    'answers NONE and writes nothing when the effect has no writes (%s)',
    async (strategy) => {
      // GIVEN
      const unconcerned: DynamoEffect<Note> = { ...journal, items: () => [] };

      // WHEN
      const outcome = await apply(unconcerned, strategy, message(1));

      // THEN
      expect(outcome).toBe('NONE');
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it.each(IDEMPOTENCY_STRATEGIES)(
    'fails with RangeError if the effect has more than 99 writes (%s)',
    async (strategy) => {
      // GIVEN 100 writes, the first at the version target
      const tooMany: DynamoEffect<Note> = {
        ...journal,
        items: (delivered) => [
          journalWrite(delivered),
          ...Array.from({ length: 99 }, (_, index) => tallyWrite({ ...delivered, groupKey: `g${index}` })),
        ],
      };

      // WHEN
      const applying = apply(tooMany, strategy, message(1));

      // THEN
      await expect(applying).rejects.toThrow(RangeError);
      await expect(applying).rejects.toThrow('effect journal has 100 writes; at most 99 fit');
      expect(ddb.calls()).toHaveLength(0);
    },
  );

  it.each(IDEMPOTENCY_STRATEGIES)(
    'applies an effect of 99 writes, the most that fit (%s)',
    async (strategy) => {
      // GIVEN
      const largest: DynamoEffect<Note> = {
        ...journal,
        items: (delivered) => [
          journalWrite(delivered),
          ...Array.from({ length: 98 }, (_, index) => tallyWrite({ ...delivered, groupKey: `g${index}` })),
        ],
      };

      // WHEN
      const outcome = await apply(largest, strategy, message(1));

      // THEN
      expect(outcome).toBe('APPLIED');
      expect(journalOf()).toMatchObject({ entries: ['note 1'], version: 1 });
      expect(tallyOf('g97')).toBe(1);
    },
  );
});

describe('the transaction strategy', () => {
  it('writes the inbox mark and the effect in one transaction, and answers APPLIED', async () => {
    // WHEN
    const outcome = await apply(journal, 'transaction', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(transactItems()).toEqual([
      {
        Put: {
          TableName: INBOX_TABLE,
          Item: {
            pk: `MSG#${message(1).messageId}`,
            sk: 'EFFECT#journal',
            status: 'COMPLETED',
            groupKey: GROUP,
            sequence: 1,
            expiresAt: seconds(START) + RETENTION_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      journalWrite(message(1)),
      tallyWrite(message(1)),
    ]);
    expect(journalOf()).toMatchObject({ entries: ['note 1'], version: 1 });
    expect(tallyOf()).toBe(1);
  });

  it('answers DUPLICATE on a second delivery, without applying the effect again', async () => {
    // GIVEN
    await apply(journal, 'transaction', message(1));

    // WHEN
    const outcome = await apply(journal, 'transaction', message(1));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(journalOf()).toMatchObject({ entries: ['note 1'] });
    expect(tallyOf()).toBe(1);
  });

  it('marks each effect of a message apart, and each message apart', async () => {
    // GIVEN
    const other: DynamoEffect<Note> = { name: 'other', items: (delivered) => [tallyWrite(delivered)] };
    await apply(journal, 'transaction', message(1));

    // WHEN
    const otherEffect = await apply(other, 'transaction', message(1));
    const nextMessage = await apply(journal, 'transaction', message(2));

    // THEN
    expect([otherEffect, nextMessage]).toEqual(['APPLIED', 'APPLIED']);
    expect(recordOf(message(1), 'other')).toMatchObject({ status: 'COMPLETED' });
    expect(recordOf(message(2))).toMatchObject({ status: 'COMPLETED', sequence: 2 });
    expect(journalOf()).toMatchObject({ entries: ['note 1', 'note 2'] });
    expect(tallyOf()).toBe(3);
  });

  it('writes neither the mark nor the effect when a write of the effect fails its condition, and rethrows', async () => {
    // GIVEN an effect whose tally must exist already
    const guarded: DynamoEffect<Note> = {
      name: 'journal',
      items: (delivered) => [
        journalWrite(delivered),
        { Update: { ...tallyWrite(delivered).Update!, ConditionExpression: 'attribute_exists(pk)' } },
      ],
    };

    // WHEN
    const applying = apply(guarded, 'transaction', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(TransactionCanceledException);
    expect(recordOf(message(1))).toBeUndefined();
    expect(journalOf()).toBeUndefined();

    // WHEN the tally exists and the message is redelivered
    db.seed(PROJECTION_TABLE, { ...tallyKey(GROUP), applied: 0 });
    const retried = await apply(guarded, 'transaction', message(1));

    // THEN
    expect(retried).toBe('APPLIED');
    expect(journalOf()).toMatchObject({ entries: ['note 1'] });
  });

  it('writes neither when the transaction fails, and rethrows its error', async () => {
    // GIVEN
    const failure = throttled();
    db.before(
      'TransactWrite',
      () => true,
      () => {
        throw failure;
      },
    );

    // WHEN
    const applying = apply(journal, 'transaction', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toBeUndefined();
    expect(journalOf()).toBeUndefined();
    expect(tallyOf()).toBe(0);
  });
});

describe('the version strategy', () => {
  it('applies the first message only to a target without a version, asking for the old item on failure', async () => {
    // WHEN
    const outcome = await apply(journal, 'version', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    const [target, tally] = transactItems() ?? [];
    expect(target?.Update).toEqual({
      ...journalWrite(message(1)).Update,
      ConditionExpression: 'attribute_not_exists(#effectVersion)',
      ExpressionAttributeNames: { '#effectVersion': 'version' },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(tally).toEqual(tallyWrite(message(1)));
    expect(journalOf()).toMatchObject({ entries: ['note 1'], version: 1 });
    expect(recordOf(message(1))).toBeUndefined();
  });

  it('applies message n over version n − 1, and the write sets version n', async () => {
    // GIVEN
    seedJournal(3);

    // WHEN
    const outcome = await apply(journal, 'version', message(4));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(transactItems()?.[0]?.Update).toMatchObject({
      ConditionExpression: '#effectVersion = :effectPrevious',
      ExpressionAttributeValues: { ':effectPrevious': 3, ':version': 4 },
    });
    expect(journalOf()).toMatchObject({ entries: ['note 3', 'note 4'], version: 4 });
    expect(tallyOf()).toBe(1);
  });

  it('answers DUPLICATE on a redelivery (the target is at the message’s version), writing nothing', async () => {
    // GIVEN
    seedJournal(3);
    await apply(journal, 'version', message(4));

    // WHEN
    const outcome = await apply(journal, 'version', message(4));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(journalOf()).toMatchObject({ entries: ['note 3', 'note 4'], version: 4 });
    expect(tallyOf()).toBe(1);
  });

  it('answers DUPLICATE for a stale message (the target is past its version)', async () => {
    // GIVEN
    seedJournal(7);

    // WHEN
    const outcome = await apply(journal, 'version', message(4));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(journalOf()).toMatchObject({ entries: ['note 7'], version: 7 });
    expect(tallyOf()).toBe(0);
  });

  it('answers DUPLICATE for a redelivered first message', async () => {
    // GIVEN
    await apply(journal, 'version', message(1));

    // WHEN
    const outcome = await apply(journal, 'version', message(1));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(tallyOf()).toBe(1);
  });

  it('fails with VersionMismatchError when the target is behind n − 1, writing nothing', async () => {
    // GIVEN
    seedJournal(2);

    // WHEN
    const applying = apply(journal, 'version', message(4));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(VersionMismatchError);
    await expect(applying).rejects.toThrow(
      'effect journal: target is at version 2, expected 3 for sequence 4',
    );
    const error = await applying.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ReliableMessagingError);
    const cause = (error as Error).cause;
    expect(cause).toBeInstanceOf(WriteConditionError);
    expect(cause).toMatchObject({
      index: 0,
      oldItem: { ...journalKey(GROUP), entries: ['note 2'], version: 2 },
    });
    expect((cause as Error).cause).toBeInstanceOf(TransactionCanceledException);
    expect(journalOf()).toMatchObject({ version: 2 });
    expect(tallyOf()).toBe(0);
  });

  it('fails with VersionMismatchError when the target does not exist for a message after the first', async () => {
    // WHEN
    const applying = apply(journal, 'version', message(2));

    // THEN
    await expect(applying).rejects.toThrow(
      'effect journal: target is at version none, expected 1 for sequence 2',
    );
    expect(journalOf()).toBeUndefined();
  });

  it('keeps the write’s own condition, names and values next to the version condition', async () => {
    // GIVEN a journal write that also requires the journal to be open
    const guarded: DynamoEffect<Note> = {
      ...journal,
      items: (delivered) => [
        {
          Update: {
            ...journalWrite(delivered).Update!,
            ConditionExpression: '#state = :open',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: {
              ...journalWrite(delivered).Update!.ExpressionAttributeValues,
              ':open': 'OPEN',
            },
          },
        },
      ],
    };
    db.seed(PROJECTION_TABLE, { ...journalKey(GROUP), entries: [], version: 1, state: 'OPEN' });

    // WHEN
    const outcome = await apply(guarded, 'version', message(2));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      ConditionExpression: '(#state = :open) AND #effectVersion = :effectPrevious',
      ExpressionAttributeNames: { '#state': 'state', '#effectVersion': 'version' },
      ExpressionAttributeValues: { ':open': 'OPEN', ':effectPrevious': 1, ':version': 2 },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });

    // WHEN the journal is closed
    db.patch(PROJECTION_TABLE, journalKey(GROUP), { state: 'CLOSED' });
    const closed = apply(guarded, 'version', message(3));

    // THEN the write's own condition still holds it back
    await expect(closed).rejects.toThrow();
    expect(journalOf()).toMatchObject({ entries: ['note 2'], version: 2 });
  });

  it('checks the versionAttribute of the target, and finds the target among Put writes too', async () => {
    // GIVEN an effect that puts a snapshot versioned by `revision`
    const snapshot: DynamoEffect<Note> = {
      name: 'snapshot',
      items: (delivered) => [
        tallyWrite(delivered),
        {
          Put: {
            TableName: PROJECTION_TABLE,
            Item: {
              pk: 'SNAPSHOT#1',
              sk: 'SNAPSHOT',
              text: delivered.payload.text,
              revision: delivered.sequence,
            },
          },
        },
      ],
      versionTarget: () => ({
        tableName: PROJECTION_TABLE,
        key: { pk: 'SNAPSHOT#1', sk: 'SNAPSHOT' },
        versionAttribute: 'revision',
      }),
    };
    db.seed(PROJECTION_TABLE, { pk: 'SNAPSHOT#1', sk: 'SNAPSHOT', text: 'note 4', revision: 4 });

    // WHEN
    const duplicate = await apply(snapshot, 'version', message(4));
    const next = await apply(snapshot, 'version', message(5));

    // THEN
    expect([duplicate, next]).toEqual(['DUPLICATE', 'APPLIED']);
    expect(transactItems(1)?.[1]?.Put).toMatchObject({
      ConditionExpression: '#effectVersion = :effectPrevious',
      ExpressionAttributeNames: { '#effectVersion': 'revision' },
      ExpressionAttributeValues: { ':effectPrevious': 4 },
    });
    expect(db.item(PROJECTION_TABLE, { pk: 'SNAPSHOT#1', sk: 'SNAPSHOT' })).toMatchObject({
      text: 'note 5',
      revision: 5,
    });
    expect(tallyOf()).toBe(1);
  });

  it('rethrows, rather than answering DUPLICATE, when another write of the effect fails its condition', async () => {
    // GIVEN
    const guarded: DynamoEffect<Note> = {
      ...journal,
      items: (delivered) => [
        journalWrite(delivered),
        { Update: { ...tallyWrite(delivered).Update!, ConditionExpression: 'attribute_exists(pk)' } },
      ],
    };

    // WHEN
    const applying = apply(guarded, 'version', message(1));

    // THEN the failure of the tally's own condition (item 1) is rethrown as is, not read as a version answer
    await expect(applying).rejects.toBeInstanceOf(WriteConditionError);
    const error = await applying.catch((caught: unknown) => caught);
    expect(error).toMatchObject({ index: 1 });
    expect((error as Error).cause).toBeInstanceOf(TransactionCanceledException);
    expect(journalOf()).toBeUndefined();
    expect(tallyOf()).toBe(0);
  });

  it('writes an effect of a single write as one plain conditional write, and reads the version from its failure', async () => {
    // GIVEN an effect of one write, the journal's, which is at version 3
    const single: DynamoEffect<Note> = { ...journal, items: (delivered) => [journalWrite(delivered)] };
    seedJournal(3);

    // WHEN message 4 is applied, redelivered, a stale message 2 comes, then message 6 ahead of 5
    const applied = await apply(single, 'version', message(4));
    const redelivered = await apply(single, 'version', message(4));
    const stale = await apply(single, 'version', message(2));
    const ahead = apply(single, 'version', message(6));

    // THEN
    expect([applied, redelivered, stale]).toEqual(['APPLIED', 'DUPLICATE', 'DUPLICATE']);
    await expect(ahead).rejects.toThrow('effect journal: target is at version 4, expected 5 for sequence 6');
    const error = await ahead.catch((caught: unknown) => caught);
    expect((error as Error).cause).toBeInstanceOf(WriteConditionError);
    expect(((error as Error).cause as Error).cause).toBeInstanceOf(ConditionalCheckFailedException);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual({
      ...journalWrite(message(4)).Update,
      ConditionExpression: '#effectVersion = :effectPrevious',
      ExpressionAttributeNames: { '#effectVersion': 'version' },
      ExpressionAttributeValues: {
        ...journalWrite(message(4)).Update!.ExpressionAttributeValues,
        ':effectPrevious': 3,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(journalOf()).toMatchObject({ entries: ['note 3', 'note 4'], version: 4 });
  });

  it('moves the target’s version when the effect has nothing to write for a message, so the next one applies', async () => {
    // GIVEN a journal that has nothing to write for message 2 (the message does not concern it)
    const skipsTwo: DynamoEffect<Note> = {
      ...journal,
      items: (delivered) => (delivered.sequence === 2 ? [] : journal.items(delivered)),
    };
    await apply(skipsTwo, 'version', message(1));

    // WHEN
    const second = await apply(skipsTwo, 'version', message(2));
    const third = await apply(skipsTwo, 'version', message(3));
    const redelivered = await apply(skipsTwo, 'version', message(2));

    // THEN the version moved past 2 without any other write, and message 3 found it at 2
    expect(second).toBe('NONE');
    expect(third).toBe('APPLIED');
    expect(redelivered).toBe('DUPLICATE');
    expect(journalOf()).toMatchObject({ entries: ['note 1', 'note 3'], version: 3 });
    expect(tallyOf()).toBe(2);
  });

  it('fails with VersionMismatchError when the effect has nothing to write and the target is behind', async () => {
    // GIVEN
    seedJournal(1);
    const unconcerned: DynamoEffect<Note> = { ...journal, items: () => [] };

    // WHEN
    const applying = apply(unconcerned, 'version', message(3));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(VersionMismatchError);
    expect(journalOf()).toMatchObject({ version: 1 });
  });

  it('fails if the effect has no versionTarget, writing nothing', async () => {
    // GIVEN
    const unversioned: DynamoEffect<Note> = { name: 'unversioned', items: journal.items };

    // WHEN
    const applying = apply(unversioned, 'version', message(1));

    // THEN
    await expect(applying).rejects.toThrow(
      'effect unversioned has no versionTarget: it cannot use the version strategy',
    );
    expect(writeCount()).toBe(0);
  });

  it('fails if no write of the effect is at its versionTarget, writing nothing', async () => {
    // GIVEN
    const elsewhere: DynamoEffect<Note> = {
      ...journal,
      versionTarget: () => ({ tableName: PROJECTION_TABLE, key: journalKey('order-2') }),
    };

    // WHEN
    const applying = apply(elsewhere, 'version', message(1));

    // THEN
    await expect(applying).rejects.toThrow('effect journal writes no item at its versionTarget');
    expect(writeCount()).toBe(0);
  });
});

describe('the unique strategy', () => {
  it('claims the effect IN_PROGRESS, applies it, then marks the claim COMPLETED', async () => {
    // GIVEN the claim is looked at while the effect is written
    let claimDuringEffect: unknown;
    db.before(
      'TransactWrite',
      () => true,
      () => {
        claimDuringEffect = recordOf(message(1));
      },
    );

    // WHEN
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(claimDuringEffect).toEqual({
      pk: `MSG#${message(1).messageId}`,
      sk: 'EFFECT#journal',
      status: 'IN_PROGRESS',
      groupKey: GROUP,
      sequence: 1,
      claimExpiresAt: seconds(START) + CLAIM_SECONDS,
      expiresAt: seconds(START) + RETENTION_SECONDS,
    });
    expect(recordOf(message(1))).toEqual({
      pk: `MSG#${message(1).messageId}`,
      sk: 'EFFECT#journal',
      status: 'COMPLETED',
      groupKey: GROUP,
      sequence: 1,
      expiresAt: seconds(START) + RETENTION_SECONDS,
    });
    expect(transactItems()).toEqual([journalWrite(message(1)), tallyWrite(message(1))]);
    expect(journalOf()).toMatchObject({ entries: ['note 1'] });
  });

  it('answers DUPLICATE once the claim is COMPLETED, without applying the effect again', async () => {
    // GIVEN
    await apply(journal, 'unique', message(1));
    ddb.resetHistory();

    // WHEN
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(tallyOf()).toBe(1);
  });

  it('refuses with MessageInProgressError while another delivery’s claim is live, up to its expiry', async () => {
    // GIVEN a claim that expires right now
    const claim = {
      pk: `MSG#${message(1).messageId}`,
      sk: 'EFFECT#journal',
      status: 'IN_PROGRESS',
      groupKey: GROUP,
      sequence: 1,
      claimExpiresAt: seconds(START),
      expiresAt: seconds(START) + RETENTION_SECONDS,
    };
    db.seed(INBOX_TABLE, claim);

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(MessageInProgressError);
    expect(recordOf(message(1))).toEqual(claim);
    expect(tallyOf()).toBe(0);
  });

  it('takes over an expired claim (its holder died before marking it) and applies the effect', async () => {
    // GIVEN a delivery claimed the effect and died before writing it
    db.before(
      'TransactWrite',
      () => true,
      () => {
        throw new Error('Lambda timed out');
      },
    );
    db.before(
      'Delete',
      () => true,
      () => {
        throw new Error('Lambda timed out');
      },
    );
    await expect(apply(journal, 'unique', message(1))).rejects.toThrow('Lambda timed out');
    expect(recordOf(message(1))).toMatchObject({ status: 'IN_PROGRESS' });

    // WHEN redelivered once the claim has expired
    now = new Date(START.getTime() + (CLAIM_SECONDS + 1) * 1000);
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(recordOf(message(1))).toMatchObject({
      status: 'COMPLETED',
      expiresAt: seconds(now) + RETENTION_SECONDS,
    });
    expect(tallyOf()).toBe(1);
  });

  it('releases the claim and rethrows when the effect fails, so that a redelivery applies it', async () => {
    // GIVEN
    const failure = throttled();
    db.before(
      'TransactWrite',
      () => true,
      () => {
        throw failure;
      },
    );

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toBeUndefined();
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: INBOX_TABLE,
      Key: { pk: `MSG#${message(1).messageId}`, sk: 'EFFECT#journal' },
      ConditionExpression: '#status = :inProgress',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
    });

    // WHEN redelivered at once
    const retried = await apply(journal, 'unique', message(1));

    // THEN
    expect(retried).toBe('APPLIED');
    expect(tallyOf()).toBe(1);
  });

  it('rethrows the effect’s error even when releasing the claim fails', async () => {
    // GIVEN
    const failure = throttled();
    db.before(
      'TransactWrite',
      () => true,
      () => {
        throw failure;
      },
    );
    db.before(
      'Delete',
      () => true,
      () => {
        throw new Error('delete throttled');
      },
    );

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toMatchObject({ status: 'IN_PROGRESS' });
  });

  it('releases the claim through a transient failure of the release, so that a retry can claim again at once', async () => {
    // GIVEN the effect fails, and so does the first attempt to release its claim, for a transient reason
    const failure = throttled();
    db.before(
      'TransactWrite',
      () => true,
      () => {
        throw failure;
      },
    );
    db.before(
      'Delete',
      () => true,
      () => {
        throw throttled();
      },
    );

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toBeUndefined();
    expect(await apply(journal, 'unique', message(1))).toBe('APPLIED');
  });

  it('marks the claim COMPLETED through a transient failure of the mark, so the effect is never applied again', async () => {
    // GIVEN the effect goes through, and the first attempt to mark it done meets a 5xx
    db.before(
      'Update',
      (input) => input.TableName === INBOX_TABLE,
      () => {
        throw Object.assign(new Error('internal error'), {
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        });
      },
    );

    // WHEN
    const outcome = await apply(journal, 'unique', message(1));
    now = new Date(START.getTime() + (CLAIM_SECONDS + 1) * 1000);
    const redelivered = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(recordOf(message(1))).toMatchObject({ status: 'COMPLETED' });
    expect(redelivered).toBe('DUPLICATE');
    expect(tallyOf()).toBe(1);
  });

  it('does not release a claim that another delivery completed meanwhile', async () => {
    // GIVEN the effect fails, and another delivery (which took the claim over) completes it before the release
    db.before(
      'TransactWrite',
      () => true,
      () => {
        throw throttled();
      },
    );
    db.before(
      'Delete',
      () => true,
      () =>
        db.patch(
          INBOX_TABLE,
          { pk: `MSG#${message(1).messageId}`, sk: 'EFFECT#journal' },
          { status: 'COMPLETED' },
        ),
    );

    // WHEN
    await expect(apply(journal, 'unique', message(1))).rejects.toThrow('slow down');

    // THEN
    expect(recordOf(message(1))).toMatchObject({ status: 'COMPLETED' });
  });

  it('writes an effect of a single write as one plain write, not a transaction', async () => {
    // GIVEN
    const single: DynamoEffect<Note> = { name: 'journal', items: (delivered) => [journalWrite(delivered)] };

    // WHEN
    const outcome = await apply(single, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toEqual(journalWrite(message(1)).Update);
    expect(journalOf()).toMatchObject({ entries: ['note 1'], version: 1 });
    expect(recordOf(message(1))).toMatchObject({ status: 'COMPLETED' });
  });

  it('releases the claim and rethrows WriteConditionError when the single write of the effect fails its condition', async () => {
    // GIVEN an effect of one write that needs the journal to exist already
    const guarded: DynamoEffect<Note> = {
      name: 'journal',
      items: (delivered) => [
        { Update: { ...journalWrite(delivered).Update!, ConditionExpression: 'attribute_exists(pk)' } },
      ],
    };

    // WHEN
    const applying = apply(guarded, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(WriteConditionError);
    await expect(applying).rejects.toMatchObject({ index: 0 });
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
    expect(recordOf(message(1))).toBeUndefined();
    expect(journalOf()).toBeUndefined();
  });

  it('propagates a failure of the claim that is not a condition, applying nothing', async () => {
    // GIVEN
    const failure = throttled();
    db.before(
      'Put',
      () => true,
      () => {
        throw failure;
      },
    );

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});
