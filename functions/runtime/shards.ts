/**
 * The shard (0 … shards − 1) a key belongs to: FNV-1a of its UTF-16 code units, so every writer and reader of a
 * sharded index agrees without coordination. Used to spread a sparse index's partition key over several values, so
 * no single partition of the index takes every write (DynamoDB serves about 1,000 writes/s per partition value).
 */
export function shardOf(key: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new RangeError(`shards must be an integer ≥ 1; got ${shards}`);
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % shards;
}

/** `prefix` followed by every shard number, zero-padded: the partition key values a reader must query. */
export function shardValues(prefix: string, shards: number): string[] {
  return Array.from({ length: shards }, (_, shard) => shardValue(prefix, shard, shards));
}

/** The partition key value of one shard. */
export function shardValue(prefix: string, shard: number, shards: number): string {
  return `${prefix}${String(shard).padStart(String(shards - 1).length, '0')}`;
}
