import type { UnitLedger } from 'reliable-messaging-serverless/runtime';
import { AWS_PRICES_USD } from './aws-prices';
import { capacityUnits, sumUnits, type UnitsPerMessage, usdPerMillion } from './cost-model';

/** What publishing to the SNS FIFO topic costs per message (the relay's and the sweeper's publishes). */
export interface TopicPublishPerMessage {
  /** Billed publish requests (Publish + PublishBatch) per message: 0.1 when every batch carries 10 messages. */
  readonly publishRequests: number;
  /** Payload bytes per message, published once and delivered once per group. */
  readonly payloadBytes: number;
}

/** One consumer group's own units per message: its consumer's DynamoDB units, SQS requests, invocations. */
export interface GroupUnits {
  readonly group: string;
  readonly units: UnitsPerMessage;
}

/** What a message costs with the first `groups` groups subscribed to the topic. */
export interface GroupCost {
  readonly groups: number;
  /** DynamoDB capacity units (writes + reads) per message: the shared path plus each group's consumer. */
  readonly unitsPerMessage: number;
  /**
   * SQS requests per message, per group: SNS's delivery into the group's queue (one SendMessage per message, counted
   * as billed to the queue's owner: the conservative reading), the consumer's receive and delete, and its own calls.
   */
  readonly sqsRequestsPerMessage: number;
  /** The topic's billed publish requests per message (the same for any number of groups). */
  readonly snsPublishRequestsPerMessage: number;
  /** SNS subscription messages per message: one per group (every group's queue receives every message). */
  readonly snsDeliveriesPerMessage: number;
  readonly usdPerMillion: number;
  /** What the last group added, in $ per million messages. */
  readonly addedUsdPerMillion: number;
}

const GB = 1024 ** 3;

/**
 * SQS requests per message that SNS's delivery makes on a group's queue: one SendMessage per message (SNS does not
 * batch deliveries). Whether SQS bills it to the queue's owner is not stated beside the SNS FIFO prices; the model
 * counts it (at most $0.50 per million messages per group), so that a group is never priced below what it may cost.
 */
export const DELIVERY_SQS_REQUESTS = 1;
const round = (value: number, digits = 3) => Math.round(value * 10 ** digits) / 10 ** digits;

/**
 * The topic's publish requests per message from the relay's and the sweeper's unit accounting: the SNS `Publish` and
 * `PublishBatch` requests they counted (`sns:Publish`, `sns:PublishBatch`; a failed call is not counted), over the
 * messages. The sweeper's alerts go to the alert topic (a standard topic) as `Publish` too: pass only the ledgers of
 * the components that publish to the events topic, or accept that rare alert as noise.
 */
export function topicPublishRequests(
  ledgers: readonly Pick<UnitLedger, 'requests'>[],
  messages: number,
): number {
  if (messages === 0) return 0;
  const requests = ledgers.reduce(
    (sum, ledger) => sum + (ledger.requests['sns:PublishBatch'] ?? 0) + (ledger.requests['sns:Publish'] ?? 0),
    0,
  );
  return requests / messages;
}

/** $ per million messages of the SNS side: the topic's publishes and payload, and one delivery per group. */
export function snsUsdPerMillion(topic: TopicPublishPerMessage, groups: number): number {
  const p = AWS_PRICES_USD;
  const gbPerMillion = (topic.payloadBytes * 1_000_000) / GB;
  return (
    topic.publishRequests * p.snsFifoPublishRequestPerMillion +
    gbPerMillion * p.snsFifoPublishPayloadPerGb +
    groups * (p.snsFifoSubscriptionMessagePerMillion + gbPerMillion * p.snsFifoSubscriptionPayloadPerGb)
  );
}

/**
 * The cost per message with 1, 2, … n groups (in the order given): the shared path (producer, relay, sweeper — what
 * every message costs once, whatever the groups), the topic's publish, and per group one SNS subscription message,
 * the SQS request of that delivery into the group's queue ({@link DELIVERY_SQS_REQUESTS}) and its consumer's units. Fan-out makes the relay publish to SNS instead of sending to SQS: the shared units are
 * the ones measured with the topic.
 */
export function groupCosts(
  shared: UnitsPerMessage,
  topic: TopicPublishPerMessage,
  groups: readonly GroupUnits[],
): GroupCost[] {
  const costs: GroupCost[] = [];
  let previousUsd = usdPerMillion(shared) + snsUsdPerMillion(topic, 0);
  for (let n = 1; n <= groups.length; n++) {
    const units = sumUnits([
      shared,
      ...groups
        .slice(0, n)
        .map((group) => ({ ...group.units, sqsRequests: group.units.sqsRequests + DELIVERY_SQS_REQUESTS })),
    ]);
    const usd = usdPerMillion(units) + snsUsdPerMillion(topic, n);
    costs.push({
      groups: n,
      unitsPerMessage: round(capacityUnits(units)),
      sqsRequestsPerMessage: round(units.sqsRequests),
      snsPublishRequestsPerMessage: round(topic.publishRequests),
      snsDeliveriesPerMessage: n,
      usdPerMillion: round(usd, 6),
      addedUsdPerMillion: round(usd - previousUsd, 6),
    });
    previousUsd = usd;
  }
  return costs;
}
