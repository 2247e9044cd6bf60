import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  QueryCommand,
  TransactionCanceledException,
  TransactWriteItemsCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import {
  GetQueueAttributesCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandInput,
  type SendMessageBatchCommandOutput,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { BatchWriteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ReliableMessagingError } from '../../../../functions/runtime/errors';
import {
  DYNAMODB_WRITE_COMMANDS,
  injectAmbiguousWrites,
} from '../../../../functions/runtime/faults/ambiguous-writes';
import { failIfPoison, maybeCrashAfterEffect } from '../../../../functions/runtime/faults/consumer-faults';
import { parseFaultConfig } from '../../../../functions/runtime/faults/fault-config';
import {
  chance,
  type FaultSource,
  faultSourceFromEnvironment,
  InjectedFaultError,
  NO_FAULTS,
  ParameterFaultSource,
} from '../../../../functions/runtime/faults/fault-injector';
import { dropSkippedRecords, relayFaultHooks } from '../../../../functions/runtime/faults/relay-faults';
import {
  injectSendFaults,
  injectServiceFaults,
  injectThrottling,
} from '../../../../functions/runtime/faults/service-faults';
import type { MessageEnvelope } from '../../../../functions/runtime/outbox/outbox-message';
import { queueDestination } from '../../../../functions/runtime/relay/message-destination';
import { OutboxPublisher } from '../../../../functions/runtime/relay/outbox-publisher';
import type { RelayCandidate } from '../../../../functions/runtime/relay/stream-records';
import { isOutcomeUnknown, isTransientError } from '../../../../functions/runtime/transient-errors';
import {
  CREDENTIALS,
  relayCandidate as candidate,
  destinationEntry as entry,
  faultsOf,
  REGION,
  relayDocumentClient,
} from '../support/fault-kit-harness';

const QUEUE_URL = 'https://sqs.us-east-1.amazonaws.com/123456789012/orders.fifo';

/** A `random` that answers `values` in turn (and fails the test if asked once more). */
function randomOf(...values: number[]): () => number {
  const queue = [...values];
  return () => {
    const value = queue.shift();
    if (value === undefined) throw new Error('random called more often than expected');
    return value;
  };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('parseFaultConfig', () => {
  it('accepts every fault, and returns the configuration', () => {
    // GIVEN
    const config = {
      relayCrashAfterSend: 0.5,
      sendFailureRate: 0.3,
      queueUnreachable: true,
      relaySkipRecord: 0.1,
      duplicateDelivery: 0.2,
      reorderDelivery: 0.4,
      consumerCrashAfterEffect: 0.05,
      poisonKey: 'order-13',
      throttleRate: 0.01,
      transactionConflictRate: 0.05,
      serviceErrorRate: 0.02,
      throttleBurstRate: 0.02,
      ambiguousCommitRate: 0.05,
      ambiguousWriteRate: 0.03,
    };

    // WHEN / THEN
    expect(parseFaultConfig(JSON.stringify(config))).toEqual(config);
  });

  it('accepts no faults at all, and the rates 0 and 1', () => {
    expect(parseFaultConfig('{}')).toEqual({});
    expect(parseFaultConfig('{"sendFailureRate":0,"throttleRate":1}')).toEqual({
      sendFailureRate: 0,
      throttleRate: 1,
    });
  });

  it('refuses an unknown fault, naming it', () => {
    expect(() => parseFaultConfig('{"sendFailureRat":0.5}')).toThrow(
      /fault configuration is invalid: .*Unrecognized key.*sendFailureRat/,
    );
  });

  it.each([
    ['a rate above 1', '{"sendFailureRate":1.5}', /sendFailureRate: .*<=\s*1/],
    ['a negative rate', '{"throttleRate":-0.1}', /throttleRate: .*>=\s*0/],
    ['a rate that is not a number', '{"duplicateDelivery":"often"}', /duplicateDelivery: .*number/],
    ['queueUnreachable that is not a boolean', '{"queueUnreachable":"yes"}', /queueUnreachable: .*boolean/],
    ['an empty poison key', '{"poisonKey":""}', /poisonKey: /],
  ])('refuses %s, saying which fault is wrong', (_case, text, problem) => {
    expect(() => parseFaultConfig(text)).toThrow(/^fault configuration is invalid: /);
    expect(() => parseFaultConfig(text)).toThrow(problem);
  });

  it('lists every problem of the configuration', () => {
    expect(() => parseFaultConfig('{"sendFailureRate":2,"relaySkipRecord":-1}')).toThrow(
      /sendFailureRate: .*; relaySkipRecord: /,
    );
  });

  it.each(['[]', 'null', '0.5', '"faults"'])('refuses JSON that is not an object: %s', (text) => {
    expect(() => parseFaultConfig(text)).toThrow(/^fault configuration is invalid: /);
  });

  it('refuses text that is not JSON, saying so', () => {
    expect(() => parseFaultConfig('sendFailureRate=0.5')).toThrow(/^fault configuration is not JSON: /);
  });
});

describe('chance', () => {
  it('is never true without a rate or with rate 0, and then draws nothing', () => {
    const random = vi.fn(() => 0);
    expect(chance(undefined, random)).toBe(false);
    expect(chance(0, random)).toBe(false);
    expect(random).not.toHaveBeenCalled();
  });

  it('is true when the draw is below the rate', () => {
    expect(chance(0.3, () => 0.29)).toBe(true);
    expect(chance(0.3, () => 0.3)).toBe(false);
    expect(chance(1, () => 0.999_999)).toBe(true);
  });

  it('draws from Math.random by default', () => {
    vi.spyOn(Math, 'random').mockReturnValueOnce(0.2).mockReturnValueOnce(0.8);
    expect(chance(0.5)).toBe(true);
    expect(chance(0.5)).toBe(false);
  });
});

describe('InjectedFaultError', () => {
  it('is a ReliableMessagingError that names the injected fault', () => {
    const error = new InjectedFaultError('relay crashed');
    expect(error).toBeInstanceOf(ReliableMessagingError);
    expect(error.name).toBe('InjectedFaultError');
    expect(error.message).toBe('injected fault: relay crashed');
  });
});

describe('fault sources', () => {
  const ssm = mockClient(SSMClient);

  beforeEach(() => {
    ssm.reset();
    ssm.onAnyCommand().rejects(new Error('unexpected SSM command'));
  });

  it('NO_FAULTS answers an empty configuration', async () => {
    expect(await NO_FAULTS.current()).toEqual({});
  });

  describe('ParameterFaultSource', () => {
    it('reads and parses the named SSM parameter', async () => {
      // GIVEN
      ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '{"poisonKey":"order-7"}' } });
      const source = new ParameterFaultSource(new SSMClient({ region: REGION }), '/faults/demo');

      // WHEN
      const config = await source.current();

      // THEN
      expect(config).toEqual({ poisonKey: 'order-7' });
      expect(ssm.commandCalls(GetParameterCommand).map((call) => call.args[0].input)).toEqual([
        { Name: '/faults/demo' },
      ]);
    });

    it('keeps the configuration for ttlMs, then reads the parameter again', async () => {
      // GIVEN
      ssm
        .on(GetParameterCommand)
        .resolvesOnce({ Parameter: { Value: '{"throttleRate":0.1}' } })
        .resolves({ Parameter: { Value: '{"throttleRate":0.9}' } });
      let clock = 10_000;
      const source = new ParameterFaultSource(new SSMClient({ region: REGION }), '/faults', 500, () => clock);

      // WHEN
      const first = await source.current();
      clock += 499;
      const cached = await source.current();
      clock += 1;
      const reread = await source.current();
      clock += 499;
      const cachedAgain = await source.current();

      // THEN
      expect([first, cached, reread, cachedAgain]).toEqual([
        { throttleRate: 0.1 },
        { throttleRate: 0.1 },
        { throttleRate: 0.9 },
        { throttleRate: 0.9 },
      ]);
      expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(2);
    });

    it('answers no faults for a parameter without a value', async () => {
      // GIVEN
      ssm.on(GetParameterCommand).resolves({ Parameter: {} });
      const source = new ParameterFaultSource(new SSMClient({ region: REGION }), '/faults');

      // WHEN / THEN
      expect(await source.current()).toEqual({});
    });

    it('fails on an invalid configuration, and does not keep it', async () => {
      // GIVEN
      ssm
        .on(GetParameterCommand)
        .resolvesOnce({ Parameter: { Value: '{"sendFailureRate":7}' } })
        .resolves({ Parameter: { Value: '{"sendFailureRate":0.7}' } });
      const source = new ParameterFaultSource(new SSMClient({ region: REGION }), '/faults', 60_000, () => 0);

      // WHEN / THEN
      await expect(source.current()).rejects.toThrow(/fault configuration is invalid: sendFailureRate/);
      expect(await source.current()).toEqual({ sendFailureRate: 0.7 });
    });
  });

  describe('faultSourceFromEnvironment', () => {
    it.each([
      ['is not set', {}],
      ['is empty', { FAULTS_PARAMETER_NAME: '' }],
    ])('is NO_FAULTS when FAULTS_PARAMETER_NAME %s', async (_case, env) => {
      // WHEN
      const source = faultSourceFromEnvironment(env);

      // THEN
      expect(source).toBe(NO_FAULTS);
      expect(await source.current()).toEqual({});
      expect(ssm.calls()).toHaveLength(0);
    });

    it('reads the parameter FAULTS_PARAMETER_NAME names', async () => {
      // GIVEN
      ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '{"queueUnreachable":true}' } });

      // WHEN
      const source = faultSourceFromEnvironment({ FAULTS_PARAMETER_NAME: '/stack/faults' });

      // THEN
      expect(source).toBeInstanceOf(ParameterFaultSource);
      expect(await source.current()).toEqual({ queueUnreachable: true });
      expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({ Name: '/stack/faults' });
    });
  });
});

describe('consumer faults', () => {
  function envelope(groupKey: string): MessageEnvelope {
    return {
      messageId: `msg-${groupKey}`,
      groupKey,
      sequence: 1,
      type: 'OrderNoteAdded',
      payload: {},
      createdAt: '2026-03-01T12:00:00.000Z',
    };
  }

  describe('failIfPoison', () => {
    it('fails every message of the poison key', async () => {
      await expect(failIfPoison(faultsOf({ poisonKey: 'order-13' }), envelope('order-13'))).rejects.toThrow(
        new InjectedFaultError('poison message of key order-13'),
      );
      await expect(
        failIfPoison(faultsOf({ poisonKey: 'order-13' }), envelope('order-13')),
      ).rejects.toBeInstanceOf(InjectedFaultError);
    });

    it('lets the other keys through, and everything through without a poison key', async () => {
      await expect(
        failIfPoison(faultsOf({ poisonKey: 'order-13' }), envelope('order-1')),
      ).resolves.toBeUndefined();
      await expect(failIfPoison(faultsOf({}), envelope('order-13'))).resolves.toBeUndefined();
    });

    it('fails the poison key only in the consumer of poisonGroup', async () => {
      // GIVEN the key poisoned for the audit group only
      const faults = faultsOf({ poisonKey: 'order-13', poisonGroup: 'audit' });

      // WHEN / THEN the audit consumer fails it, naming the group
      await expect(failIfPoison(faults, envelope('order-13'), 'audit')).rejects.toThrow(
        new InjectedFaultError('poison message of key order-13 in group audit'),
      );
      // and the other groups' consumers, and a consumer of no group, let it through
      await expect(failIfPoison(faults, envelope('order-13'), 'shipping')).resolves.toBeUndefined();
      await expect(failIfPoison(faults, envelope('order-13'), undefined)).resolves.toBeUndefined();
      // as the audit consumer lets the other keys through
      await expect(failIfPoison(faults, envelope('order-1'), 'audit')).resolves.toBeUndefined();
    });

    it('fails the poison key in every group without poisonGroup', async () => {
      await expect(
        failIfPoison(faultsOf({ poisonKey: 'order-13' }), envelope('order-13'), 'shipping'),
      ).rejects.toBeInstanceOf(InjectedFaultError);
    });

    it('reads the consumer group from CONSUMER_GROUP by default', async () => {
      // GIVEN a consumer of the shipping group
      vi.stubEnv('CONSUMER_GROUP', 'shipping');
      const faults = faultsOf({ poisonKey: 'order-13', poisonGroup: 'shipping' });

      // WHEN / THEN
      await expect(failIfPoison(faults, envelope('order-13'))).rejects.toBeInstanceOf(InjectedFaultError);
      vi.stubEnv('CONSUMER_GROUP', 'audit');
      await expect(failIfPoison(faults, envelope('order-13'))).resolves.toBeUndefined();
      vi.unstubAllEnvs();
    });
  });

  describe('maybeCrashAfterEffect', () => {
    it('crashes when the draw falls below consumerCrashAfterEffect', async () => {
      await expect(
        maybeCrashAfterEffect(faultsOf({ consumerCrashAfterEffect: 0.25 }), () => 0.2),
      ).rejects.toThrow(new InjectedFaultError('consumer crashed after the effect, before the ack'));
    });

    it('does not crash when the draw is above it, or without the fault', async () => {
      await expect(
        maybeCrashAfterEffect(faultsOf({ consumerCrashAfterEffect: 0.25 }), () => 0.3),
      ).resolves.toBeUndefined();
      await expect(maybeCrashAfterEffect(faultsOf({}), () => 0)).resolves.toBeUndefined();
    });
  });
});

function mockedSqs() {
  const sqs = new SQSClient({ region: REGION, credentials: CREDENTIALS });
  const sqsMock = mockClient(sqs);
  sqsMock.onAnyCommand().rejects(new Error('unexpected SQS command'));
  sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  return { sqs, sqsMock };
}

describe('relay faults', () => {
  let sqs: SQSClient;
  let sqsMock: ReturnType<typeof mockedSqs>['sqsMock'];

  const batches = () => sqsMock.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input);

  beforeEach(() => {
    ({ sqs, sqsMock } = mockedSqs());
  });

  describe('beforeSend (reorderDelivery)', () => {
    it('swaps consecutive messages of one key, never messages of different keys, and keeps the entry ids', async () => {
      // GIVEN
      const hooks = relayFaultHooks(
        faultsOf({ reorderDelivery: 1 }),
        queueDestination(sqs, QUEUE_URL),
        () => 0,
      );
      const entries = [
        entry('a', 1),
        entry('a', 2),
        entry('a', 3),
        entry('b', 1),
        entry('c', 1),
        entry('b', 2),
      ];

      // WHEN
      const reordered = await hooks.beforeSend!(entries);

      // THEN a1↔a2 swapped; a3 has no same-key neighbour; b1, c1, b2 are not adjacent pairs of one key
      expect(reordered.map((e) => e.Id)).toEqual(['a-2', 'a-1', 'a-3', 'b-1', 'c-1', 'b-2']);
      expect(reordered[0]).toEqual(entry('a', 2));
      expect(entries.map((e) => e.Id)).toEqual(['a-1', 'a-2', 'a-3', 'b-1', 'c-1', 'b-2']);
    });

    it('swaps a pair only when its draw falls below the rate', async () => {
      // GIVEN draws for the pairs (a1,a2): no, (a2,a3): yes
      const hooks = relayFaultHooks(
        faultsOf({ reorderDelivery: 0.5 }),
        queueDestination(sqs, QUEUE_URL),
        randomOf(0.7, 0.4),
      );

      // WHEN
      const reordered = await hooks.beforeSend!([entry('a', 1), entry('a', 2), entry('a', 3)]);

      // THEN
      expect(reordered.map((e) => e.Id)).toEqual(['a-1', 'a-3', 'a-2']);
    });

    it('leaves the entries as they are without the fault', async () => {
      // GIVEN
      const hooks = relayFaultHooks(faultsOf({}), queueDestination(sqs, QUEUE_URL), randomOf());
      const entries = [entry('a', 1), entry('a', 2)];

      // WHEN / THEN
      expect(await hooks.beforeSend!(entries)).toEqual([entry('a', 1), entry('a', 2)]);
    });
  });

  describe('afterSend (duplicateDelivery)', () => {
    it('sends a copy of each sent message under another deduplication id', async () => {
      // GIVEN
      const hooks = relayFaultHooks(
        faultsOf({ duplicateDelivery: 1 }),
        queueDestination(sqs, QUEUE_URL),
        () => 0.5,
      );

      // WHEN
      await hooks.afterSend!([entry('a', 1), entry('b', 1)]);

      // THEN
      expect(batches()).toHaveLength(1);
      expect(batches()[0]?.QueueUrl).toBe(QUEUE_URL);
      expect(batches()[0]?.Entries).toEqual([
        { ...entry('a', 1), Id: 'duplicate-0', MessageDeduplicationId: 'msg-a-1-duplicate-500000000' },
        { ...entry('b', 1), Id: 'duplicate-1', MessageDeduplicationId: 'msg-b-1-duplicate-500000000' },
      ]);
    });

    it('copies only the messages whose draw falls below the rate', async () => {
      // GIVEN draws: a1 no, b1 yes, then the copy's id
      const hooks = relayFaultHooks(
        faultsOf({ duplicateDelivery: 0.5 }),
        queueDestination(sqs, QUEUE_URL),
        randomOf(0.9, 0.1, 0.123_456_789_9),
      );

      // WHEN
      await hooks.afterSend!([entry('a', 1), entry('b', 1)]);

      // THEN
      expect(batches().map((batch) => batch.Entries)).toEqual([
        [{ ...entry('b', 1), Id: 'duplicate-0', MessageDeduplicationId: 'msg-b-1-duplicate-123456789' }],
      ]);
    });

    it('sends the copies 10 per batch, with distinct ids', async () => {
      // GIVEN
      const hooks = relayFaultHooks(
        faultsOf({ duplicateDelivery: 1 }),
        queueDestination(sqs, QUEUE_URL),
        () => 0,
      );
      const entries = Array.from({ length: 12 }, (_, index) => entry(`k${index}`, 1));

      // WHEN
      await hooks.afterSend!(entries);

      // THEN
      expect(batches().map((batch) => batch.Entries?.length)).toEqual([10, 2]);
      const copies = batches().flatMap((batch) => batch.Entries ?? []);
      expect(new Set(copies.map((copy) => copy.Id)).size).toBe(12);
      expect(copies.map((copy) => copy.MessageGroupId)).toEqual(entries.map((e) => e.MessageGroupId));
    });

    it('ignores a copy SQS refused: a lost copy is no fault of the relay', async () => {
      // GIVEN
      sqsMock.on(SendMessageBatchCommand).rejects(new Error('queue unavailable'));
      const hooks = relayFaultHooks(
        faultsOf({ duplicateDelivery: 1 }),
        queueDestination(sqs, QUEUE_URL),
        () => 0,
      );

      // WHEN / THEN
      await expect(hooks.afterSend!([entry('a', 1)])).resolves.toBeUndefined();
      expect(batches()).toHaveLength(1);
    });

    it('sends nothing without the fault', async () => {
      // GIVEN
      const hooks = relayFaultHooks(faultsOf({}), queueDestination(sqs, QUEUE_URL), () => 0);

      // WHEN
      await hooks.afterSend!([entry('a', 1)]);

      // THEN
      expect(sqsMock.calls()).toHaveLength(0);
    });
  });

  describe('beforeDelete (relayCrashAfterSend)', () => {
    it('crashes with relayCrashAfterSend = 1', async () => {
      const hooks = relayFaultHooks(
        faultsOf({ relayCrashAfterSend: 1 }),
        queueDestination(sqs, QUEUE_URL),
        () => 0.99,
      );
      await expect(hooks.beforeDelete!()).rejects.toThrow(
        new InjectedFaultError('relay crashed after send, before delete'),
      );
    });

    it('does not crash when the draw is above the rate, or without the fault', async () => {
      await expect(
        relayFaultHooks(faultsOf({ relayCrashAfterSend: 0.5 }), queueDestination(sqs, QUEUE_URL), () => 0.5)
          .beforeDelete!(),
      ).resolves.toBeUndefined();
      await expect(
        relayFaultHooks(faultsOf({}), queueDestination(sqs, QUEUE_URL), () => 0).beforeDelete!(),
      ).resolves.toBeUndefined();
    });
  });

  describe('in the relay', () => {
    const OUTBOX_TABLE = 'outbox-table';

    function relayWith(faults: FaultSource, random: () => number) {
      const { dynamodb, ddbMock } = relayDocumentClient();
      const relay = new OutboxPublisher({
        sqs,
        dynamodb,
        queueUrl: QUEUE_URL,
        outboxTableName: OUTBOX_TABLE,
        hooks: relayFaultHooks(faults, queueDestination(sqs, QUEUE_URL), random),
      });
      return { relay, ddbMock };
    }

    /** SQS accepts every entry but those of the given deduplication ids. */
    function sqsRejecting(...messageIds: string[]) {
      return async (input: SendMessageBatchCommandInput): Promise<SendMessageBatchCommandOutput> => {
        const entries = input.Entries ?? [];
        const refused = (e: SendMessageBatchRequestEntry) =>
          messageIds.includes(e.MessageDeduplicationId ?? '');
        return {
          $metadata: {},
          Successful: entries
            .filter((e) => !refused(e))
            .map((e) => ({ Id: e.Id, MessageId: 'm', MD5OfMessageBody: 'md5' })),
          Failed: entries
            .filter(refused)
            .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'no' })),
        };
      };
    }

    it('crashes after SQS accepted the messages and before any is deleted from the outbox', async () => {
      // GIVEN
      sqsMock.on(SendMessageBatchCommand).callsFake(sqsRejecting());
      const { relay, ddbMock } = relayWith(faultsOf({ relayCrashAfterSend: 1 }), () => 0);

      // WHEN / THEN
      await expect(relay.relay([candidate('a', 1), candidate('b', 1)])).rejects.toBeInstanceOf(
        InjectedFaultError,
      );
      expect(batches()).toHaveLength(1);
      expect(ddbMock.calls()).toHaveLength(0);
    });

    it('reorders within the batch, yet reads Failed[] by entry id: the failed message and its successors fail', async () => {
      // GIVEN a1 and a2 swapped on the way out; SQS refuses a1
      sqsMock.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-a-1'));
      const { relay } = relayWith(faultsOf({ reorderDelivery: 1 }), () => 0);

      // WHEN
      const result = await relay.relay([candidate('a', 1), candidate('a', 2), candidate('b', 1)]);

      // THEN
      expect(batches()[0]?.Entries?.map((e) => e.MessageDeduplicationId)).toEqual([
        'msg-a-2',
        'msg-a-1',
        'msg-b-1',
      ]);
      expect(result.sent.map((c) => c.item.messageId)).toEqual(['msg-b-1']);
      expect(result.failures.map((f) => [f.candidate.item.messageId, f.error])).toEqual([
        ['msg-a-1', 'InternalError: no'],
        ['msg-a-2', 'not sent: an earlier message of its key failed'],
      ]);
    });

    it('sends the duplicates after the batch, without counting them as sent', async () => {
      // GIVEN
      sqsMock.on(SendMessageBatchCommand).callsFake(sqsRejecting('msg-b-1'));
      const { relay, ddbMock } = relayWith(faultsOf({ duplicateDelivery: 1 }), () => 0);

      // WHEN
      const result = await relay.relay([candidate('a', 1), candidate('b', 1)]);

      // THEN only the accepted message was copied
      expect(batches().map((batch) => batch.Entries?.map((e) => e.MessageDeduplicationId))).toEqual([
        ['msg-a-1', 'msg-b-1'],
        ['msg-a-1-duplicate-0'],
      ]);
      expect(result.sent.map((c) => c.item.messageId)).toEqual(['msg-a-1']);
      expect(ddbMock.commandCalls(BatchWriteCommand)).toHaveLength(1);
    });
  });

  describe('dropSkippedRecords (relaySkipRecord)', () => {
    const candidates: RelayCandidate[] = ['a', 'b', 'c'].map((groupKey) => ({
      recordId: `record-${groupKey}`,
      item: {
        groupKey,
        sequence: 1,
        messageId: `msg-${groupKey}`,
        type: 'T',
        payload: '{}',
        status: 'PENDING',
        attempts: 0,
        createdAt: '2026-03-01T12:00:00.000Z',
      },
    }));

    it('drops the records whose draw falls below the rate and keeps the others, in order', async () => {
      // WHEN
      const { kept, dropped } = await dropSkippedRecords(
        faultsOf({ relaySkipRecord: 0.5 }),
        candidates,
        randomOf(0.1, 0.9, 0.2),
      );

      // THEN
      expect(dropped.map((c) => c.recordId)).toEqual(['record-a', 'record-c']);
      expect(kept.map((c) => c.recordId)).toEqual(['record-b']);
    });

    it('keeps every record without the fault, and drops every one at rate 1', async () => {
      expect(await dropSkippedRecords(faultsOf({}), candidates, randomOf())).toEqual({
        kept: candidates,
        dropped: [],
      });
      expect(await dropSkippedRecords(faultsOf({ relaySkipRecord: 1 }), candidates, () => 0.99)).toEqual({
        kept: [],
        dropped: candidates,
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------------------
// The service faults are middleware, so they run only in a real client: these tests give SQS and DynamoDB
// clients a fake transport that answers as the services do (AWS JSON 1.0 protocol) and records what reached it.
// ---------------------------------------------------------------------------------------------------------

interface WireCall {
  readonly target: string;
  readonly attempt: string;
  readonly body: Record<string, unknown>;
}

interface SqsBatchBody {
  Entries: { Id: string; MessageBody: string }[];
}

const md5 = (text: string) => createHash('md5').update(text).digest('hex');

/** A fake AWS JSON endpoint: `answer` builds the response body of each call it receives. */
function fakeEndpoint(answer: (call: WireCall) => unknown) {
  const calls: WireCall[] = [];
  const requestHandler = {
    handle: async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
      const call: WireCall = {
        target: String(request.headers['x-amz-target']),
        attempt: String(request.headers['amz-sdk-request']),
        body: JSON.parse(String(request.body)) as Record<string, unknown>,
      };
      calls.push(call);
      return {
        response: {
          statusCode: 200,
          headers: {
            'x-amzn-requestid': `request-${calls.length}`,
            'content-type': 'application/x-amz-json-1.0',
          },
          body: Readable.from([Buffer.from(JSON.stringify(answer(call)))]),
        },
      };
    },
  };
  return { calls, requestHandler };
}

/** SQS as it answers: every batch entry accepted (with its body's MD5) except the ids listed in `refuse`. */
function fakeSqs(refuse: readonly string[] = []) {
  return fakeEndpoint((call) => {
    if (call.target === 'AmazonSQS.SendMessageBatch') {
      const entries = (call.body as unknown as SqsBatchBody).Entries;
      return {
        Successful: entries
          .filter((e) => !refuse.includes(e.Id))
          .map((e) => ({ Id: e.Id, MessageId: `sqs-${e.Id}`, MD5OfMessageBody: md5(e.MessageBody) })),
        Failed: entries
          .filter((e) => refuse.includes(e.Id))
          .map((e) => ({ Id: e.Id, SenderFault: false, Code: 'InternalError', Message: 'try again' })),
      };
    }
    if (call.target === 'AmazonSQS.SendMessage')
      return { MessageId: 'sqs-single', MD5OfMessageBody: md5(String(call.body.MessageBody)) };
    if (call.target === 'AmazonSQS.GetQueueAttributes')
      return { Attributes: { ApproximateNumberOfMessages: '3' } };
    throw new Error(`fake SQS: unexpected ${call.target}`);
  });
}

function sqsClient(
  requestHandler: ReturnType<typeof fakeEndpoint>['requestHandler'],
  maxAttempts = 3,
): SQSClient {
  return new SQSClient({ region: REGION, credentials: CREDENTIALS, requestHandler, maxAttempts });
}

const batchOf = (...ids: string[]) =>
  new SendMessageBatchCommand({
    QueueUrl: QUEUE_URL,
    Entries: ids.map((id) => ({
      Id: id,
      MessageBody: `body ${id}`,
      MessageGroupId: 'g',
      MessageDeduplicationId: id,
    })),
  });

const entryIds = (call: WireCall | undefined) =>
  (call?.body as unknown as SqsBatchBody | undefined)?.Entries.map((e) => e.Id);

describe('injectSendFaults', () => {
  it('passes everything through untouched without faults', async () => {
    // GIVEN
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler);
    injectSendFaults(sqs, faultsOf({}));

    // WHEN
    const output = await sqs.send(batchOf('0', '1'));

    // THEN
    expect(entryIds(endpoint.calls[0])).toEqual(['0', '1']);
    expect(output.Successful?.map((e) => e.Id)).toEqual(['0', '1']);
    expect(output.Failed ?? []).toEqual([]);
  });

  it('makes SendMessageBatch and SendMessage fail, before anything is sent, while the queue is unreachable', async () => {
    // GIVEN
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler);
    injectSendFaults(sqs, faultsOf({ queueUnreachable: true }));

    // WHEN / THEN
    await expect(sqs.send(batchOf('0'))).rejects.toMatchObject({
      name: 'QueueUnreachableError',
      message: expect.stringContaining('unreachable'),
    });
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: QUEUE_URL, MessageBody: 'x', MessageGroupId: 'g' })),
    ).rejects.toMatchObject({ name: 'QueueUnreachableError' });
    expect(endpoint.calls).toEqual([]);
  });

  it('leaves the other commands alone', async () => {
    // GIVEN
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler);
    const faults = faultsOf({ queueUnreachable: true, sendFailureRate: 1 });
    injectSendFaults(sqs, faults);

    // WHEN
    const output = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: QUEUE_URL, AttributeNames: ['All'] }),
    );

    // THEN
    expect(output.Attributes).toEqual({ ApproximateNumberOfMessages: '3' });
    expect(endpoint.calls.map((call) => call.target)).toEqual(['AmazonSQS.GetQueueAttributes']);
    expect(faults.reads()).toBe(0);
  });

  it('with sendFailureRate 1 reports every entry of a batch in Failed[] and sends nothing', async () => {
    // GIVEN
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler);
    injectSendFaults(sqs, faultsOf({ sendFailureRate: 1 }));

    // WHEN
    const output = await sqs.send(batchOf('0', '1'));

    // THEN
    expect(endpoint.calls).toEqual([]);
    expect(output.Successful).toEqual([]);
    expect(output.Failed).toEqual([
      { Id: '0', Code: 'InjectedFailure', SenderFault: false, Message: 'entry failed (injected fault)' },
      { Id: '1', Code: 'InjectedFailure', SenderFault: false, Message: 'entry failed (injected fault)' },
    ]);
  });

  it('takes the entries drawn to fail out of the request and adds them to the Failed[] SQS answers', async () => {
    // GIVEN draws per entry: 0 keeps, 1 fails, 2 keeps; SQS itself refuses entry 2
    vi.spyOn(Math, 'random').mockReturnValueOnce(0.9).mockReturnValueOnce(0.1).mockReturnValueOnce(0.6);
    const endpoint = fakeSqs(['2']);
    const sqs = sqsClient(endpoint.requestHandler);
    injectSendFaults(sqs, faultsOf({ sendFailureRate: 0.5 }));

    // WHEN
    const output = await sqs.send(batchOf('0', '1', '2'));

    // THEN
    expect(entryIds(endpoint.calls[0])).toEqual(['0', '2']);
    expect(output.Successful?.map((e) => e.Id)).toEqual(['0']);
    expect(output.Failed?.map((e) => [e.Id, e.Code])).toEqual([
      ['2', 'InternalError'],
      ['1', 'InjectedFailure'],
    ]);
  });

  it('does not fail single SendMessage calls by rate (only batch entries)', async () => {
    // GIVEN
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler);
    injectSendFaults(sqs, faultsOf({ sendFailureRate: 1 }));

    // WHEN
    const output = await sqs.send(
      new SendMessageCommand({ QueueUrl: QUEUE_URL, MessageBody: 'hello', MessageGroupId: 'g' }),
    );

    // THEN
    expect(output.MessageId).toBe('sqs-single');
    expect(endpoint.calls.map((call) => call.target)).toEqual(['AmazonSQS.SendMessage']);
  });
});

describe('injectThrottling', () => {
  it('throttles below the SDK retry: a throttled attempt is retried, and the retry goes through', async () => {
    // GIVEN the first attempt is throttled, the second is not
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler, 3);
    const faults = faultsOf({ throttleRate: 1 }, {});
    injectThrottling(sqs, faults);

    // WHEN
    const output = await sqs.send(batchOf('0'));

    // THEN
    expect(output.Successful?.map((e) => e.Id)).toEqual(['0']);
    expect(output.$metadata.attempts).toBe(2);
    expect(endpoint.calls.map((call) => call.attempt)).toEqual(['attempt=2; max=3']);
    expect(faults.reads()).toBe(2);
  });

  it("with throttleRate 1 the call fails with ThrottlingException after the client's attempts", async () => {
    // GIVEN
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler, 3);
    const faults = faultsOf({ throttleRate: 1 });
    injectThrottling(sqs, faults);

    // WHEN / THEN
    await expect(sqs.send(batchOf('0'))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { attempts: 3 },
    });
    expect(endpoint.calls).toEqual([]);
    expect(faults.reads()).toBe(3);
  });

  it('throttles DynamoDB requests the same way', async () => {
    // GIVEN
    const endpoint = fakeEndpoint(() => ({ Item: { pk: { S: 'x' } } }));
    const dynamodb = new DynamoDBClient({
      region: REGION,
      credentials: CREDENTIALS,
      requestHandler: endpoint.requestHandler,
      maxAttempts: 2,
    });
    injectThrottling(dynamodb, faultsOf({ throttleRate: 1 }));

    // WHEN / THEN
    await expect(
      dynamodb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } })),
    ).rejects.toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
    expect(endpoint.calls).toEqual([]);
  });

  it('lets every request through without the fault', async () => {
    // GIVEN
    const endpoint = fakeEndpoint(() => ({ Item: { pk: { S: 'x' } } }));
    const dynamodb = new DynamoDBClient({
      region: REGION,
      credentials: CREDENTIALS,
      requestHandler: endpoint.requestHandler,
      maxAttempts: 2,
    });
    injectThrottling(dynamodb, faultsOf({ throttleRate: 0 }));

    // WHEN
    const output = await dynamodb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }));

    // THEN
    expect(output.Item).toEqual({ pk: { S: 'x' } });
    expect(output.$metadata.attempts).toBe(1);
    expect(endpoint.calls.map((call) => call.target)).toEqual(['DynamoDB_20120810.GetItem']);
  });
});

describe('injectServiceFaults', () => {
  const dynamodbWith = (endpoint: ReturnType<typeof fakeEndpoint>, maxAttempts = 2) =>
    new DynamoDBClient({
      region: REGION,
      credentials: CREDENTIALS,
      requestHandler: endpoint.requestHandler,
      maxAttempts,
    });
  const transactionOf = (items: number) =>
    new TransactWriteItemsCommand({
      TransactItems: Array.from({ length: items }, (_, index) => ({
        Put: { TableName: 't', Item: { pk: { S: `item-${index}` } } },
      })),
    });
  const getItem = () => new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } });

  it('cancels a transaction for a TransactionConflict, as DynamoDB does: one reason per item, not retried by the SDK', async () => {
    // GIVEN
    const endpoint = fakeEndpoint(() => ({}));
    const dynamodb = dynamodbWith(endpoint, 3);
    injectServiceFaults(dynamodb, faultsOf({ transactionConflictRate: 1 }), randomOf(0.99, 0.4));

    // WHEN
    const error = await dynamodb.send(transactionOf(3)).catch((caught: unknown) => caught);

    // THEN a real TransactionCanceledException, which the SDK did not retry and nothing reached the service
    expect(error).toBeInstanceOf(TransactionCanceledException);
    expect(error).toMatchObject({
      name: 'TransactionCanceledException',
      $metadata: { httpStatusCode: 400, attempts: 1 },
      CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }, { Code: 'None' }],
    });
    expect(isTransientError(error)).toBe(true);
    expect(endpoint.calls).toEqual([]);
  });

  it('conflicts only transactions', async () => {
    // GIVEN
    const endpoint = fakeEndpoint(() => ({ Item: { pk: { S: 'x' } } }));
    const dynamodb = dynamodbWith(endpoint);
    injectServiceFaults(dynamodb, faultsOf({ transactionConflictRate: 1 }));

    // WHEN
    const output = await dynamodb.send(getItem());

    // THEN
    expect(output.Item).toEqual({ pk: { S: 'x' } });
  });

  it('with serviceErrorRate, fails every attempt of the request with a 500 the SDK retries, then gives up on', async () => {
    // GIVEN
    const endpoint = fakeEndpoint(() => ({}));
    const dynamodb = dynamodbWith(endpoint, 2);
    injectServiceFaults(dynamodb, faultsOf({ serviceErrorRate: 1 }));

    // WHEN
    const error = await dynamodb.send(getItem()).catch((caught: unknown) => caught);

    // THEN
    expect(error).toMatchObject({
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500, attempts: 2 },
    });
    expect(isTransientError(error)).toBe(true);
    expect(endpoint.calls).toEqual([]);
  });

  it('with throttleBurstRate, throttles every attempt of a request drawn once per request: the SDK gives up on it', async () => {
    // GIVEN the first request is drawn for a burst, the second is not
    const endpoint = fakeSqs();
    const sqs = sqsClient(endpoint.requestHandler, 2);
    injectServiceFaults(sqs, faultsOf({ throttleBurstRate: 0.5 }), randomOf(0.1, 0.9));

    // WHEN
    const first = await sqs.send(batchOf('0')).catch((caught: unknown) => caught);
    const second = await sqs.send(batchOf('1'));

    // THEN
    expect(first).toMatchObject({ name: 'ThrottlingException', $metadata: { attempts: 2 } });
    expect(second.$metadata.attempts).toBe(1);
    expect(endpoint.calls.map(entryIds)).toEqual([['1']]);
  });

  it('lets every request through without the faults', async () => {
    // GIVEN
    const endpoint = fakeEndpoint(() => ({}));
    const dynamodb = dynamodbWith(endpoint);
    injectServiceFaults(dynamodb, faultsOf({}));

    // WHEN
    const output = await dynamodb.send(transactionOf(2));

    // THEN
    expect(output.$metadata.attempts).toBe(1);
    expect(endpoint.calls.map((call) => call.target)).toEqual(['DynamoDB_20120810.TransactWriteItems']);
  });
});

// ---------------------------------------------------------------------------------------------------------
// ambiguousWriteRate: a DynamoDB table on the wire that applies conditional puts (attribute_not_exists) and answers
// ConditionalCheckFailedException as DynamoDB does, so a retry that meets its own first attempt can be seen.
// ---------------------------------------------------------------------------------------------------------

/** DynamoDB on the wire: keeps the items put, refuses a put whose condition `attribute_not_exists(pk)` fails. */
function fakeTable() {
  const calls: WireCall[] = [];
  const items = new Map<string, unknown>();
  const answer = (statusCode: number, body: unknown): { response: HttpResponse } => ({
    response: {
      statusCode,
      headers: {
        'x-amzn-requestid': `request-${calls.length}`,
        'content-type': 'application/x-amz-json-1.0',
      },
      body: Readable.from([Buffer.from(JSON.stringify(body))]),
    },
  });
  const requestHandler = {
    handle: async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
      const call: WireCall = {
        target: String(request.headers['x-amz-target']),
        attempt: String(request.headers['amz-sdk-request']),
        body: JSON.parse(String(request.body)) as Record<string, unknown>,
      };
      calls.push(call);
      if (call.target === 'DynamoDB_20120810.PutItem') {
        const item = call.body.Item as { pk: { S: string } };
        if (call.body.ConditionExpression === 'attribute_not_exists(pk)' && items.has(item.pk.S)) {
          return answer(400, {
            __type: 'com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException',
            message: 'The conditional request failed',
          });
        }
        items.set(item.pk.S, item);
      }
      return answer(200, {});
    },
  };
  return { calls, items, requestHandler };
}

describe('injectAmbiguousWrites (ambiguousWriteRate)', () => {
  const dynamodbOn = (table: ReturnType<typeof fakeTable>, maxAttempts: number) =>
    new DynamoDBClient({
      region: REGION,
      credentials: CREDENTIALS,
      requestHandler: table.requestHandler,
      maxAttempts,
    });
  const claim = (pk: string) =>
    new PutItemCommand({
      TableName: 't',
      Item: { pk: { S: pk } },
      ConditionExpression: 'attribute_not_exists(pk)',
    });
  /** Draws: [the attempt loses its answer?, which way] per drawn attempt; 0.99 for an attempt left alone. */
  const LOST = 0;
  const AS_SERVER_ERROR = 0.49;
  const AS_TIMEOUT = 0.5;
  const KEPT = 0.99;

  it('applies the write, then answers a 500 InternalServerError: the outcome is unknown to the caller', async () => {
    // GIVEN a client that does not retry, and the attempt drawn to lose its answer as a 500
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    injectAmbiguousWrites(dynamodb, faultsOf({ ambiguousWriteRate: 0.5 }), randomOf(LOST, AS_SERVER_ERROR));

    // WHEN
    const error = await dynamodb.send(claim('a')).catch((caught: unknown) => caught);

    // THEN the item is written, and the caller saw a server error that may have landed
    expect(table.items.has('a')).toBe(true);
    expect(table.calls.map((call) => call.target)).toEqual(['DynamoDB_20120810.PutItem']);
    expect(error).toMatchObject({
      name: 'InternalServerError',
      $fault: 'server',
      $metadata: { httpStatusCode: 500, attempts: 1 },
      message: expect.stringContaining('the write was applied'),
    });
    expect(isOutcomeUnknown(error)).toBe(true);
    expect(isTransientError(error)).toBe(true);
  });

  it('applies the write, then times out: the outcome is unknown to the caller', async () => {
    // GIVEN
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    injectAmbiguousWrites(dynamodb, faultsOf({ ambiguousWriteRate: 0.5 }), randomOf(LOST, AS_TIMEOUT));

    // WHEN
    const error = await dynamodb.send(claim('a')).catch((caught: unknown) => caught);

    // THEN
    expect(table.items.has('a')).toBe(true);
    expect(error).toMatchObject({
      name: 'TimeoutError',
      message: expect.stringContaining('the write was applied'),
      $metadata: { attempts: 1 },
    });
    expect(error).not.toHaveProperty('$fault');
    expect(isOutcomeUnknown(error)).toBe(true);
    expect(isTransientError(error)).toBe(true);
  });

  it.each([
    ['a 500', AS_SERVER_ERROR],
    ['a timeout', AS_TIMEOUT],
  ])(
    'sits below the SDK retry: after %s the SDK re-sends the same put, whose condition fails against its own first attempt',
    async (_lost, how) => {
      // GIVEN a client with 3 attempts: the first attempt loses its answer, the second is left alone
      const table = fakeTable();
      const dynamodb = dynamodbOn(table, 3);
      const faults = faultsOf({ ambiguousWriteRate: 0.5 });
      injectAmbiguousWrites(dynamodb, faults, randomOf(LOST, how, KEPT));

      // WHEN
      const error = await dynamodb.send(claim('a')).catch((caught: unknown) => caught);

      // THEN the same request reached the table twice, and the caller sees the retry's answer
      expect(table.calls.map((call) => call.attempt)).toEqual(['attempt=1; max=3', 'attempt=2; max=3']);
      expect(table.calls[1]?.body).toEqual(table.calls[0]?.body);
      expect(error).toBeInstanceOf(ConditionalCheckFailedException);
      expect(error).toMatchObject({ $metadata: { httpStatusCode: 400, attempts: 2 } });
      expect(faults.reads()).toBe(2);
    },
  );

  it('with ambiguousWriteRate 1, every attempt lands and loses its answer: the caller sees the last error', async () => {
    // GIVEN an unconditional put (every attempt applies)
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 2);
    injectAmbiguousWrites(
      dynamodb,
      faultsOf({ ambiguousWriteRate: 1 }),
      randomOf(LOST, AS_TIMEOUT, LOST, AS_SERVER_ERROR),
    );

    // WHEN
    const error = await dynamodb
      .send(new PutItemCommand({ TableName: 't', Item: { pk: { S: 'a' } } }))
      .catch((caught: unknown) => caught);

    // THEN
    expect(table.calls).toHaveLength(2);
    expect(error).toMatchObject({ name: 'InternalServerError', $metadata: { attempts: 2 } });
  });

  it('never turns a write that failed on its own into a lost answer: its error reaches the caller as it is', async () => {
    // GIVEN the item exists already
    const table = fakeTable();
    table.items.set('a', { pk: { S: 'a' } });
    const dynamodb = dynamodbOn(table, 1);
    injectAmbiguousWrites(dynamodb, faultsOf({ ambiguousWriteRate: 1 }), randomOf(LOST));

    // WHEN
    const error = await dynamodb.send(claim('a')).catch((caught: unknown) => caught);

    // THEN
    expect(error).toBeInstanceOf(ConditionalCheckFailedException);
  });

  const key = { pk: { S: 'a' } };
  const writes: ReadonlyArray<readonly [string, (dynamodb: DynamoDBClient) => Promise<unknown>]> = [
    ['PutItem', (dynamodb) => dynamodb.send(new PutItemCommand({ TableName: 't', Item: key }))],
    [
      'UpdateItem',
      (dynamodb) =>
        dynamodb.send(
          new UpdateItemCommand({
            TableName: 't',
            Key: key,
            UpdateExpression: 'SET n = :n',
            ExpressionAttributeValues: { ':n': { N: '1' } },
          }),
        ),
    ],
    ['DeleteItem', (dynamodb) => dynamodb.send(new DeleteItemCommand({ TableName: 't', Key: key }))],
    [
      'TransactWriteItems',
      (dynamodb) =>
        dynamodb.send(
          new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: 't', Item: key } }] }),
        ),
    ],
    [
      'BatchWriteItem',
      (dynamodb) =>
        dynamodb.send(new BatchWriteItemCommand({ RequestItems: { t: [{ PutRequest: { Item: key } }] } })),
    ],
  ];
  it.each(writes)('loses the answer of a %s that reached the table', async (target, write) => {
    // GIVEN
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    injectAmbiguousWrites(dynamodb, faultsOf({ ambiguousWriteRate: 1 }), randomOf(LOST, AS_SERVER_ERROR));

    // WHEN
    const error = await write(dynamodb).catch((caught: unknown) => caught);

    // THEN
    expect(table.calls.map((call) => call.target)).toEqual([`DynamoDB_20120810.${target}`]);
    expect(error).toMatchObject({ name: 'InternalServerError' });
  });

  it('covers exactly the five DynamoDB write requests', () => {
    expect([...DYNAMODB_WRITE_COMMANDS].sort()).toEqual([
      'BatchWriteItemCommand',
      'DeleteItemCommand',
      'PutItemCommand',
      'TransactWriteItemsCommand',
      'UpdateItemCommand',
    ]);
  });

  it('never touches a read, and does not even read the faults for one', async () => {
    // GIVEN
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    const faults = faultsOf({ ambiguousWriteRate: 1 });
    injectAmbiguousWrites(dynamodb, faults, randomOf());

    // WHEN
    await dynamodb.send(new GetItemCommand({ TableName: 't', Key: key }));
    await dynamodb.send(
      new QueryCommand({
        TableName: 't',
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': { S: 'a' } },
      }),
    );

    // THEN
    expect(table.calls.map((call) => call.target)).toEqual([
      'DynamoDB_20120810.GetItem',
      'DynamoDB_20120810.Query',
    ]);
    expect(faults.reads()).toBe(0);
  });

  it('reaches the writes of a document client built on the client (what every function uses)', async () => {
    // GIVEN
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    injectAmbiguousWrites(dynamodb, faultsOf({ ambiguousWriteRate: 1 }), randomOf(LOST, AS_TIMEOUT));
    const documents = DynamoDBDocumentClient.from(dynamodb);

    // WHEN
    const error = await documents
      .send(
        new PutCommand({
          TableName: 't',
          Item: { pk: 'a' },
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      )
      .catch((caught: unknown) => caught);

    // THEN
    expect(table.items.has('a')).toBe(true);
    expect(error).toMatchObject({ name: 'TimeoutError' });
  });

  it('lets every write through, drawing nothing, without the fault or at rate 0', async () => {
    // GIVEN
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    const faults = faultsOf({}, { ambiguousWriteRate: 0 });
    injectAmbiguousWrites(dynamodb, faults, randomOf());

    // WHEN
    const first = await dynamodb.send(claim('a'));
    const second = await dynamodb.send(claim('b'));

    // THEN
    expect([first.$metadata.attempts, second.$metadata.attempts]).toEqual([1, 1]);
    expect([...table.items.keys()]).toEqual(['a', 'b']);
    expect(faults.reads()).toBe(2);
  });

  it('draws from Math.random by default', async () => {
    // GIVEN
    vi.spyOn(Math, 'random').mockReturnValueOnce(0.1).mockReturnValueOnce(0.7);
    const table = fakeTable();
    const dynamodb = dynamodbOn(table, 1);
    injectAmbiguousWrites(dynamodb, faultsOf({ ambiguousWriteRate: 0.2 }));

    // WHEN
    const error = await dynamodb.send(claim('a')).catch((caught: unknown) => caught);

    // THEN
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(table.items.has('a')).toBe(true);
  });
});
