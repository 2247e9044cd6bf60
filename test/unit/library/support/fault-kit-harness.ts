import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchWriteCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { FaultConfig } from '../../../../functions/runtime/faults/fault-config';
import type { FaultSource } from '../../../../functions/runtime/faults/fault-injector';
import type { OutboxItem } from '../../../../functions/runtime/outbox/outbox-message';
import type { DestinationEntry } from '../../../../functions/runtime/relay/message-destination';
import type { RelayCandidate } from '../../../../functions/runtime/relay/stream-records';

// The GIVEN of the fault kit's tests (functions/runtime/faults), whatever the relay's destination (queue or topic):
// the faults a source answers, real clients (the service faults are middleware, so they run only in a real client),
// the entries a destination is sent and the outbox items the relay is handed.

export const REGION = 'us-east-1';
/** Credentials for a real client whose transport is faked or mocked: nothing leaves the process. */
export const CREDENTIALS = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };

/** A fault source that answers `configs` in turn, then the last one forever; counts how often it was asked. */
export function faultsOf(...configs: FaultConfig[]): FaultSource & { readonly reads: () => number } {
  let reads = 0;
  return {
    current: async () => configs[Math.min(reads++, configs.length - 1)] ?? {},
    reads: () => reads,
  };
}

/** The destination entry of message `msg-<groupKey>-<sequence>` (entry id `<groupKey>-<sequence>`). */
export function destinationEntry(groupKey: string, sequence: number): DestinationEntry {
  return {
    Id: `${groupKey}-${sequence}`,
    MessageBody: JSON.stringify({ groupKey, sequence }),
    MessageGroupId: groupKey,
    MessageDeduplicationId: `msg-${groupKey}-${sequence}`,
  };
}

/** The relay's candidate for a PENDING note `msg-<groupKey>-<sequence>` of the outbox. */
export function relayCandidate(groupKey: string, sequence: number): RelayCandidate {
  const item: OutboxItem = {
    groupKey,
    sequence,
    messageId: `msg-${groupKey}-${sequence}`,
    type: 'OrderNoteAdded',
    payload: '{}',
    status: 'PENDING',
    attempts: 0,
    createdAt: '2026-03-01T12:00:00.000Z',
  };
  return { recordId: `record-${groupKey}-${sequence}`, item };
}

/** The relay's DocumentClient, mocked: every delete of the sent messages from the outbox (BatchWrite) succeeds. */
export function relayDocumentClient() {
  const dynamodb = DynamoDBDocumentClient.from(
    new DynamoDBClient({ region: REGION, credentials: CREDENTIALS }),
  );
  const ddbMock = mockClient(dynamodb);
  ddbMock.on(BatchWriteCommand).resolves({ UnprocessedItems: {} });
  return { dynamodb, ddbMock };
}
