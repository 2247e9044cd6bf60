import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { OutboxItem } from '../outbox/outbox-message';

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
export function relayCandidates(records: readonly DynamoDBRecord[]): RelayCandidate[] {
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
