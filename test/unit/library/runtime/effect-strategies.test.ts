import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, PutCommand, TransactWriteCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it } from 'vitest';
import { WriteConditionError } from '../../../../functions/runtime/atomic-write';
import {
  applyEffect,
  type DynamoEffect,
  type EffectGuardOptions,
  IDEMPOTENCY_STRATEGIES,
  type IdempotencyStrategy,
  VersionMismatchError,
} from '../../../../functions/runtime/consumer/effect-strategies';
import { MessageInProgressError, ReliableMessagingError } from '../../../../functions/runtime/errors';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import type { TransactItem } from '../../../../functions/runtime/outbox/outbox-writer';
import { isTransientError } from '../../../../functions/runtime/transient-errors';
import {
  type InMemoryDynamoDb,
  type LostAnswer,
  serverErrorAfterWrite,
} from '../../../../tools/dynamodb/in-memory-dynamodb';
import { ddb, INBOX_LOCATION, installTables } from '../../support/consumer-harness';
import { beforeEvery, failEvery, throttled } from '../../support/dynamo-faults';
import {
  CLAIM_SECONDS,
  envelope,
  INBOX_TABLE,
  inboxOf,
  PROJECTION_TABLE,
  RETENTION_SECONDS,
  seconds,
} from '../../support/inbox-fixtures';

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

/** The owner of this suite's `unique` claims (a delivery of this process). */
const OWNER = 'owner-1';
const LOST_ANSWERS: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'];

const defaultOwnerOptions = (): EffectGuardOptions => ({ ...INBOX_LOCATION, clock: () => now });
const options = (): EffectGuardOptions => ({ ...defaultOwnerOptions(), claimOwner: OWNER });

/** Holds for a write that touches the projection table (the effect's, not the inbox's). */
const touchesProjection = (input: {
  TableName?: string | undefined;
  TransactItems?: readonly TransactItem[] | undefined;
}): boolean =>
  input.TableName === PROJECTION_TABLE ||
  (input.TransactItems ?? []).some(
    (item) => (item.Put ?? item.Update ?? item.Delete ?? item.ConditionCheck)?.TableName === PROJECTION_TABLE,
  );

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

/** Seeds the journal as a message of the given sequence left it. */
function seedJournal(version: number, entries: string[] = [`note ${version}`]): void {
  db.seed(PROJECTION_TABLE, { ...journalKey(GROUP), entries, version });
}

beforeEach(() => {
  db = installTables();
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
    failEvery(db, 'TransactWrite', failure);

    // WHEN
    const applying = apply(journal, 'transaction', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toBeUndefined();
    expect(journalOf()).toBeUndefined();
    expect(tallyOf()).toBe(0);
  });
});

describe('the transaction strategy, cancelled for no failed condition of its mark', () => {
  it.each([
    { name: 'no reasons at all', reasons: undefined },
    { name: 'an empty list of reasons', reasons: [] },
    {
      name: 'a failed condition of the effect only',
      reasons: [{ Code: 'None' }, { Code: 'ConditionalCheckFailed' }],
    },
  ])('rethrows a cancellation that gives $name, unchanged', async ({ reasons }) => {
    // GIVEN
    const cancellation = new TransactionCanceledException({
      message: 'cancelled',
      $metadata: {},
      ...(reasons === undefined ? {} : { CancellationReasons: reasons }),
    });
    failEvery(db, 'TransactWrite', cancellation);

    // WHEN
    const applying = apply(journal, 'transaction', message(1));

    // THEN
    await expect(applying).rejects.toBe(cancellation);
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
    expect(error).toMatchObject({ name: 'VersionMismatchError' });
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

  it('finds the target only on its own table, past writes that are no Put or Update', async () => {
    // GIVEN an effect that checks an item, then writes the target's key on another table, then the target
    const sameKeyElsewhere: TransactItem = {
      Update: {
        TableName: INBOX_TABLE,
        Key: journalKey(GROUP),
        UpdateExpression: 'SET seen = :seen',
        ExpressionAttributeValues: { ':seen': true },
      },
    };
    const check: TransactItem = {
      ConditionCheck: {
        TableName: PROJECTION_TABLE,
        Key: tallyKey(GROUP),
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
    const spread: DynamoEffect<Note> = {
      ...journal,
      items: (delivered) => [check, sameKeyElsewhere, journalWrite(delivered)],
    };
    seedJournal(1);

    // WHEN
    const outcome = await apply(spread, 'version', message(2));
    const redelivered = await apply(spread, 'version', message(2));

    // THEN
    expect([outcome, redelivered]).toEqual(['APPLIED', 'DUPLICATE']);
    const [checked, elsewhere, target] = transactItems() ?? [];
    expect(checked).toEqual(check);
    expect(elsewhere).toEqual(sameKeyElsewhere);
    expect(target?.Update?.ConditionExpression).toBe('#effectVersion = :effectPrevious');
    expect(journalOf()).toMatchObject({ entries: ['note 1', 'note 2'], version: 2 });
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
  const recordKey = (delivered: MessageEnvelope<Note>) => ({
    pk: `MSG#${delivered.messageId}`,
    sk: 'EFFECT#journal',
  });
  const claimOf = (delivered: MessageEnvelope<Note>, changes: Record<string, unknown> = {}) => ({
    ...recordKey(delivered),
    status: 'IN_PROGRESS',
    groupKey: GROUP,
    sequence: delivered.sequence,
    claimOwner: OWNER,
    claimExpiresAt: seconds(START) + CLAIM_SECONDS,
    expiresAt: seconds(START) + RETENTION_SECONDS,
    ...changes,
  });
  const completion = (delivered: MessageEnvelope<Note>, owner = OWNER): TransactItem => ({
    Update: {
      TableName: INBOX_TABLE,
      Key: recordKey(delivered),
      UpdateExpression: 'SET #status = :completed REMOVE claimExpiresAt, claimOwner',
      ConditionExpression: '#status = :inProgress AND claimOwner = :owner',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':completed': 'COMPLETED', ':inProgress': 'IN_PROGRESS', ':owner': owner },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    },
  });
  const asOwner = (owner: string, delivered: MessageEnvelope<Note>, effect = journal) =>
    applyEffect(effect, 'unique', delivered, { ...options(), claimOwner: owner });
  const later = (secondsLater: number) => new Date(START.getTime() + secondsLater * 1000);

  it('claims the effect IN_PROGRESS for its owner, then writes the COMPLETED mark and the effect in one transaction', async () => {
    // GIVEN the claim is looked at while the effect is written
    let claimDuringEffect: unknown;
    beforeEvery(db, 'TransactWrite', () => {
      claimDuringEffect = recordOf(message(1));
    });

    // WHEN
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual({
      TableName: INBOX_TABLE,
      Item: claimOf(message(1)),
      ConditionExpression:
        'attribute_not_exists(pk) OR (#status = :inProgress AND (claimExpiresAt < :now OR claimOwner = :owner))',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':now': seconds(START), ':owner': OWNER },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
    expect(claimDuringEffect).toEqual(claimOf(message(1)));
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    expect(transactItems()).toEqual([
      completion(message(1)),
      journalWrite(message(1)),
      tallyWrite(message(1)),
    ]);
    expect(recordOf(message(1))).toEqual({
      ...recordKey(message(1)),
      status: 'COMPLETED',
      groupKey: GROUP,
      sequence: 1,
      expiresAt: seconds(START) + RETENTION_SECONDS,
    });
    expect(journalOf()).toMatchObject({ entries: ['note 1'] });
    expect(writeCount()).toBe(2);
  });

  it('names the transaction with a ClientRequestToken of 36 characters: the same for a repeat, another for another request', async () => {
    // GIVEN a message applied by one owner, and again (a repeat) once its record is gone
    await apply(journal, 'unique', message(1));
    db.remove(INBOX_TABLE, recordKey(message(1)));
    db.remove(PROJECTION_TABLE, journalKey(GROUP));
    await apply(journal, 'unique', message(1));

    // WHEN another owner, another message and another effect apply
    db.remove(INBOX_TABLE, recordKey(message(1)));
    await asOwner('another-owner', message(1));
    await apply(journal, 'unique', message(2));
    await apply({ ...journal, name: 'other' }, 'unique', message(3));

    // THEN
    const tokens = ddb
      .commandCalls(TransactWriteCommand)
      .map((call) => call.args[0].input.ClientRequestToken ?? '');
    expect(tokens).toHaveLength(5);
    for (const token of tokens) expect(token).toMatch(/^[0-9a-f]{36}$/);
    expect(tokens[1]).toBe(tokens[0]);
    expect(new Set(tokens).size).toBe(4);
  });

  it('gives an effect whose writes changed between attempts another token, never an IdempotentParameterMismatch', async () => {
    // GIVEN an effect whose writes differ at each attempt, and a first attempt whose answer was lost
    let attempt = 0;
    const stamped: DynamoEffect<Note> = {
      name: 'journal',
      items: (delivered) => {
        attempt++;
        const write = journalWrite(delivered).Update!;
        return [
          {
            Update: {
              ...write,
              UpdateExpression: `${write.UpdateExpression}, attempt = :attempt`,
              ExpressionAttributeValues: { ...write.ExpressionAttributeValues, ':attempt': attempt },
            },
          },
        ];
      },
    };
    db.loseAnswer('TransactWrite', () => true, 'timeout');
    await expect(apply(stamped, 'unique', message(1))).rejects.toThrow('timed out');
    db.patch(INBOX_TABLE, recordKey(message(1)), { status: 'IN_PROGRESS', claimOwner: OWNER });
    db.remove(PROJECTION_TABLE, journalKey(GROUP));

    // WHEN it is applied again with other writes
    const outcome = await apply(stamped, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(journalOf()).toMatchObject({ entries: ['note 1'], attempt: 2 });
  });

  it('answers DUPLICATE once the record is COMPLETED, without writing the effect again', async () => {
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

  it('refuses with MessageInProgressError while another owner’s claim is live, up to its expiry', async () => {
    // GIVEN a claim of another owner that expires right now
    const claim = claimOf(message(1), { claimOwner: 'another-owner', claimExpiresAt: seconds(START) });
    db.seed(INBOX_TABLE, claim);

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(MessageInProgressError);
    expect(recordOf(message(1))).toEqual(claim);
    expect(tallyOf()).toBe(0);
  });

  it('refuses with MessageInProgressError when the failed claim returns no record, or one without a status', async () => {
    // GIVEN a refusal without the old record, then a record that is not a claim
    beforeEvery(db, 'Put', () => {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
      });
    });
    const withoutRecord = apply(journal, 'unique', message(1));
    db.seed(INBOX_TABLE, { ...recordKey(message(2)), claimExpiresAt: seconds(START) + 60 });

    // WHEN
    const withoutStatus = apply(journal, 'unique', message(2));

    // THEN
    await expect(withoutRecord).rejects.toBeInstanceOf(MessageInProgressError);
    await expect(withoutStatus).rejects.toBeInstanceOf(MessageInProgressError);
    expect(tallyOf()).toBe(0);
  });

  it('takes a live claim of its own again at once (the retry of a claim whose answer was lost)', async () => {
    // GIVEN our own claim, live
    db.seed(INBOX_TABLE, claimOf(message(1), { claimExpiresAt: seconds(START) + 60 }));

    // WHEN
    now = later(30);
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(recordOf(message(1))).toMatchObject({
      status: 'COMPLETED',
      expiresAt: seconds(now) + RETENTION_SECONDS,
    });
    expect(tallyOf()).toBe(1);
  });

  it('is owned by this process unless told: a claim by the default owner is the process’s own', async () => {
    // GIVEN a claim made without an owner given, whose effect met a 500 that wrote nothing
    failEvery(db, 'TransactWrite', serverErrorAfterWrite());
    await expect(applyEffect(journal, 'unique', message(1), defaultOwnerOptions())).rejects.toThrow(
      'internal server error',
    );
    const owner = recordOf(message(1))?.claimOwner;

    // WHEN applied again without an owner given, and by a named owner
    const refused = asOwner('another-owner', message(1));
    const outcome = await applyEffect(journal, 'unique', message(1), defaultOwnerOptions());

    // THEN
    await expect(refused).rejects.toBeInstanceOf(MessageInProgressError);
    expect(outcome).toBe('APPLIED');
    expect(owner).toMatch(/^[0-9a-f-]{36}$/);
    expect(owner).not.toBe(OWNER);
    expect(tallyOf()).toBe(1);
  });

  it('takes over an expired claim (its holder died before its effect) and applies the effect', async () => {
    // GIVEN another owner claimed the effect and died before writing it
    db.seed(INBOX_TABLE, claimOf(message(1), { claimOwner: 'dead-owner' }));

    // WHEN redelivered once the claim has expired
    now = later(CLAIM_SECONDS + 1);
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(recordOf(message(1))).toMatchObject({
      status: 'COMPLETED',
      expiresAt: seconds(now) + RETENTION_SECONDS,
    });
    expect(tallyOf()).toBe(1);
  });

  it('never applies an effect twice when its answer was lost and another owner takes the expired claim over', async () => {
    // GIVEN the effect landed, its answer was lost, and the delivery died
    db.loseAnswer('TransactWrite', () => true, 'timeout');
    await expect(apply(journal, 'unique', message(1))).rejects.toThrow('timed out');

    // WHEN another delivery comes once the claim would have expired
    now = later(CLAIM_SECONDS + 1);
    const outcome = await asOwner('another-owner', message(1));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(tallyOf()).toBe(1);
    expect(journalOf()).toMatchObject({ entries: ['note 1'] });
  });

  it('writes nothing when its claim was taken over before its transaction (its lease ran out), and says so', async () => {
    // GIVEN another owner takes the claim over just before our transaction
    beforeEvery(db, 'TransactWrite', () =>
      db.patch(INBOX_TABLE, recordKey(message(1)), { claimOwner: 'another-owner' }),
    );

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(MessageInProgressError);
    expect(recordOf(message(1))).toMatchObject({ status: 'IN_PROGRESS', claimOwner: 'another-owner' });
    expect(tallyOf()).toBe(0);
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
  });

  it('refuses with MessageInProgressError when its claim vanished before its transaction, writing nothing', async () => {
    // GIVEN
    beforeEvery(db, 'TransactWrite', () => db.remove(INBOX_TABLE, recordKey(message(1))));

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(MessageInProgressError);
    expect(tallyOf()).toBe(0);
  });

  it('answers DUPLICATE when another delivery completed the effect before its transaction', async () => {
    // GIVEN
    beforeEvery(db, 'TransactWrite', () =>
      db.patch(INBOX_TABLE, recordKey(message(1)), { status: 'COMPLETED' }),
    );

    // WHEN
    const outcome = await apply(journal, 'unique', message(1));

    // THEN
    expect(outcome).toBe('DUPLICATE');
    expect(tallyOf()).toBe(0);
  });

  it.each(LOST_ANSWERS)(
    'takes its own claim again when the answer to the claim was lost (%s), and applies the effect once',
    async (outcome) => {
      // GIVEN
      db.loseAnswer('Put', (input) => input.TableName === INBOX_TABLE, outcome);

      // WHEN applied, and retried (as the consumer retries a transient failure)
      const first = await apply(journal, 'unique', message(1)).catch((error: unknown) => error);
      const retried = await apply(journal, 'unique', message(1));

      // THEN
      expect(db.lostAnswerCount).toBe(1);
      if (outcome === 'sdk-retry') expect(first).toBe('APPLIED');
      else expect(isTransientError(first)).toBe(true);
      expect(retried).toBe(outcome === 'sdk-retry' ? 'DUPLICATE' : 'APPLIED');
      expect(tallyOf()).toBe(1);
    },
  );

  it.each(['server-error', 'timeout'] as const)(
    'keeps its claim after an unknown outcome of the effect (%s): no other delivery can claim it before its lease ends',
    async (outcome) => {
      // GIVEN the effect's transaction landed and its answer was lost
      db.loseAnswer('TransactWrite', () => true, outcome);

      // WHEN
      const applying = apply(journal, 'unique', message(1));

      // THEN
      await expect(applying).rejects.toSatisfy(isTransientError);
      expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
      expect(recordOf(message(1))).toMatchObject({ status: 'COMPLETED' });
    },
  );

  it('keeps its claim when the effect failed with an unknown outcome and did not land, and applies it on its retry', async () => {
    // GIVEN a 500 with nothing written
    failEvery(db, 'TransactWrite', serverErrorAfterWrite());

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toThrow('internal server error');
    expect(recordOf(message(1))).toEqual(claimOf(message(1)));
    expect(ddb.commandCalls(DeleteCommand)).toHaveLength(0);
    await expect(asOwner('another-owner', message(1))).rejects.toBeInstanceOf(MessageInProgressError);
    expect(await apply(journal, 'unique', message(1))).toBe('APPLIED');
    expect(tallyOf()).toBe(1);
  });

  it('releases the claim and rethrows when DynamoDB said the effect was not written, so that a redelivery applies it', async () => {
    // GIVEN
    const failure = throttled();
    failEvery(db, 'TransactWrite', failure);

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toBeUndefined();
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual({
      TableName: INBOX_TABLE,
      Key: recordKey(message(1)),
      ConditionExpression: '#status = :inProgress AND claimOwner = :owner',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS', ':owner': OWNER },
    });

    // WHEN redelivered at once, to another owner
    const retried = await asOwner('another-owner', message(1));

    // THEN
    expect(retried).toBe('APPLIED');
    expect(tallyOf()).toBe(1);
  });

  it('rethrows the effect’s error even when releasing the claim fails', async () => {
    // GIVEN
    const failure = throttled();
    failEvery(db, 'TransactWrite', failure);
    failEvery(db, 'Delete', new Error('delete refused'));

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toMatchObject({ status: 'IN_PROGRESS' });
  });

  it('releases the claim through a transient failure of the release, so that a retry can claim again at once', async () => {
    // GIVEN the effect fails, and so does the first attempt to release its claim, for a transient reason
    const failure = throttled();
    failEvery(db, 'TransactWrite', failure);
    failEvery(db, 'Delete', throttled);

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(recordOf(message(1))).toBeUndefined();
    expect(await asOwner('another-owner', message(1))).toBe('APPLIED');
  });

  it('does not release a claim that is no longer its own', async () => {
    // GIVEN the effect fails, and another owner takes the claim over before the release
    failEvery(db, 'TransactWrite', throttled);
    beforeEvery(db, 'Delete', () =>
      db.patch(INBOX_TABLE, recordKey(message(1)), { claimOwner: 'another-owner' }),
    );

    // WHEN
    await expect(apply(journal, 'unique', message(1))).rejects.toThrow('slow down');

    // THEN
    expect(recordOf(message(1))).toMatchObject({ status: 'IN_PROGRESS', claimOwner: 'another-owner' });
  });

  it('does not release a claim that another delivery completed meanwhile', async () => {
    // GIVEN
    failEvery(db, 'TransactWrite', throttled);
    beforeEvery(db, 'Delete', () => db.patch(INBOX_TABLE, recordKey(message(1)), { status: 'COMPLETED' }));

    // WHEN
    await expect(apply(journal, 'unique', message(1))).rejects.toThrow('slow down');

    // THEN
    expect(recordOf(message(1))).toMatchObject({ status: 'COMPLETED' });
  });

  it('writes an effect of a single write in one transaction with its mark', async () => {
    // GIVEN
    const single: DynamoEffect<Note> = { name: 'journal', items: (delivered) => [journalWrite(delivered)] };

    // WHEN
    const outcome = await apply(single, 'unique', message(1));

    // THEN
    expect(outcome).toBe('APPLIED');
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(0);
    expect(transactItems()).toEqual([completion(message(1)), journalWrite(message(1))]);
    expect(journalOf()).toMatchObject({ entries: ['note 1'], version: 1 });
    expect(recordOf(message(1))).toMatchObject({ status: 'COMPLETED' });
  });

  it('releases the claim and rethrows WriteConditionError, indexed as the effect’s writes, when a write fails its condition', async () => {
    // GIVEN an effect whose second write needs its item to exist already
    const guarded: DynamoEffect<Note> = {
      name: 'journal',
      items: (delivered) => [
        journalWrite(delivered),
        {
          Update: {
            ...tallyWrite(delivered).Update!,
            ConditionExpression: 'attribute_exists(pk)',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          },
        },
      ],
    };

    // WHEN
    const applying = apply(guarded, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBeInstanceOf(WriteConditionError);
    const error = (await applying.catch((caught: unknown) => caught)) as WriteConditionError;
    expect(error.index).toBe(1);
    expect(error.oldItem).toBeUndefined();
    expect([...error.failures.keys()]).toEqual([1]);
    expect(error.cause).toBeInstanceOf(TransactionCanceledException);
    expect(recordOf(message(1))).toBeUndefined();
    expect(journalOf()).toBeUndefined();
  });

  it('rethrows a cancellation that is no failed condition as it is, and releases the claim', async () => {
    // GIVEN
    const conflict = new TransactionCanceledException({
      message: 'conflict',
      $metadata: {},
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }, { Code: 'None' }],
    });
    failEvery(db, 'TransactWrite', conflict);

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(conflict);
    expect(recordOf(message(1))).toBeUndefined();
  });

  it('propagates a failure of the claim that is not a condition, applying nothing', async () => {
    // GIVEN
    const failure = throttled();
    failEvery(db, 'Put', failure);

    // WHEN
    const applying = apply(journal, 'unique', message(1));

    // THEN
    await expect(applying).rejects.toBe(failure);
    expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(0);
  });
});

describe('every strategy, when the answer to the effect’s write is lost after it landed', () => {
  const single: DynamoEffect<Note> = { ...journal, items: (delivered) => [journalWrite(delivered)] };
  /** The effect's write (the one that touches the projection): a plain Update only for one versioned write. */
  const cases = IDEMPOTENCY_STRATEGIES.flatMap((strategy) =>
    [
      { effect: journal, writes: 2 },
      { effect: single, writes: 1 },
    ].flatMap(({ effect, writes }) =>
      LOST_ANSWERS.map((outcome) => ({
        strategy,
        effect,
        writes,
        outcome,
        kind: strategy === 'version' && writes === 1 ? ('Update' as const) : ('TransactWrite' as const),
      })),
    ),
  );

  it.each(cases)(
    '$strategy, $writes write(s), $outcome: the retry answers DUPLICATE and the effect is there once',
    async ({ strategy, effect, outcome, kind }) => {
      // GIVEN the journal at version 1, and the answer to message 2's effect lost after it landed
      seedJournal(1);
      db.loseAnswer(kind, touchesProjection, outcome);

      // WHEN applied, then retried (the consumer's in-process retry, or a redelivery)
      const first = await apply(effect, strategy, message(2)).catch((error: unknown) => error);
      const retried = await apply(effect, strategy, message(2));
      const again = await apply(effect, strategy, message(2));

      // THEN the first answer is APPLIED or DUPLICATE, or a transient error (never one that would park the key)
      expect(db.lostAnswerCount).toBe(1);
      if (outcome === 'sdk-retry') expect(['APPLIED', 'DUPLICATE']).toContain(first);
      else expect(isTransientError(first)).toBe(true);
      expect([retried, again]).toEqual(['DUPLICATE', 'DUPLICATE']);
      expect(journalOf()).toMatchObject({ entries: ['note 1', 'note 2'], version: 2 });
      expect(tallyOf()).toBe(effect === journal ? 1 : 0);
    },
  );

  it.each(LOST_ANSWERS)(
    'version, a write of its own condition besides the target’s, %s: the retry answers DUPLICATE, not the other write’s failure',
    async (outcome) => {
      // GIVEN an effect whose first write is conditional on its own (the tally is written once), the second the target
      const conditioned: DynamoEffect<Note> = {
        ...journal,
        items: (delivered) => [
          {
            Update: {
              ...tallyWrite(delivered).Update!,
              ConditionExpression: 'attribute_not_exists(applied)',
            },
          },
          journalWrite(delivered),
        ],
      };
      seedJournal(1);
      db.loseAnswer('TransactWrite', touchesProjection, outcome);

      // WHEN
      const first = await apply(conditioned, 'version', message(2)).catch((error: unknown) => error);
      const retried = await apply(conditioned, 'version', message(2));

      // THEN
      expect(first === 'DUPLICATE' || isTransientError(first)).toBe(true);
      expect(retried).toBe('DUPLICATE');
      expect(tallyOf()).toBe(1);
      expect(journalOf()).toMatchObject({ entries: ['note 1', 'note 2'], version: 2 });
    },
  );

  it.each(LOST_ANSWERS)(
    'version, a message the effect has nothing to write for, %s: the retry answers DUPLICATE',
    async (outcome) => {
      // GIVEN
      const unconcerned: DynamoEffect<Note> = { ...journal, items: () => [] };
      seedJournal(1);
      db.loseAnswer('Update', touchesProjection, outcome);

      // WHEN
      const first = await apply(unconcerned, 'version', message(2)).catch((error: unknown) => error);
      const retried = await apply(unconcerned, 'version', message(2));

      // THEN
      expect(first === 'DUPLICATE' || isTransientError(first)).toBe(true);
      expect(retried).toBe('DUPLICATE');
      expect(journalOf()).toMatchObject({ entries: ['note 1'], version: 2 });
    },
  );
});
