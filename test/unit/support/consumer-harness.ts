import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { DynamoEffect } from '../../../functions/runtime/consumer/effect-strategies';
import {
  IdempotentConsumer,
  type IdempotentConsumerOptions,
} from '../../../functions/runtime/consumer/idempotent-consumer';
import type { MessageEnvelope } from '../../../functions/runtime/outbox/outbox-message';
import type { InMemoryDynamoDb } from '../../../tools/dynamodb/in-memory-dynamodb';
import {
  CLAIM_SECONDS,
  INBOX_TABLE,
  newConsumerTables,
  PROJECTION_TABLE,
  RETENTION_SECONDS,
} from './inbox-fixtures';

// The GIVEN every consumer test starts from: the consumer's tables (inbox-fixtures.ts) in memory behind a mocked
// DocumentClient, an IdempotentConsumer over their inbox, and a journal effect that shows what was applied, once and
// in order. A test file that uses it mocks no DynamoDBDocumentClient of its own: `ddb` is that mock.

/** The mocked DocumentClient: what a test stubs (`ddb.on`) and counts (`ddb.commandCalls`). */
export const ddb = mockClient(DynamoDBDocumentClient);

/** The client a consumer is given: its commands reach the tables `installTables` installed. */
export const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

/** Fresh tables (the consumer's inbox and projection tables unless given others) behind a reset mock. */
export function installTables(db: InMemoryDynamoDb = newConsumerTables()): InMemoryDynamoDb {
  ddb.reset();
  db.install(ddb);
  return db;
}

/** Where a consumer keeps its inbox: the client, the inbox table, how long it keeps a record, how long it claims. */
export const INBOX_LOCATION = {
  dynamodb,
  inboxTableName: INBOX_TABLE,
  retentionSeconds: RETENTION_SECONDS,
  claimSeconds: CLAIM_SECONDS,
} as const;

type InboxLocation = keyof typeof INBOX_LOCATION;

/** An IdempotentConsumer over the inbox (`INBOX_LOCATION`, which `options` may override) with the test's options. */
export function inboxConsumer(
  options: Omit<IdempotentConsumerOptions, InboxLocation> &
    Partial<Pick<IdempotentConsumerOptions, InboxLocation>>,
): IdempotentConsumer {
  return new IdempotentConsumer({ ...INBOX_LOCATION, ...options });
}

/** The item in the projection table that holds journal `name` of a key. */
export const journalKey = (name: string, groupKey: string) => ({ pk: `${name}#${groupKey}`, sk: 'JOURNAL' });

/**
 * Journal `name`: an effect that appends one entry per message it is applied for to its key's item in the projection
 * table — the oracle of "each once and in order" (applied twice, an entry shows twice; out of order, entries swap).
 * The entry is `<sequence>:<type>` unless `entry` says otherwise. `versioned` also sets the item's version to the
 * message's sequence and names the item as the effect's version target, so that every strategy can guard it.
 */
export function journalEffect(
  name: string,
  options: { readonly entry?: (delivered: MessageEnvelope) => unknown; readonly versioned?: boolean } = {},
): DynamoEffect {
  const entry = options.entry ?? ((delivered) => `${delivered.sequence}:${delivered.type}`);
  const append = 'SET entries = list_append(if_not_exists(entries, :empty), :entry)';
  return {
    name,
    items: (delivered) => [
      {
        Update: {
          TableName: PROJECTION_TABLE,
          Key: journalKey(name, delivered.groupKey),
          UpdateExpression: options.versioned === true ? `${append}, version = :version` : append,
          ExpressionAttributeValues: {
            ':empty': [],
            ':entry': [entry(delivered)],
            ...(options.versioned === true ? { ':version': delivered.sequence } : {}),
          },
        },
      },
    ],
    ...(options.versioned === true
      ? {
          versionTarget: (delivered: MessageEnvelope) => ({
            tableName: PROJECTION_TABLE,
            key: journalKey(name, delivered.groupKey),
          }),
        }
      : {}),
  };
}

/** The entries of journal `name` of a key, oldest first; none before the first. */
export function journalEntries(db: InMemoryDynamoDb, name: string, groupKey: string): unknown[] {
  return (db.item(PROJECTION_TABLE, journalKey(name, groupKey))?.entries as unknown[] | undefined) ?? [];
}
