import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  TransactWriteCommand,
  type TransactWriteCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { TransactionConflictError } from '../../../../functions/runtime/errors';
import {
  InvalidOutboxMessageError,
  MAX_ENVELOPE_BYTES,
  MAX_GROUP_KEY_LENGTH,
  MAX_MESSAGE_ID_LENGTH,
  MAX_SEQUENCE,
  MAX_TYPE_LENGTH,
} from '../../../../functions/runtime/outbox/deliverable-message';
import {
  type OutboxItem,
  parseEnvelope,
  toEnvelope,
} from '../../../../functions/runtime/outbox/outbox-message';
import {
  MAX_BUSINESS_ITEMS,
  type NewOutboxMessage,
  OutboxCommitError,
  OutboxOutcomeUnknownError,
  OutboxWriter,
  type TransactItem,
} from '../../../../functions/runtime/outbox/outbox-writer';

const OUTBOX_TABLE = 'outbox-table';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const TRACEPARENT = /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/;
/** What a message's `type` attribute adds to its size besides the type: the attribute's name and data type. */
const TYPE_ATTRIBUTE_BYTES = 'type'.length + 'String'.length;
/** A traceparent's room in the envelope. */
const A_TRACEPARENT = `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01`;

const ddb = mockClient(DynamoDBDocumentClient);

function newWriter(): OutboxWriter {
  return new OutboxWriter(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    OUTBOX_TABLE,
    () => NOW,
    { sleep: async () => {}, maxAttempts: 3 },
  );
}

function orderUpdate(orderId: string, currentVersion: number): TransactItem {
  return {
    Update: {
      TableName: 'orders-table',
      Key: { orderId },
      UpdateExpression: 'SET version = :next',
      ConditionExpression: 'version = :current',
      ExpressionAttributeValues: { ':next': currentVersion + 1, ':current': currentVersion },
    },
  };
}

function cancelled(codes: readonly string[]): TransactionCanceledException {
  return new TransactionCanceledException({
    message: 'Transaction cancelled',
    $metadata: {},
    CancellationReasons: codes.map((Code) => ({ Code })),
  });
}

function sentTransactItems(): TransactItem[] {
  const calls = ddb.commandCalls(TransactWriteCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input.TransactItems ?? [];
}

beforeEach(() => {
  ddb.reset();
  ddb.on(TransactWriteCommand).resolves({});
});

describe('OutboxWriter.commit', () => {
  describe('one transaction for the business change and its message', () => {
    it('sends the business items and then the outbox message in a single TransactWriteItems', async () => {
      // GIVEN
      const writer = newWriter();
      const business = [orderUpdate('order-1', 3), orderUpdate('order-2', 7)];

      // WHEN
      await writer.commit(business, {
        groupKey: 'order-1',
        sequence: 4,
        type: 'OrderNoteAdded',
        payload: { orderId: 'order-1', text: 'hello' },
        messageId: 'msg-1',
      });

      // THEN
      expect(ddb.calls()).toHaveLength(1);
      const items = sentTransactItems();
      expect(items).toHaveLength(3);
      expect(items.slice(0, 2)).toEqual(business);
      expect(items[2]).toEqual({
        Put: {
          TableName: OUTBOX_TABLE,
          Item: {
            groupKey: 'order-1',
            sequence: 4,
            messageId: 'msg-1',
            type: 'OrderNoteAdded',
            payload: '{"orderId":"order-1","text":"hello"}',
            status: 'PENDING',
            attempts: 0,
            createdAt: NOW.toISOString(),
            // none given, none in the environment (no X-Ray trace): a fresh one
            traceparent: expect.stringMatching(TRACEPARENT),
            // no index keys: the happy path writes no `unsent` index entry (the relay marks what it cannot send)
          },
          ConditionExpression: 'attribute_not_exists(groupKey)',
        },
      });
    });

    it('stores an absent payload as the JSON text null', async () => {
      // GIVEN
      const writer = newWriter();

      // WHEN
      await writer.commit([], { groupKey: 'k', sequence: 1, type: 'Ping', payload: undefined });

      // THEN
      const put = sentTransactItems()[0]?.Put;
      expect(put?.Item?.payload).toBe('null');
    });

    it('resolves only after the transaction has committed', async () => {
      // GIVEN
      const writer = newWriter();
      let commitTransaction: (output: TransactWriteCommandOutput) => void = () => undefined;
      ddb.on(TransactWriteCommand).callsFake(
        () =>
          new Promise<TransactWriteCommandOutput>((resolve) => {
            commitTransaction = resolve;
          }),
      );
      let settled = false;

      // WHEN
      const committing = writer
        .commit([orderUpdate('order-1', 1)], { groupKey: 'order-1', sequence: 2, type: 'T', payload: {} })
        .finally(() => {
          settled = true;
        });
      await new Promise((resolve) => setTimeout(resolve, 10));

      // THEN
      expect(settled).toBe(false);
      commitTransaction({ $metadata: {} });
      await expect(committing).resolves.toMatchObject({ groupKey: 'order-1', sequence: 2 });
      expect(settled).toBe(true);
    });
  });

  describe('the committed message', () => {
    it('is identified by the messageId the caller gave', async () => {
      // GIVEN
      const writer = newWriter();

      // WHEN
      const committed = await writer.commit([], {
        groupKey: 'k',
        sequence: 5,
        type: 'T',
        payload: 1,
        messageId: 'given-id',
      });

      // THEN
      expect(committed).toEqual({ messageId: 'given-id', groupKey: 'k', sequence: 5 });
      expect(sentTransactItems()[0]?.Put?.Item?.messageId).toBe('given-id');
    });

    it('gets a new UUIDv7 messageId, the one stored in the outbox, when the caller gave none', async () => {
      // GIVEN
      const writer = newWriter();

      // WHEN
      const first = await writer.commit([], { groupKey: 'k', sequence: 1, type: 'T', payload: 1 });
      const second = await writer.commit([], { groupKey: 'k', sequence: 2, type: 'T', payload: 1 });

      // THEN
      expect(first.messageId).toMatch(UUID_V7);
      expect(second.messageId).toMatch(UUID_V7);
      expect(second.messageId).not.toBe(first.messageId);
      const stored = ddb
        .commandCalls(TransactWriteCommand)
        .map((call) => call.args[0].input.TransactItems?.[0]?.Put?.Item?.messageId);
      expect(stored).toEqual([first.messageId, second.messageId]);
    });
  });

  describe('the correlation id (traceparent)', () => {
    const GIVEN_TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const message = { groupKey: 'k', sequence: 1, type: 'T', payload: 1 };
    const storedTraceparent = () => sentTransactItems()[0]?.Put?.Item?.traceparent;

    afterEach(() => {
      vi.unstubAllEnvs();
    });

    it('stores the traceparent the caller gave, even in an X-Ray trace', async () => {
      // GIVEN
      vi.stubEnv(
        '_X_AMZN_TRACE_ID',
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      );

      // WHEN
      await newWriter().commit([], { ...message, traceparent: GIVEN_TRACEPARENT });

      // THEN
      expect(storedTraceparent()).toBe(GIVEN_TRACEPARENT);
    });

    it('derives it from the X-Ray trace the function runs in when the caller gave none', async () => {
      // GIVEN
      vi.stubEnv(
        '_X_AMZN_TRACE_ID',
        'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
      );

      // WHEN
      await newWriter().commit([], message);

      // THEN
      expect(storedTraceparent()).toBe('00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01');
    });

    it('stores a fresh one outside a trace, another for each message', async () => {
      // GIVEN
      vi.stubEnv('_X_AMZN_TRACE_ID', '');
      const writer = newWriter();

      // WHEN
      await writer.commit([], message);
      await writer.commit([], { ...message, sequence: 2 });

      // THEN
      const stored = ddb
        .commandCalls(TransactWriteCommand)
        .map((call) => call.args[0].input.TransactItems?.[0]?.Put?.Item?.traceparent as string);
      expect(stored).toEqual([expect.stringMatching(TRACEPARENT), expect.stringMatching(TRACEPARENT)]);
      expect(stored[1]).not.toBe(stored[0]);
    });

    it.each([
      [
        'an X-Ray header',
        'Root=1-5759e988-bd862e3fe1be46a994272793',
        '"Root=1-5759e988-bd862e3fe1be46a994272793"',
      ],
      ['upper-case hex', GIVEN_TRACEPARENT.toUpperCase(), JSON.stringify(GIVEN_TRACEPARENT.toUpperCase())],
      ['an empty string', '', '""'],
      ['a number', 42, 'number'],
    ])('refuses %s as traceparent, naming the field, and writes nothing', async (_, traceparent, shown) => {
      // WHEN
      const committing = newWriter().commit([], { ...message, traceparent } as NewOutboxMessage);

      // THEN
      await expect(committing).rejects.toBeInstanceOf(InvalidOutboxMessageError);
      await expect(committing).rejects.toMatchObject({
        field: 'traceparent',
        message: `traceparent must be a W3C traceparent: 00-<32 hex>-<16 hex>-<2 hex>, lower case, ids not all zeros; got ${shown}; nothing was written`,
      });
      expect(ddb.calls()).toHaveLength(0);
    });

    it('shows at most 64 characters of a traceparent it refuses', async () => {
      const committing = newWriter().commit([], { ...message, traceparent: 'x'.repeat(500) });
      await expect(committing).rejects.toMatchObject({
        message: expect.stringContaining(`got "${'x'.repeat(64)}";`),
      });
    });
  });

  describe('failed conditions', () => {
    it('throws TransactionConflictError naming the business item whose condition failed', async () => {
      // GIVEN
      const writer = newWriter();
      const failure = cancelled(['None', 'ConditionalCheckFailed', 'None']);
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const committing = writer.commit([orderUpdate('a', 1), orderUpdate('b', 1)], {
        groupKey: 'a',
        sequence: 2,
        type: 'T',
        payload: {},
      });

      // THEN
      const error = await committing.catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TransactionConflictError);
      expect(error).toMatchObject({ failedItemIndexes: [1], cause: failure });
    });

    it('names every item whose condition failed, the outbox message being the index after the business items', async () => {
      // GIVEN
      const writer = newWriter();
      ddb
        .on(TransactWriteCommand)
        .rejects(cancelled(['ConditionalCheckFailed', 'None', 'ConditionalCheckFailed']));

      // WHEN
      const committing = writer.commit([orderUpdate('a', 1), orderUpdate('b', 1)], {
        groupKey: 'a',
        sequence: 2,
        type: 'T',
        payload: {},
      });

      // THEN
      await expect(committing).rejects.toBeInstanceOf(TransactionConflictError);
      await expect(committing).rejects.toMatchObject({ failedItemIndexes: [0, 2] });
    });

    it('retries a transaction cancelled for a TransactionConflict, then throws a transient OutboxCommitError', async () => {
      // GIVEN
      const writer = newWriter();
      const failure = cancelled(['TransactionConflict', 'None']);
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const error = await writer
        .commit([orderUpdate('a', 1)], { groupKey: 'a', sequence: 2, type: 'T', payload: {} })
        .catch((caught: unknown) => caught);

      // THEN three attempts, then "nothing was written", transient (503 with Retry-After)
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(3);
      expect(error).toBeInstanceOf(OutboxCommitError);
      expect(error).not.toBeInstanceOf(TransactionConflictError);
      expect(error).toMatchObject({
        transient: true,
        cause: { name: 'TransientFailureError', cause: failure },
        message: expect.stringContaining('a#2'),
      });
    });

    it('commits when a retry after throttling succeeds', async () => {
      // GIVEN
      const writer = newWriter();
      ddb
        .on(TransactWriteCommand)
        .rejectsOnce(new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} }))
        .resolves({});

      // WHEN
      const committed = await writer.commit([orderUpdate('a', 1)], {
        groupKey: 'a',
        sequence: 2,
        type: 'T',
        payload: {},
      });

      // THEN
      expect(committed).toMatchObject({ groupKey: 'a', sequence: 2 });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(2);
    });

    it('throws a deterministic OutboxCommitError, with the SDK error as cause, for a validation error', async () => {
      // GIVEN
      const writer = newWriter();
      const failure = Object.assign(new Error('bad request'), {
        name: 'ValidationException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      });
      ddb.on(TransactWriteCommand).rejects(failure);

      // WHEN
      const error = await writer
        .commit([orderUpdate('a', 1)], { groupKey: 'a', sequence: 2, type: 'T', payload: {} })
        .catch((caught: unknown) => caught);

      // THEN
      expect(error).toBeInstanceOf(OutboxCommitError);
      expect(error).toMatchObject({ cause: failure, transient: false });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it.each([
      ['a timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' })],
      [
        'a 5xx',
        Object.assign(new Error('internal'), {
          name: 'InternalServerError',
          $fault: 'server',
          $metadata: { httpStatusCode: 500 },
        }),
      ],
      ['a reset connection', Object.assign(new Error('reset'), { code: 'ECONNRESET' })],
      [
        'a TransactionInProgressException (the same transaction still running)',
        Object.assign(new Error('in progress'), {
          name: 'TransactionInProgressException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        }),
      ],
    ])(
      'throws OutboxOutcomeUnknownError, never "nothing was written", after %s, without repeating the call',
      async (_, failure) => {
        // GIVEN
        const writer = newWriter();
        ddb.on(TransactWriteCommand).rejects(failure);

        // WHEN
        const error = await writer
          .commit([orderUpdate('a', 1)], { groupKey: 'a', sequence: 2, type: 'T', payload: {} })
          .catch((caught: unknown) => caught);

        // THEN
        expect(error).toBeInstanceOf(OutboxOutcomeUnknownError);
        expect(error).not.toBeInstanceOf(OutboxCommitError);
        expect(error).toMatchObject({ cause: failure });
        expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
      },
    );

    it('sends a ClientRequestToken (the message id), so the SDK’s retry of a call that committed is not applied twice', async () => {
      // WHEN
      await newWriter().commit([orderUpdate('a', 1)], {
        groupKey: 'a',
        sequence: 2,
        type: 'T',
        payload: {},
        messageId: '0190a0b0-0000-7000-8000-000000000001',
      });

      // THEN
      expect(ddb.commandCalls(TransactWriteCommand)[0]?.args[0].input.ClientRequestToken).toBe(
        '0190a0b0-0000-7000-8000-000000000001',
      );
    });
  });

  describe('arguments it refuses before writing anything', () => {
    it(`accepts ${MAX_BUSINESS_ITEMS} business items, the outbox message making 100 transaction items`, async () => {
      // GIVEN
      const writer = newWriter();
      const business = Array.from({ length: MAX_BUSINESS_ITEMS }, (_, index) =>
        orderUpdate(`order-${index}`, 1),
      );

      // WHEN
      await writer.commit(business, { groupKey: 'order-0', sequence: 2, type: 'T', payload: {} });

      // THEN
      expect(sentTransactItems()).toHaveLength(100);
    });

    it(`rejects more than ${MAX_BUSINESS_ITEMS} business items without calling DynamoDB`, async () => {
      // GIVEN
      const writer = newWriter();
      const business = Array.from({ length: MAX_BUSINESS_ITEMS + 1 }, (_, index) =>
        orderUpdate(`order-${index}`, 1),
      );

      // WHEN
      const committing = writer.commit(business, {
        groupKey: 'order-0',
        sequence: 2,
        type: 'T',
        payload: {},
      });

      // THEN
      await expect(committing).rejects.toBeInstanceOf(RangeError);
      expect(ddb.calls()).toHaveLength(0);
    });

    it.each([0, -1, 1.5, Number.NaN, MAX_SEQUENCE + 1])(
      'rejects sequence %s, which is not an integer from 1 to 10^15 - 1, without calling DynamoDB',
      async (sequence) => {
        // GIVEN
        const writer = newWriter();

        // WHEN
        const committing = writer.commit([], { groupKey: 'k', sequence, type: 'T', payload: {} });

        // THEN
        await expect(committing).rejects.toMatchObject({
          name: 'InvalidOutboxMessageError',
          field: 'sequence',
          message: `sequence must be an integer from 1 to ${MAX_SEQUENCE}; got ${sequence}; nothing was written`,
        });
        await expect(committing).rejects.toBeInstanceOf(InvalidOutboxMessageError);
        expect(ddb.calls()).toHaveLength(0);
      },
    );

    const circular: Record<string, unknown> = {};
    circular.self = circular;
    const valid = { groupKey: 'order-1', sequence: 2, type: 'OrderNoteAdded', payload: { text: 'hi' } };
    const LENGTH = (field: string, max: number, got: string) =>
      `${field} must be 1 to ${max} characters; got ${got}; nothing was written`;
    const SQS_ID = (field: string) =>
      `${field} must be only letters, digits and ASCII punctuation (as SQS ids); nothing was written`;
    const TYPE_LENGTH = `type must be 1 to ${MAX_TYPE_LENGTH} characters, not blank; nothing was written`;
    const TYPE_TEXT = 'type must be well-formed text without control characters; nothing was written';
    const NOT_JSON = 'payload must be JSON-serializable; nothing was written';
    it.each([
      ['an empty type (the consumer’s envelope check refuses it)', { type: '' }, 'type', TYPE_LENGTH],
      ['a blank type', { type: '   ' }, 'type', TYPE_LENGTH],
      ['a type that is not a string', { type: 7 }, 'type', TYPE_LENGTH],
      ['a type over 256 characters', { type: 'T'.repeat(MAX_TYPE_LENGTH + 1) }, 'type', TYPE_LENGTH],
      ['a type with a control character', { type: 'Order\u0000Placed' }, 'type', TYPE_TEXT],
      ['a type with U+FFFF, which SQS refuses', { type: 'Order\uffff' }, 'type', TYPE_TEXT],
      ['a type with a lone surrogate', { type: 'Order\ud800' }, 'type', TYPE_TEXT],
      ['an empty group key', { groupKey: '' }, 'groupKey', LENGTH('groupKey', 128, '0 characters')],
      ['a group key that is not a string', { groupKey: 42 }, 'groupKey', LENGTH('groupKey', 128, 'number')],
      [
        'a group key over 128 characters (SQS MessageGroupId)',
        { groupKey: 'k'.repeat(129) },
        'groupKey',
        LENGTH('groupKey', 128, '129 characters'),
      ],
      ['a group key with a space', { groupKey: 'order 1' }, 'groupKey', SQS_ID('groupKey')],
      ['a group key with a non-ASCII letter', { groupKey: 'ordér-1' }, 'groupKey', SQS_ID('groupKey')],
      [
        'a group key with a control character at its end',
        { groupKey: 'order-1\u0001' },
        'groupKey',
        SQS_ID('groupKey'),
      ],
      ['an empty message id', { messageId: '' }, 'messageId', LENGTH('messageId', 64, '0 characters')],
      [
        'a message id over 64 characters',
        { messageId: 'm'.repeat(MAX_MESSAGE_ID_LENGTH + 1) },
        'messageId',
        LENGTH('messageId', 64, '65 characters'),
      ],
      ['a message id with a line break', { messageId: 'm\n1' }, 'messageId', SQS_ID('messageId')],
      ['a payload JSON cannot hold (a BigInt)', { payload: { amount: 1n } }, 'payload', NOT_JSON],
      ['a circular payload', { payload: circular }, 'payload', NOT_JSON],
      ['a payload that serializes to nothing (a function)', { payload: () => 1 }, 'payload', NOT_JSON],
      [
        'a payload with U+FFFE, which SQS refuses',
        { payload: { text: '\ufffe' } },
        'payload',
        'payload holds a character SQS refuses (U+FFFE or U+FFFF); nothing was written',
      ],
      [
        'an envelope over 256 KiB',
        { payload: 'x'.repeat(MAX_ENVELOPE_BYTES) },
        'envelope',
        expect.stringMatching(
          /^envelope would be \d+ bytes with its type attribute; a queue or topic message is at most 262144; nothing was written$/,
        ),
      ],
    ])('rejects %s, naming the field, without calling DynamoDB', async (_, change, field, message) => {
      // GIVEN
      const writer = newWriter();

      // WHEN
      const committing = writer.commit([orderUpdate('order-1', 1)], {
        ...valid,
        ...change,
      } as NewOutboxMessage);

      // THEN
      await expect(committing).rejects.toBeInstanceOf(InvalidOutboxMessageError);
      await expect(committing).rejects.toMatchObject({ name: 'InvalidOutboxMessageError', field, message });
      expect(ddb.calls()).toHaveLength(0);
    });

    it('keeps the cause of a payload JSON cannot hold', async () => {
      const error = await newWriter()
        .commit([], { ...valid, payload: { amount: 1n } })
        .catch((caught: unknown) => caught);
      expect(error).toMatchObject({ cause: expect.any(TypeError) });
    });

    it('accepts a payload with tabs, line breaks and characters beyond the BMP', async () => {
      await newWriter().commit([], { ...valid, payload: { text: 'a\tb\r\nc 😀 \ud7ff \ue000 \ufffd' } });
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
    });

    it('accepts every field at its limit: what SQS and the consumer take', async () => {
      // GIVEN a 128-character group key of every punctuation SQS allows, a 64-character message id, a 256-character
      // type, the largest sequence, and a payload that makes the envelope and its type attribute exactly 256 KiB
      const punctuation = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
      const groupKey = `${punctuation}${'k'.repeat(MAX_GROUP_KEY_LENGTH - punctuation.length)}`;
      const fields = {
        groupKey,
        sequence: MAX_SEQUENCE,
        type: 'T'.repeat(MAX_TYPE_LENGTH),
        messageId: 'm'.repeat(MAX_MESSAGE_ID_LENGTH),
      };
      const envelope = (payload: string) =>
        JSON.stringify({
          ...fields,
          messageId: fields.messageId,
          payload,
          createdAt: NOW.toISOString(),
          traceparent: A_TRACEPARENT,
        });
      const attribute = TYPE_ATTRIBUTE_BYTES + Buffer.byteLength(fields.type, 'utf8');
      const room = MAX_ENVELOPE_BYTES - attribute - Buffer.byteLength(envelope(''), 'utf8');
      const payload = 'é'.repeat(Math.floor(room / 2)) + 'x'.repeat(room % 2);

      // WHEN
      await newWriter().commit([], { ...fields, payload });

      // THEN the relay's message (body and type attribute) is exactly at the limit
      const [outbox] = sentTransactItems();
      const item = outbox?.Put?.Item as OutboxItem;
      expect(Buffer.byteLength(JSON.stringify(toEnvelope(item)), 'utf8') + attribute).toBe(
        MAX_ENVELOPE_BYTES,
      );
      expect(parseEnvelope(JSON.stringify(toEnvelope(item)))).toMatchObject({ groupKey, type: fields.type });
    });

    it('refuses an envelope one byte over 256 KiB', async () => {
      // GIVEN
      const fields = { groupKey: 'k', sequence: 1, type: 'T', messageId: 'm' };
      const base =
        Buffer.byteLength(
          JSON.stringify({
            ...fields,
            payload: '',
            createdAt: NOW.toISOString(),
            traceparent: A_TRACEPARENT,
          }),
          'utf8',
        ) +
        TYPE_ATTRIBUTE_BYTES +
        fields.type.length;
      // WHEN
      const committing = newWriter().commit([], {
        ...fields,
        payload: 'x'.repeat(MAX_ENVELOPE_BYTES - base + 1),
      });
      // THEN
      await expect(committing).rejects.toMatchObject({
        field: 'envelope',
        message: expect.stringContaining(`${MAX_ENVELOPE_BYTES + 1} bytes`),
      });
      expect(ddb.calls()).toHaveLength(0);
    });
  });
});
