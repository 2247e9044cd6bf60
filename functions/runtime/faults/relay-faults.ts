import {
  type DestinationEntry,
  MAX_BATCH_ENTRIES,
  type MessageDestination,
} from '../relay/message-destination';
import type { RelayHooks } from '../relay/outbox-publisher';
import type { RelayCandidate } from '../relay/stream-records';
import { chance, type FaultSource, InjectedFaultError } from './fault-injector';

/**
 * The relay's fault hooks: reordered and duplicated deliveries (the copies go to `destination`, the queue or topic
 * the relay sends to, under another deduplication id), and a crash between send and delete.
 */
export function relayFaultHooks(
  faults: FaultSource,
  destination: MessageDestination,
  random: () => number = Math.random,
): RelayHooks {
  return {
    async beforeSend(entries) {
      const { reorderDelivery } = await faults.current();
      if (!reorderDelivery) return entries;
      const reordered = [...entries];
      for (let i = 0; i + 1 < reordered.length; i++) {
        const [first, second] = [reordered[i]!, reordered[i + 1]!];
        if (first.MessageGroupId === second.MessageGroupId && chance(reorderDelivery, random)) {
          reordered[i] = second;
          reordered[i + 1] = first;
          i++;
        }
      }
      return reordered;
    },
    async afterSend(entries) {
      const { duplicateDelivery } = await faults.current();
      const copies: DestinationEntry[] = entries
        .filter(() => chance(duplicateDelivery, random))
        .map((entry, index) => ({
          ...entry,
          Id: `duplicate-${index}`,
          MessageDeduplicationId: `${entry.MessageDeduplicationId}-duplicate-${Math.floor(random() * 1e9)}`,
        }));
      for (let start = 0; start < copies.length; start += MAX_BATCH_ENTRIES) {
        await destination.publishBatch(copies.slice(start, start + MAX_BATCH_ENTRIES)).catch(() => undefined); // a lost copy is no fault of the system under test
      }
    },
    async beforeDelete() {
      if (chance((await faults.current()).relayCrashAfterSend, random)) {
        throw new InjectedFaultError('relay crashed after send, before delete');
      }
    },
  };
}

/** Stream records the relay "never processes": they are acknowledged without being sent. */
export async function dropSkippedRecords(
  faults: FaultSource,
  candidates: readonly RelayCandidate[],
  random: () => number = Math.random,
): Promise<{ kept: RelayCandidate[]; dropped: RelayCandidate[] }> {
  const { relaySkipRecord } = await faults.current();
  const dropped = candidates.filter(() => chance(relaySkipRecord, random));
  return { kept: candidates.filter((candidate) => !dropped.includes(candidate)), dropped };
}
