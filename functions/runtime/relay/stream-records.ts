import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { OutboxItem } from '../outbox/outbox-message';

/**
 * The parts of a DynamoDB stream record the relay reads. `DynamoDBRecord` of `@types/aws-lambda` fits this shape, so
 * a handler typed with it passes its records as they are, and the runtime's types need nothing a user must install.
 */
export interface OutboxStreamRecord {
  readonly eventName?: string;
  readonly dynamodb?: {
    readonly NewImage?: Readonly<Record<string, unknown>>;
    readonly SequenceNumber?: string;
  };
}

/** A stream record that carries a message the relay must send. */
export interface RelayCandidate {
  /** The stream record's sequence number: the item identifier of a partial batch response. */
  readonly recordId: string;
  readonly item: OutboxItem;
}

/**
 * The INSERTs of PENDING outbox items, in stream order. Everything else (REMOVE, MODIFY, PREPARED) is
 * not the relay's business; the event source filter drops it on AWS, this drops it anywhere.
 */
export function relayCandidates(records: readonly OutboxStreamRecord[]): RelayCandidate[] {
  const candidates: RelayCandidate[] = [];
  for (const record of records) {
    const image = record.dynamodb?.NewImage;
    const recordId = record.dynamodb?.SequenceNumber;
    if (record.eventName !== 'INSERT' || image === undefined || recordId === undefined) continue;
    const item = unmarshall(image as Record<string, AttributeValue>) as OutboxItem;
    if (item.status !== 'PENDING') continue;
    candidates.push({ recordId, item });
  }
  return candidates;
}
