/**
 * The keys the library stores its items under (functions/runtime/storage-keys.ts), for the tools that read stored
 * items: the bench is a user of the library and imports no library file by its path, so it reads them here.
 */

export { inboxKeys } from '../functions/runtime/consumer/inbox-keys';
export {
  groupKeyOfPartition,
  halfMessageGroupKey,
  isHalfMessageGroupKey,
  keyPartition,
  messagePartition,
  SEQUENCE_DIGITS,
  StorageKey,
  sequenceSortKey,
} from '../functions/runtime/storage-keys';
