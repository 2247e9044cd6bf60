import { Readable } from 'node:stream';
import {
  ListTopicsCommand,
  PublishBatchCommand,
  type PublishBatchCommandInput,
  PublishCommand,
  SNSClient,
} from '@aws-sdk/client-sns';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { relayFaultHooks } from '../../../../functions/runtime/faults/relay-faults';
import {
  injectSendFaults,
  injectServiceFaults,
  injectThrottling,
} from '../../../../functions/runtime/faults/service-faults';
import {
  type DestinationEntry,
  topicDestination,
} from '../../../../functions/runtime/relay/message-destination';
import { OutboxPublisher } from '../../../../functions/runtime/relay/outbox-publisher';
import {
  CREDENTIALS,
  destinationEntry,
  faultsOf,
  REGION,
  relayCandidate,
  relayDocumentClient,
} from '../support/fault-kit-harness';

const TOPIC_ARN = 'arn:aws:sns:us-east-1:123456789012:events.fifo';

afterEach(() => {
  vi.restoreAllMocks();
});

// The service faults are middleware, so they run only in a real client: these tests give an SNS client a fake
// transport that answers as SNS does (AWS query protocol, XML) and records what reached it.

interface SnsCall {
  readonly action: string;
  /** The ids of a PublishBatch's entries. */
  readonly ids: readonly string[];
}

function fakeSns(refuse: readonly string[] = []) {
  const calls: SnsCall[] = [];
  const xml = (action: string, result: string) =>
    `<${action}Response xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><${action}Result>${result}</${action}Result>` +
    `<ResponseMetadata><RequestId>r-${calls.length}</RequestId></ResponseMetadata></${action}Response>`;
  const requestHandler = {
    handle: async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
      const form = new URLSearchParams(String(request.body));
      const action = form.get('Action') ?? '';
      const ids = [...form.entries()]
        .filter(([name]) => /^PublishBatchRequestEntries\.member\.\d+\.Id$/.test(name))
        .map(([, value]) => value);
      calls.push({ action, ids });
      let body: string;
      if (action === 'PublishBatch') {
        const member = (id: string) =>
          refuse.includes(id)
            ? ''
            : `<member><Id>${id}</Id><MessageId>sns-${id}</MessageId><SequenceNumber>1</SequenceNumber></member>`;
        const failed = (id: string) =>
          refuse.includes(id)
            ? `<member><Id>${id}</Id><Code>InternalError</Code><Message>try again</Message><SenderFault>false</SenderFault></member>`
            : '';
        body = xml(
          action,
          `<Successful>${ids.map(member).join('')}</Successful><Failed>${ids.map(failed).join('')}</Failed>`,
        );
      } else if (action === 'Publish') body = xml(action, '<MessageId>sns-single</MessageId>');
      else if (action === 'ListTopics') body = xml(action, '<Topics></Topics>');
      else throw new Error(`fake SNS: unexpected ${action}`);
      return {
        response: {
          statusCode: 200,
          headers: { 'content-type': 'text/xml', 'x-amzn-requestid': `r-${calls.length}` },
          body: Readable.from([Buffer.from(body)]),
        },
      };
    },
  };
  const client = new SNSClient({ region: REGION, credentials: CREDENTIALS, requestHandler, maxAttempts: 2 });
  return { calls, client };
}

const batchOf = (...ids: string[]) =>
  new PublishBatchCommand({
    TopicArn: TOPIC_ARN,
    PublishBatchRequestEntries: ids.map((id) => ({
      Id: id,
      Message: `body ${id}`,
      MessageGroupId: 'g',
      MessageDeduplicationId: id,
    })),
  });

describe('injectSendFaults on the SNS client of a topic', () => {
  it('passes everything through untouched without faults', async () => {
    // GIVEN
    const sns = fakeSns();
    injectSendFaults(sns.client, faultsOf({}));

    // WHEN
    const output = await sns.client.send(batchOf('0', '1'));

    // THEN
    expect(sns.calls).toEqual([{ action: 'PublishBatch', ids: ['0', '1'] }]);
    expect(output.Successful?.map((e) => e.Id)).toEqual(['0', '1']);
  });

  it('makes PublishBatch and Publish fail, before anything is published, while the destination is unreachable', async () => {
    // GIVEN
    const sns = fakeSns();
    injectSendFaults(sns.client, faultsOf({ queueUnreachable: true }));

    // WHEN / THEN the error keeps the name tools look for
    await expect(sns.client.send(batchOf('0'))).rejects.toMatchObject({
      name: 'QueueUnreachableError',
      message: expect.stringContaining('the topic is unreachable'),
    });
    await expect(
      sns.client.send(new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'x', MessageGroupId: 'g' })),
    ).rejects.toMatchObject({ name: 'QueueUnreachableError' });
    expect(sns.calls).toEqual([]);
  });

  it('leaves the other commands alone', async () => {
    // GIVEN
    const sns = fakeSns();
    const faults = faultsOf({ queueUnreachable: true, sendFailureRate: 1 });
    injectSendFaults(sns.client, faults);

    // WHEN
    await sns.client.send(new ListTopicsCommand({}));

    // THEN
    expect(sns.calls.map((call) => call.action)).toEqual(['ListTopics']);
    expect(faults.reads()).toBe(0);
  });

  it('with sendFailureRate 1 reports every entry of a PublishBatch in Failed[] and publishes nothing', async () => {
    // GIVEN
    const sns = fakeSns();
    injectSendFaults(sns.client, faultsOf({ sendFailureRate: 1 }));

    // WHEN
    const output = await sns.client.send(batchOf('0', '1'));

    // THEN
    expect(sns.calls).toEqual([]);
    expect(output.Successful).toEqual([]);
    expect(output.Failed).toEqual([
      { Id: '0', Code: 'InjectedFailure', SenderFault: false, Message: 'entry failed (injected fault)' },
      { Id: '1', Code: 'InjectedFailure', SenderFault: false, Message: 'entry failed (injected fault)' },
    ]);
  });

  it('takes the entries drawn to fail out of the request and adds them to the Failed[] SNS answers', async () => {
    // GIVEN draws per entry: 0 keeps, 1 fails, 2 keeps; SNS itself refuses entry 2
    vi.spyOn(Math, 'random').mockReturnValueOnce(0.9).mockReturnValueOnce(0.1).mockReturnValueOnce(0.6);
    const sns = fakeSns(['2']);
    injectSendFaults(sns.client, faultsOf({ sendFailureRate: 0.5 }));

    // WHEN
    const output = await sns.client.send(batchOf('0', '1', '2'));

    // THEN
    expect(sns.calls).toEqual([{ action: 'PublishBatch', ids: ['0', '2'] }]);
    expect(output.Successful?.map((e) => e.Id)).toEqual(['0']);
    expect(output.Failed?.map((e) => [e.Id, e.Code])).toEqual([
      ['2', 'InternalError'],
      ['1', 'InjectedFailure'],
    ]);
  });

  it('does not fail a single Publish by rate (only batch entries)', async () => {
    // GIVEN
    const sns = fakeSns();
    injectSendFaults(sns.client, faultsOf({ sendFailureRate: 1 }));

    // WHEN
    const output = await sns.client.send(
      new PublishCommand({ TopicArn: TOPIC_ARN, Message: 'hello', MessageGroupId: 'g' }),
    );

    // THEN
    expect(output.MessageId).toBe('sns-single');
  });
});

describe('injectThrottling and injectServiceFaults on an SNS client', () => {
  it('throttles PublishBatch below the SDK retry: the call fails with ThrottlingException after its attempts', async () => {
    // GIVEN
    const sns = fakeSns();
    injectThrottling(sns.client, faultsOf({ throttleRate: 1 }));

    // WHEN / THEN
    await expect(sns.client.send(batchOf('0'))).rejects.toMatchObject({
      name: 'ThrottlingException',
      $metadata: { attempts: 2 },
    });
    expect(sns.calls).toEqual([]);
  });

  it('fails every attempt of a PublishBatch drawn for a service error with a 500', async () => {
    // GIVEN
    const sns = fakeSns();
    injectServiceFaults(sns.client, faultsOf({ serviceErrorRate: 1 }), () => 0);

    // WHEN / THEN
    await expect(sns.client.send(batchOf('0'))).rejects.toMatchObject({
      name: 'InternalServerError',
      $metadata: { attempts: 2 },
    });
    expect(sns.calls).toEqual([]);
  });
});

describe('relay faults over a topic', () => {
  const entry = (groupKey: string, sequence: number): DestinationEntry => ({
    ...destinationEntry(groupKey, sequence),
    MessageAttributes: { type: { DataType: 'String', StringValue: 'OrderPlaced' } },
  });

  function mockedSns() {
    const sns = new SNSClient({ region: REGION, credentials: CREDENTIALS });
    const snsMock = mockClient(sns);
    snsMock.onAnyCommand().rejects(new Error('unexpected SNS command'));
    snsMock.on(PublishBatchCommand).callsFake((input: PublishBatchCommandInput) => ({
      Successful: (input.PublishBatchRequestEntries ?? []).map((e) => ({ Id: e.Id, MessageId: 'm' })),
      Failed: [],
    }));
    const published = () =>
      snsMock.commandCalls(PublishBatchCommand).map((call) => call.args[0].input as PublishBatchCommandInput);
    return { sns, published };
  }

  it('publishes a copy of each sent message to the topic under another deduplication id', async () => {
    // GIVEN
    const { sns, published } = mockedSns();
    const hooks = relayFaultHooks(
      faultsOf({ duplicateDelivery: 1 }),
      topicDestination(sns, TOPIC_ARN),
      () => 0.5,
    );

    // WHEN
    await hooks.afterSend?.([entry('a', 1), entry('b', 1)]);

    // THEN
    expect(published()).toEqual([
      {
        TopicArn: TOPIC_ARN,
        PublishBatchRequestEntries: [
          {
            Id: 'duplicate-0',
            Message: entry('a', 1).MessageBody,
            MessageGroupId: 'a',
            MessageDeduplicationId: 'msg-a-1-duplicate-500000000',
            MessageAttributes: entry('a', 1).MessageAttributes,
          },
          {
            Id: 'duplicate-1',
            Message: entry('b', 1).MessageBody,
            MessageGroupId: 'b',
            MessageDeduplicationId: 'msg-b-1-duplicate-500000000',
            MessageAttributes: entry('b', 1).MessageAttributes,
          },
        ],
      },
    ]);
  });

  it('reorders, duplicates and crashes in a relay that publishes to the topic', async () => {
    // GIVEN a relay whose pairs of one key are swapped, whose sent messages are copied
    const { sns, published } = mockedSns();
    const destination = topicDestination(sns, TOPIC_ARN);
    const { dynamodb } = relayDocumentClient();
    const relay = new OutboxPublisher({
      destination,
      dynamodb,
      outboxTableName: 'outbox',
      hooks: relayFaultHooks(faultsOf({ reorderDelivery: 1, duplicateDelivery: 1 }), destination, () => 0),
    });

    // WHEN
    const result = await relay.relay([relayCandidate('a', 1), relayCandidate('a', 2)]);

    // THEN the batch went out swapped, the copies after it; both count as sent once
    expect(
      published().map((batch) => batch.PublishBatchRequestEntries?.map((e) => e.MessageDeduplicationId)),
    ).toEqual([
      ['msg-a-2', 'msg-a-1'],
      ['msg-a-2-duplicate-0', 'msg-a-1-duplicate-0'],
    ]);
    expect(result.sent.map((c) => c.item.messageId)).toEqual(['msg-a-1', 'msg-a-2']);
  });
});
