import { isHalfMessageGroupKey, StorageKey } from '../../functions/runtime/storage-keys';
/**
 * `ops reconcile`, the pure half: is every committed message in a terminal state? Committed per key = the producer's
 * last sequence (its aggregate's version, or a higher sequence still in the outbox); applied = the consumer's cursor.
 * Everything in between is found where it is (outbox, dead-letter queue, inbox held/parked) or else is in transit.
 * `classify` decides that from what `gatherReconcileData` (reconcile.ts) read; it reads nothing itself.
 */

/** Where a non-terminal message is, each with its own repair. */
export const NON_TERMINAL_STATES = [
  'OUTBOX_PENDING',
  'OUTBOX_FAILED',
  'TRANSACTION_OPEN',
  'TRANSACTION_FAILED',
  'LOCAL_STEP_WITHOUT_MESSAGE',
  'DEAD_LETTERED',
  'PARKED',
  'HELD',
  'IN_TRANSIT',
  'UNACCOUNTED',
] as const;
export type NonTerminalState = (typeof NON_TERMINAL_STATES)[number];

/** An outbox item as reconcile reads it (ordinary messages and half messages). */
export interface OutboxRecord {
  readonly groupKey: string;
  readonly sequence: number;
  readonly messageId: string;
  readonly status: string;
  readonly attempts?: number;
  readonly lastError?: string;
  readonly checkCount?: number;
  /** Set on half messages (groupKey `TX#<transactionId>`). */
  readonly transactionId?: string;
  readonly targetGroupKey?: string;
  /**
   * A rolled-back half message whose local step's record exists nonetheless (e.g. a payment recorded after its
   * transaction was rolled back, by a producer without the fence): money taken, no message. Never terminal.
   */
  readonly localStepRecorded?: boolean;
  /** The W3C trace context of the request that committed it, when the producer recorded one. */
  readonly traceparent?: string;
}

export interface MessageRef {
  readonly groupKey: string;
  readonly sequence: number;
  readonly messageId?: string;
}

export interface CursorState {
  readonly lastSequence: number;
  readonly parked: boolean;
  /** The id of the message the cursor moved to last (read with `--key` only; absent before the consumer recorded it). */
  readonly lastMessageId?: string;
  /** That message's W3C trace context, when it carried one (read with `--key` only). */
  readonly lastTraceparent?: string;
}

/** What reconcile reads, in the order it reads it (a message only moves forward: producer → outbox → queue → inbox). */
export interface ReconcileData {
  /** The producer's last committed sequence per key (the aggregate's version). */
  readonly committed: ReadonlyMap<string, number>;
  readonly outbox: readonly OutboxRecord[];
  /** Messages seen in the dead-letter queue (a peek; may miss messages in flight there). */
  readonly deadLetters: readonly MessageRef[];
  /** Dead-letter queue depth, visible + in flight. */
  readonly deadLetterDepth: number;
  /** Queue depth, visible + in flight (in flight = being processed by the consumer). */
  readonly queueDepth: number;
  readonly held: readonly MessageRef[];
  readonly parked: readonly MessageRef[];
  /** The consumer's cursor per key (absent: nothing applied yet). */
  readonly cursors: ReadonlyMap<string, CursorState>;
}

/** A run of non-terminal messages of one key with the same state (a single message when from = to). */
export interface NonTerminalMessages {
  readonly groupKey: string;
  /** null for an open or failed transaction: its message takes its sequence at commit. */
  readonly fromSequence: number | null;
  readonly toSequence: number | null;
  readonly count: number;
  readonly state: NonTerminalState;
  readonly where: string;
  /** The ops command that repairs it (`npx reliable-messaging-ops <repair> --stack <name>`), or what to do when none does. */
  readonly repair: string;
  readonly messageId?: string;
  readonly transactionId?: string;
  /** The consumer group it is not terminal in (a stack of several groups). */
  readonly group?: string;
}

export interface ReconcileReport {
  readonly keysChecked: number;
  /** Messages the producer committed on those keys. */
  readonly messagesCommitted: number;
  /** Of those, applied by the consumer (terminal). */
  readonly applied: number;
  /** Half messages rolled back (terminal), as long as their tombstones last (7 days). */
  readonly rolledBack: number;
  /** Committed messages not applied, plus open or failed transactions. */
  readonly notTerminal: number;
  readonly byState: Readonly<Record<NonTerminalState, number>>;
  /** Keys whose consumer cursor is beyond what the producer committed (messages from another producer, or tests). */
  readonly consumerAheadKeys: number;
  readonly allTerminal: boolean;
  readonly messages: readonly NonTerminalMessages[];
}

/** A key as a shell argument (quoted when it needs to be). */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

interface Found {
  readonly state: NonTerminalState;
  readonly where: string;
  readonly messageId?: string;
}

/** How `classify` words its repairs. */
export interface ClassifyOptions {
  /**
   * What the group-side repairs (`replay`, `redrive`) add to their command line, e.g. `--group audit` (a stack of
   * several consumer groups). @default nothing
   */
  readonly groupArgument?: string;
}

/** Classifies every committed message of every key as applied, or where it is and what repairs it. Pure. */
export function classify(data: ReconcileData, options: ClassifyOptions = {}): ReconcileReport {
  const inGroup = options.groupArgument === undefined ? '' : ` ${options.groupArgument}`;
  const byState = Object.fromEntries(NON_TERMINAL_STATES.map((state) => [state, 0])) as Record<
    NonTerminalState,
    number
  >;
  const committed = new Map(data.committed);
  const messages: NonTerminalMessages[] = [];
  let rolledBack = 0;

  // Points known per key: the most advanced place wins (a message seen in the outbox and then held is held).
  const known = new Map<string, Map<number, Found>>();
  const note = (ref: MessageRef, found: Found, rank: number, ranks: Map<string, number>) => {
    const id = `${ref.groupKey}\u0000${ref.sequence}`;
    if ((ranks.get(id) ?? -1) >= rank) return;
    ranks.set(id, rank);
    const points = known.get(ref.groupKey) ?? new Map<number, Found>();
    known.set(ref.groupKey, points);
    points.set(ref.sequence, found);
  };
  const ranks = new Map<string, number>();
  const keysWithTransactions = new Set<string>();

  for (const item of data.outbox) {
    if (item.transactionId !== undefined || isHalfMessageGroupKey(item.groupKey)) {
      const target = item.targetGroupKey ?? item.groupKey;
      const transactionId = item.transactionId ?? item.groupKey.slice(StorageKey.TRANSACTION.length);
      if (item.status === 'ROLLED_BACK' && item.localStepRecorded === true) {
        keysWithTransactions.add(target);
        messages.push({
          groupKey: target,
          fromSequence: null,
          toSequence: null,
          count: 1,
          state: 'LOCAL_STEP_WITHOUT_MESSAGE',
          where: 'local step recorded (e.g. a payment), but its transaction was rolled back: no message',
          repair:
            'investigate: undo the local step (e.g. refund) or announce it by hand; see the runbook (docs/operations.md#runbook)',
          messageId: item.messageId,
          transactionId,
        });
        byState.LOCAL_STEP_WITHOUT_MESSAGE++;
        continue;
      }
      if (item.status === 'ROLLED_BACK') rolledBack++;
      if (item.status !== 'PREPARED' && item.status !== 'FAILED') continue; // COMMITTED: its message is PENDING
      keysWithTransactions.add(target);
      const open = item.status === 'PREPARED';
      const state: NonTerminalState = open ? 'TRANSACTION_OPEN' : 'TRANSACTION_FAILED';
      const resolve = `resolve --transaction ${shellWord(transactionId)} --commit|--rollback`;
      messages.push({
        groupKey: target,
        fromSequence: null,
        toSequence: null,
        count: 1,
        state,
        where: open
          ? `outbox: half message PREPARED (${item.checkCount ?? 0} checks)`
          : `outbox: half message FAILED after ${item.checkCount ?? 0} checks`,
        repair: open ? `none: the check-back decides (or ${resolve})` : resolve,
        messageId: item.messageId,
        transactionId,
      });
      byState[state]++;
      continue;
    }
    committed.set(item.groupKey, Math.max(committed.get(item.groupKey) ?? 0, item.sequence));
    const failed = item.status === 'FAILED';
    const attempts = item.attempts ?? 0;
    note(
      item,
      {
        state: failed ? 'OUTBOX_FAILED' : 'OUTBOX_PENDING',
        where: failed
          ? `outbox: FAILED after ${attempts} attempts${item.lastError ? ` (${item.lastError})` : ''}`
          : `outbox: PENDING, ${attempts} attempts${item.lastError ? ` (${item.lastError})` : ''}`,
        messageId: item.messageId,
      },
      1,
      ranks,
    );
  }
  for (const ref of data.deadLetters) {
    note(ref, { state: 'DEAD_LETTERED', where: 'dead-letter queue', ...idOf(ref) }, 2, ranks);
  }
  for (const ref of data.held) note(ref, { state: 'HELD', where: 'inbox: held', ...idOf(ref) }, 3, ranks);
  for (const ref of data.parked)
    note(ref, { state: 'PARKED', where: 'inbox: parked', ...idOf(ref) }, 4, ranks);

  const elsewhere: Found =
    data.queueDepth + data.deadLetterDepth > 0
      ? {
          state: 'IN_TRANSIT',
          where:
            data.deadLetterDepth > data.deadLetters.length
              ? 'queue, consumer (in flight) or dead-letter queue'
              : 'queue or consumer (in flight)',
        }
      : { state: 'UNACCOUNTED', where: 'not in the outbox, the queues or the inbox' };

  let messagesCommitted = 0;
  let applied = 0;
  let consumerAheadKeys = 0;
  const keys = [...new Set([...committed.keys(), ...keysWithTransactions])].sort();
  for (const key of keys) {
    const last = committed.get(key) ?? 0;
    const cursor = data.cursors.get(key) ?? { lastSequence: 0, parked: false };
    messagesCommitted += last;
    applied += Math.min(last, cursor.lastSequence);
    if (cursor.lastSequence > last) consumerAheadKeys++;
    if (cursor.lastSequence >= last) continue;

    const points = known.get(key) ?? new Map<number, Found>();
    const stateAt = (sequence: number): Found => points.get(sequence) ?? elsewhere;
    const gap = stateAt(cursor.lastSequence + 1);
    const repairOf = (found: Found): string => {
      if (cursor.parked && found.state !== 'OUTBOX_FAILED' && found.state !== 'OUTBOX_PENDING') {
        return `replay --key ${shellWord(key)}${inGroup}`;
      }
      switch (found.state) {
        case 'OUTBOX_PENDING':
          return 'none: the relay or the next sweep sends it';
        case 'OUTBOX_FAILED':
          return `retry-failed --key ${shellWord(key)}`;
        case 'DEAD_LETTERED':
          return `redrive${inGroup}`;
        case 'PARKED':
          return `replay --key ${shellWord(key)}${inGroup}`;
        case 'HELD':
          return gap.state === 'HELD'
            ? 'none: released when its predecessor is applied'
            : `${repairOf(gap)} (for #${cursor.lastSequence + 1}, which it waits for)`;
        case 'IN_TRANSIT':
          return 'none: the consumer applies it (if it stays, see `status`)';
        default:
          return 'investigate: see the runbook (docs/operations.md#runbook; reconcile lists UNACCOUNTED)';
      }
    };
    // Walk (cursor, last]: known points one by one, the stretches between them as one run each.
    const sequences = [...points.keys()]
      .filter((s) => s > cursor.lastSequence && s <= last)
      .sort((a, b) => a - b);
    const runs: Array<{ from: number; to: number; found: Found }> = [];
    let next = cursor.lastSequence + 1;
    for (const sequence of [...sequences, last + 1]) {
      if (sequence > next) runs.push({ from: next, to: sequence - 1, found: elsewhere });
      if (sequence <= last) runs.push({ from: sequence, to: sequence, found: points.get(sequence)! });
      next = sequence + 1;
    }
    for (const run of runs) {
      const count = run.to - run.from + 1;
      const where =
        cursor.parked && (run.found.state === 'IN_TRANSIT' || run.found.state === 'HELD')
          ? `${run.found.where}; key parked`
          : run.found.state === 'HELD'
            ? `${run.found.where} behind #${cursor.lastSequence + 1}`
            : run.found.where;
      const row: NonTerminalMessages = {
        groupKey: key,
        fromSequence: run.from,
        toSequence: run.to,
        count,
        state: run.found.state,
        where,
        repair: repairOf(run.found),
        ...(count === 1 && run.found.messageId !== undefined ? { messageId: run.found.messageId } : {}),
      };
      const previous = messages.at(-1);
      if (
        previous !== undefined &&
        previous.groupKey === key &&
        previous.state === row.state &&
        previous.where === row.where &&
        previous.repair === row.repair &&
        previous.toSequence === row.fromSequence! - 1
      ) {
        // Merge consecutive runs that read the same (e.g. several FAILED messages in a row).
        const { messageId: _dropped, ...rest } = previous;
        messages[messages.length - 1] = {
          ...rest,
          toSequence: row.toSequence,
          count: previous.count + count,
        };
      } else {
        messages.push(row);
      }
      byState[run.found.state] += count;
    }
  }
  const notTerminal = Object.values(byState).reduce((sum, n) => sum + n, 0);
  messages.sort((a, b) =>
    a.groupKey === b.groupKey
      ? (a.fromSequence ?? 0) - (b.fromSequence ?? 0)
      : a.groupKey < b.groupKey
        ? -1
        : 1,
  );
  return {
    keysChecked: keys.length,
    messagesCommitted,
    applied,
    rolledBack,
    notTerminal,
    byState,
    consumerAheadKeys,
    allTerminal: notTerminal === 0,
    messages,
  };
}

function idOf(ref: MessageRef): { messageId?: string } {
  return ref.messageId === undefined ? {} : { messageId: ref.messageId };
}
