import type { OpsConnection as Connection } from './connection';
import { type ScannedItems, scanTable } from './table-scan';

/**
 * Every item of the outbox table: what is in flight, unsent, prepared or failed (and resolved transactions'
 * tombstones) — sent messages are deleted, so this is O(unsent), not O(history). The table, not its `unsent` index:
 * a message is in the index only once the relay could not send it or the sweeper's audit found it.
 */
export function scanOutbox(c: Connection): Promise<ScannedItems> {
  return scanTable(c.dynamodb, c.outputs.OutboxTableName);
}
