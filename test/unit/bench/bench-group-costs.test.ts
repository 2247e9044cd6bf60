import { describe, expect, it } from 'vitest';
import { AWS_PRICES_USD } from '../../../bench/measure/aws-prices';
import type { UnitsPerMessage } from '../../../bench/measure/cost-model';
import {
  DELIVERY_SQS_REQUESTS,
  groupCosts,
  snsUsdPerMillion,
  topicPublishRequests,
} from '../../../bench/measure/group-costs';

/** No units at all: each test adds the ones it is about. */
const NOTHING: UnitsPerMessage = {
  writeUnits: 0,
  readUnits: 0,
  sqsRequests: 0,
  lambdaInvocations: 0,
  lambdaGbSeconds: 0,
  apiRequests: 0,
};
const p = AWS_PRICES_USD;
const GB = 1024 ** 3;

describe('topicPublishRequests (the topic’s publishes per message, from the unit accounting)', () => {
  it('counts the Publish and PublishBatch requests of every ledger, over the messages', () => {
    // GIVEN the relay published 100 messages in 10 batches and 1 single publish, the sweeper re-sent 1 batch
    const relay = { requests: { 'sns:PublishBatch': 10, 'sns:Publish': 1, 'dynamodb:DeleteItem': 100 } };
    const sweeper = { requests: { 'sns:PublishBatch': 1, 'dynamodb:Query': 3 } };

    // WHEN / THEN
    expect(topicPublishRequests([relay, sweeper], 100)).toBeCloseTo(0.12, 9);
  });

  it('ignores failed calls and other services, and is 0 for no messages rather than infinite', () => {
    const ledger = { requests: { 'sns:PublishBatch:ThrottlingException': 4, 'sqs:SendMessageBatch': 10 } };
    expect(topicPublishRequests([ledger], 100)).toBe(0);
    expect(topicPublishRequests([{ requests: { 'sns:PublishBatch': 1 } }], 0)).toBe(0);
  });
});

describe('snsUsdPerMillion (the SNS FIFO side of a message)', () => {
  it('prices the publish requests, the published payload, and one delivery with its payload per group', () => {
    // GIVEN batches of 10 messages of 1 KiB
    const topic = { publishRequests: 0.1, payloadBytes: 1024 };
    const gb = (1024 * 1_000_000) / GB;

    // WHEN / THEN
    expect(snsUsdPerMillion(topic, 0)).toBeCloseTo(
      0.1 * p.snsFifoPublishRequestPerMillion + gb * p.snsFifoPublishPayloadPerGb,
      9,
    );
    expect(snsUsdPerMillion(topic, 3) - snsUsdPerMillion(topic, 2)).toBeCloseTo(
      p.snsFifoSubscriptionMessagePerMillion + gb * p.snsFifoSubscriptionPayloadPerGb,
      9,
    );
  });

  it('uses the published SNS FIFO prices (us-east-1)', () => {
    expect(p).toMatchObject({
      snsFifoPublishRequestPerMillion: 0.3,
      snsFifoPublishPayloadPerGb: 0.017,
      snsFifoSubscriptionMessagePerMillion: 0.01,
      snsFifoSubscriptionPayloadPerGb: 0.001,
    });
  });
});

describe('groupCosts (the cost per message with 1, 2, 3 consumer groups)', () => {
  // The shared path: producer + relay + sweeper; each group its consumer's units.
  const shared: UnitsPerMessage = { ...NOTHING, writeUnits: 5, lambdaInvocations: 1.1, apiRequests: 1 };
  const topic = { publishRequests: 0.1, payloadBytes: 0 };
  const projection = {
    group: 'projection',
    units: { ...NOTHING, writeUnits: 3, readUnits: 1, sqsRequests: 0.2 },
  };
  const audit = {
    group: 'audit',
    units: { ...NOTHING, writeUnits: 4, sqsRequests: 0.2, lambdaInvocations: 0.1 },
  };
  const shipping = { group: 'shipping', units: { ...NOTHING, writeUnits: 1, sqsRequests: 0.2 } };

  it('adds each group’s units and one delivery (its SNS message and the SQS request into its queue) to the shared path and the topic’s publish', () => {
    // WHEN
    const costs = groupCosts(shared, topic, [projection, audit, shipping]);

    // THEN
    expect(
      costs.map(({ groups, unitsPerMessage, sqsRequestsPerMessage }) => ({
        groups,
        unitsPerMessage,
        sqsRequestsPerMessage,
      })),
    ).toEqual([
      { groups: 1, unitsPerMessage: 9, sqsRequestsPerMessage: 1.2 },
      { groups: 2, unitsPerMessage: 13, sqsRequestsPerMessage: 2.4 },
      { groups: 3, unitsPerMessage: 14, sqsRequestsPerMessage: 3.6 },
    ]);
    expect(costs.map((cost) => cost.snsDeliveriesPerMessage)).toEqual([1, 2, 3]);
    expect(costs.every((cost) => cost.snsPublishRequestsPerMessage === 0.1)).toBe(true);
  });

  it('prices each group at its units plus one SNS subscription message, and says what it added', () => {
    // WHEN
    const [one, two] = groupCosts(shared, topic, [projection, audit]);

    // THEN the audit group adds 4 WRU, 0.2 SQS requests, 0.1 invocations and one delivery per message (an SNS
    // subscription message, and an SQS request into its queue)
    const added =
      4 * p.dynamodbWriteUnitPerMillion +
      (0.2 + DELIVERY_SQS_REQUESTS) * p.sqsFifoRequestPerMillion +
      0.1 * p.lambdaRequestPerMillion +
      p.snsFifoSubscriptionMessagePerMillion;
    expect(two!.addedUsdPerMillion).toBeCloseTo(added, 5);
    expect(two!.usdPerMillion - one!.usdPerMillion).toBeCloseTo(added, 5);
    // AND the first group's price holds the shared path and the topic's publish
    const first =
      8 * p.dynamodbWriteUnitPerMillion +
      p.dynamodbReadUnitPerMillion +
      (0.2 + DELIVERY_SQS_REQUESTS) * p.sqsFifoRequestPerMillion +
      1.1 * p.lambdaRequestPerMillion +
      p.httpApiRequestPerMillion +
      0.1 * p.snsFifoPublishRequestPerMillion +
      p.snsFifoSubscriptionMessagePerMillion;
    expect(one!.usdPerMillion).toBeCloseTo(first, 5);
  });

  it('is empty without groups', () => {
    expect(groupCosts(shared, topic, [])).toEqual([]);
  });
});
