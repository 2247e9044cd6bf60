import { UNSENT_INDEX, UNSENT_INDEX_ATTRIBUTES } from '../../functions/runtime/outbox/unsent-index';
import { type IndexSchema, InMemoryDynamoDb, type Item } from './in-memory-dynamodb';

// ---------------------------------------------------------------------------------------------------------
// The transactional outbox as an InMemoryDynamoDb table (lib/constructs/transactional-outbox.ts: key groupKey +
// sequence, and the sparse `unsent` index on sweepShard + sweepOrder), with shorthands that address an item by its groupKey and sequence. Calls go
// through `db` (install it on the mocked DynamoDBDocumentClient; its hooks, latency and paging apply).
// ---------------------------------------------------------------------------------------------------------

/** The outbox's key attributes: partition key, then sort key. */
export const OUTBOX_KEY = ['groupKey', 'sequence'] as const;

/** The outbox's global secondary indexes, for an InMemoryDynamoDb that holds an outbox table. */
export const OUTBOX_INDEXES: Readonly<Record<string, IndexSchema>> = {
  [UNSENT_INDEX]: {
    keys: ['sweepShard', 'sweepOrder'],
    projection: 'INCLUDE',
    include: UNSENT_INDEX_ATTRIBUTES,
  },
};

export class OutboxTable {
  readonly db: InMemoryDynamoDb;

  constructor(readonly tableName: string) {
    this.db = new InMemoryDynamoDb({ [tableName]: OUTBOX_KEY }, { [tableName]: OUTBOX_INDEXES });
  }

  seed(...items: readonly Item[]): void {
    this.db.seed(this.tableName, ...items);
  }

  item(groupKey: string, sequence: number): Item | undefined {
    return this.db.item(this.tableName, { groupKey, sequence });
  }

  all(): Item[] {
    return this.db.all(this.tableName);
  }

  patch(groupKey: string, sequence: number, changes: Item): void {
    this.db.patch(this.tableName, { groupKey, sequence }, changes);
  }

  remove(groupKey: string, sequence: number): void {
    this.db.remove(this.tableName, { groupKey, sequence });
  }

  /** Every item a BatchWrite (or Delete, or transaction) deleted, as it was just before. */
  get deleted(): Item[] {
    return this.db.deleted(this.tableName);
  }
}

export function outboxTable(tableName: string): OutboxTable {
  return new OutboxTable(tableName);
}
