import {
  listParked,
  listParkedKeys,
  type ParkedMessage,
} from '../../../functions/runtime/consumer/key-parking';
import type { OpsConnection as Connection } from '../connection';
import { groupConnection, groupsOf, selectGroups } from '../consumer-groups';
import { peekDeadLetters } from '../dead-letters';
import { scanOutbox } from '../outbox-scan';
import { queueDepth } from '../queue-depth';
import { scanTransactionTable } from '../transaction-scan';

export interface FailedMessage {
  readonly groupKey: string;
  readonly sequence: number;
  readonly messageId: string;
  readonly attempts: number;
  readonly lastError: string;
  readonly createdAt: string;
}

export interface ParkedKey {
  readonly groupKey: string;
  readonly messages: readonly ParkedMessage[];
}

export interface OpenTransaction {
  readonly transactionId: string;
  readonly groupKey: string;
  readonly type: string;
  /** PREPARED (open: the check-back still decides) or FAILED (the check-back gave up). */
  readonly status: string;
  readonly checkCount: number;
  readonly createdAt: string;
}

/** What needs a repair, each list with the repair the page offers for it. */
export interface RepairLists {
  /** The consumer group whose parked keys and dead letters these are (its replay and redrive name it). */
  readonly group: string;
  /** Every group of the stack (a replay or a redrive of another group: ask for its lists). */
  readonly groups: readonly string[];
  /** `retry-failed`: outbox messages the sweep gave up on. */
  readonly failedMessages: readonly FailedMessage[];
  /** `replay --key`: parked keys and their parked messages (why, since when). */
  readonly parkedKeys: readonly ParkedKey[];
  /** `redrive`: the dead-letter queue's messages (looked at: hidden for 2 s, then visible again). */
  readonly deadLetters: ReadonlyArray<{ groupKey: string; sequence: number; messageId: string }>;
  /** `resolve --commit|--rollback`: open and failed transactions (half messages). */
  readonly transactions: readonly OpenTransaction[];
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/**
 * Reads the lists: the outbox once (and the transaction table, when half messages live in one), the parked keys
 * from the attention index, the dead-letter queue if not empty — those two of the group named, else the first.
 */
export async function repairLists(connection: Connection, groupName?: string): Promise<RepairLists> {
  const group = selectGroups(connection, groupName)[0]!;
  const c = groupConnection(connection, group);
  const outbox = await scanOutbox(c);
  const transactions = [...outbox, ...(await scanTransactionTable(c))];
  const inbox = { dynamodb: c.dynamodb, inboxTableName: c.outputs.InboxTableName };
  const parkedKeys: ParkedKey[] = [];
  for (const groupKey of await listParkedKeys(inbox)) {
    parkedKeys.push({ groupKey, messages: await listParked(inbox, groupKey) });
  }
  const dlq = await queueDepth(c, c.outputs.DeadLetterQueueUrl);
  return {
    group: group.name,
    groups: groupsOf(connection).map((g) => g.name),
    failedMessages: outbox
      .filter((item) => item.status === 'FAILED' && item.transactionId === undefined)
      .map((item) => ({
        groupKey: String(item.groupKey),
        sequence: Number(item.sequence),
        messageId: text(item.messageId),
        attempts: Number(item.attempts ?? 0),
        lastError: text(item.lastError),
        createdAt: text(item.createdAt),
      }))
      .sort((a, b) =>
        a.groupKey === b.groupKey ? a.sequence - b.sequence : a.groupKey < b.groupKey ? -1 : 1,
      ),
    parkedKeys,
    deadLetters: dlq.visible + dlq.inFlight > 0 ? await peekDeadLetters(c) : [],
    transactions: transactions
      .filter(
        (item) =>
          typeof item.transactionId === 'string' && (item.status === 'PREPARED' || item.status === 'FAILED'),
      )
      .map((item) => ({
        transactionId: String(item.transactionId),
        groupKey: text(item.targetGroupKey),
        type: text(item.type),
        status: String(item.status),
        checkCount: Number(item.checkCount ?? 0),
        createdAt: text(item.createdAt),
      }))
      .sort((a, b) => (a.createdAt < b.createdAt ? -1 : a.createdAt > b.createdAt ? 1 : 0)),
  };
}
