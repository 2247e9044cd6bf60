import { type OpsConnection as Connection, transactionTableOf } from './connection';
import { type ScannedItems, scanTable } from './table-scan';

/**
 * Every item of the stack's transaction table (open transactions and their tombstones), when half messages live in
 * a table of their own; none when they live in the outbox table (`scanOutbox` reads them there already).
 */
export async function scanTransactionTable(c: Connection): Promise<ScannedItems> {
  const tableName = transactionTableOf(c.outputs);
  return tableName === c.outputs.OutboxTableName ? [] : scanTable(c.dynamodb, tableName);
}
