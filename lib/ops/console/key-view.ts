import { listParked, type ParkedMessage } from '../../../functions/runtime/consumer/key-parking';
import type { OpsConnection as Connection } from '../connection';
import { gatherReconcileData } from '../reconcile';
import {
  classify,
  type MessageRef,
  type OutboxRecord,
  type ReconcileReport,
} from '../reconcile-classification';

/** One key end to end: what each stage holds of it, and `ops reconcile --key`'s verdict on it. */
export interface KeyView {
  readonly key: string;
  /** The producer's last committed sequence (the aggregate's version); null when the producer has no such key. */
  readonly committed: number | null;
  /** The consumer's cursor: the last sequence applied (0 = none). */
  readonly applied: number;
  readonly parked: boolean;
  /** Its messages still in the outbox (unsent, failed) and its transactions (open, failed, resolved tombstones). */
  readonly outbox: readonly OutboxRecord[];
  readonly deadLettered: readonly MessageRef[];
  /** The consumer's queue depth, visible + in flight (all keys: SQS does not count per key). */
  readonly queueDepth: number;
  readonly held: readonly number[];
  /** Its parked messages, each with when and why. */
  readonly parkedMessages: readonly ParkedMessage[];
  /** `ops reconcile --key`: every committed message that is not terminal, where it is, and its repair. */
  readonly reconcile: ReconcileReport;
}

/** Reads one key the way `ops reconcile --key` does (the same reads, the same classification), plus why it is parked. */
export async function keyView(c: Connection, key: string): Promise<KeyView> {
  const data = await gatherReconcileData(c, { key });
  const cursor = data.cursors.get(key);
  return {
    key,
    committed: data.committed.get(key) ?? null,
    applied: cursor?.lastSequence ?? 0,
    parked: cursor?.parked ?? false,
    outbox: data.outbox,
    deadLettered: data.deadLetters,
    queueDepth: data.queueDepth,
    held: data.held.map((ref) => ref.sequence),
    parkedMessages: await listParked({ dynamodb: c.dynamodb, inboxTableName: c.outputs.InboxTableName }, key),
    reconcile: classify(data),
  };
}
