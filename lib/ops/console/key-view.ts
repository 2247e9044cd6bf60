import { listParked, type ParkedMessage } from '../../../functions/runtime/consumer/key-parking';
import type { OpsConnection as Connection } from '../connection';
import { groupConnection, groupsOf, selectGroups } from '../consumer-groups';
import { type KeyMessage, reconcileWithData, type StackReconcileReport } from '../reconcile';
import type { MessageRef, OutboxRecord } from '../reconcile-classification';

/** What one consumer group holds of the key. */
export interface KeyInGroup {
  readonly group: string;
  /** The group consumer's cursor: the last sequence applied (0 = none). */
  readonly applied: number;
  /** The id of the message the cursor moved to last, as the cursor records it. */
  readonly lastMessageId?: string;
  /** That message's W3C trace context (the request that committed it), when it carried one. */
  readonly lastTraceparent?: string;
  readonly parked: boolean;
  readonly held: readonly number[];
  readonly deadLettered: readonly MessageRef[];
  /** The group's queue depth, visible + in flight (all keys: SQS does not count per key). */
  readonly queueDepth: number;
}

/** One key end to end: what each stage holds of it, and `ops reconcile --key`'s verdict on it. */
export interface KeyView {
  readonly key: string;
  /** The group whose facts are the top-level ones (`applied`, `parked`, …): the one asked for, else the first. */
  readonly group: string;
  /** The producer's last committed sequence (the aggregate's version); null when the producer has no such key. */
  readonly committed: number | null;
  /** The consumer's cursor: the last sequence applied (0 = none). */
  readonly applied: number;
  /** The id of the message applied last, as the cursor records it. */
  readonly lastMessageId?: string;
  /** That message's W3C trace context, when it carried one. */
  readonly lastTraceparent?: string;
  readonly parked: boolean;
  /** Its messages still in the outbox (unsent, failed) and its transactions (open, failed, resolved tombstones). */
  readonly outbox: readonly OutboxRecord[];
  readonly deadLettered: readonly MessageRef[];
  /** The consumer's queue depth, visible + in flight (all keys: SQS does not count per key). */
  readonly queueDepth: number;
  readonly held: readonly number[];
  /** Its parked messages, each with when and why. */
  readonly parkedMessages: readonly ParkedMessage[];
  /** Each group read (the one asked for, else every group), the first one first. */
  readonly groups: readonly KeyInGroup[];
  /** The key's messages in the outbox and the groups' inboxes, with the trace context each carries. */
  readonly messages: readonly KeyMessage[];
  /** `ops reconcile --key [--group]`: every committed message that is not terminal, where it is, and its repair. */
  readonly reconcile: StackReconcileReport;
}

/**
 * Reads one key the way `ops reconcile --key [--group G]` does (the same reads, the same classification), plus why
 * it is parked in the group shown (G, else the first group).
 */
export async function keyView(c: Connection, key: string, groupName?: string): Promise<KeyView> {
  const shown = selectGroups(c, groupName)[0] ?? groupsOf(c)[0]!;
  const { report, data } = await reconcileWithData(c, {
    key,
    ...(groupName === undefined ? {} : { group: groupName }),
  });
  const groups: KeyInGroup[] = [...data].map(([group, read]) => {
    const cursor = read.cursors.get(key);
    return {
      group,
      applied: cursor?.lastSequence ?? 0,
      ...(cursor?.lastMessageId === undefined ? {} : { lastMessageId: cursor.lastMessageId }),
      ...(cursor?.lastTraceparent === undefined ? {} : { lastTraceparent: cursor.lastTraceparent }),
      parked: cursor?.parked ?? false,
      held: read.held.map((ref) => ref.sequence),
      deadLettered: read.deadLetters,
      queueDepth: read.queueDepth,
    };
  });
  const facts = groups.find((group) => group.group === shown.name)!;
  const read = data.get(shown.name)!;
  return {
    key,
    group: shown.name,
    committed: read.committed.get(key) ?? null,
    applied: facts.applied,
    ...(facts.lastMessageId === undefined ? {} : { lastMessageId: facts.lastMessageId }),
    ...(facts.lastTraceparent === undefined ? {} : { lastTraceparent: facts.lastTraceparent }),
    parked: facts.parked,
    outbox: read.outbox,
    deadLettered: facts.deadLettered,
    queueDepth: facts.queueDepth,
    held: facts.held,
    parkedMessages: await listParked(
      { dynamodb: c.dynamodb, inboxTableName: groupConnection(c, shown).outputs.InboxTableName },
      key,
    ),
    groups,
    messages: report.keyMessages ?? [],
    reconcile: report,
  };
}
