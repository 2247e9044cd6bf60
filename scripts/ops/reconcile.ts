import { BatchGetCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AttentionKind, readAttention } from '../../functions/runtime/consumer/attention-index';
import { inboxKeys } from '../../functions/runtime/consumer/inbox-keys';
import type { LocalStepRef } from '../../functions/runtime/half/half-message';
import type { Connection } from '../local/stack-control';
import { queueDepth } from '../local/stack-queries';
import { peekDeadLetters } from './dead-letters';
import { OpsError } from './errors';
import { scanOutbox } from './outbox-scan';
import type { Progress } from './progress';

/**
 * `ops reconcile`: is every committed message in a terminal state? Committed per key = the producer's last
 * sequence (its aggregate's version, or a higher sequence still in the outbox); applied = the consumer's cursor.
 * Everything in between is found where it is (outbox, dead-letter queue, inbox held/parked) or else is in transit.
 * The classification is pure (`classify`); `gatherReconcileData` reads the stack in O(keys + unsent + held +
 * parked + dead-lettered).
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
}

export interface MessageRef {
  readonly groupKey: string;
  readonly sequence: number;
  readonly messageId?: string;
}

export interface CursorState {
  readonly lastSequence: number;
  readonly parked: boolean;
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
  /** The ops command that repairs it (`npm run ops -- <repair>`), or what to do when no command does. */
  readonly repair: string;
  readonly messageId?: string;
  readonly transactionId?: string;
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

/** Classifies every committed message of every key as applied, or where it is and what repairs it. Pure. */
export function classify(data: ReconcileData): ReconcileReport {
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
    if (item.transactionId !== undefined || item.groupKey.startsWith('TX#')) {
      const target = item.targetGroupKey ?? item.groupKey;
      const transactionId = item.transactionId ?? item.groupKey.replace(/^TX#/, '');
      if (item.status === 'ROLLED_BACK' && item.localStepRecorded === true) {
        keysWithTransactions.add(target);
        messages.push({
          groupKey: target,
          fromSequence: null,
          toSequence: null,
          count: 1,
          state: 'LOCAL_STEP_WITHOUT_MESSAGE',
          where: 'local step recorded (e.g. a payment), but its transaction was rolled back: no message',
          repair: 'investigate: undo the local step (e.g. refund) or announce it by hand; see the runbook',
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
        return `replay --key ${shellWord(key)}`;
      }
      switch (found.state) {
        case 'OUTBOX_PENDING':
          return 'none: the relay or the next sweep sends it';
        case 'OUTBOX_FAILED':
          return `retry-failed --key ${shellWord(key)}`;
        case 'DEAD_LETTERED':
          return 'redrive';
        case 'PARKED':
          return `replay --key ${shellWord(key)}`;
        case 'HELD':
          return gap.state === 'HELD'
            ? 'none: released when its predecessor is applied'
            : `${repairOf(gap)} (for #${cursor.lastSequence + 1}, which it waits for)`;
        case 'IN_TRANSIT':
          return 'none: the consumer applies it (if it stays, see `status`)';
        default:
          return 'investigate: see the runbook (reconcile lists UNACCOUNTED)';
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

// ---------------------------------------------------------------------------------------------------------------
// Reading the stack

export interface ReconcileOptions {
  /** Only this key. */
  readonly key?: string;
  /** Only keys that start with this. */
  readonly prefix?: string;
  /** The producer's aggregate table: key attribute and version attribute. @default orders: orderId, version */
  readonly aggregate?: {
    readonly tableName: string;
    readonly keyAttribute: string;
    readonly versionAttribute: string;
  };
  readonly progress?: Progress;
}

/** Reads what `classify` needs, in flow order: producer, outbox, queues, inbox (so a moving message is not missed). */
export async function gatherReconcileData(
  c: Connection,
  options: ReconcileOptions = {},
): Promise<ReconcileData> {
  const wanted = (key: string) =>
    (options.key === undefined || key === options.key) &&
    (options.prefix === undefined || key.startsWith(options.prefix));
  const aggregate = options.aggregate ?? {
    tableName: c.outputs.OrdersTableName,
    keyAttribute: 'orderId',
    versionAttribute: 'version',
  };
  if (aggregate.tableName === '') {
    throw new OpsError(
      "reconcile compares the outbox with the producer's table: the stack has no OrdersTableName output",
    );
  }

  // 1. What the producer committed: one read per key (a Scan of the aggregates, or one GetItem).
  const committed = new Map<string, number>();
  if (options.key !== undefined) {
    const got = await c.dynamodb.send(
      new GetCommand({
        TableName: aggregate.tableName,
        Key: { [aggregate.keyAttribute]: options.key },
        ConsistentRead: true,
      }),
    );
    if (got.Item !== undefined) committed.set(options.key, Number(got.Item[aggregate.versionAttribute] ?? 0));
  } else {
    const counter = options.progress?.counter('reading keys');
    let start: Record<string, unknown> | undefined;
    do {
      const page = await c.dynamodb.send(
        new ScanCommand({
          TableName: aggregate.tableName,
          ConsistentRead: true,
          ProjectionExpression: '#key, #version',
          ExpressionAttributeNames: {
            '#key': aggregate.keyAttribute,
            '#version': aggregate.versionAttribute,
          },
          ...(options.prefix === undefined
            ? {}
            : {
                FilterExpression: 'begins_with(#key, :prefix)',
                ExpressionAttributeValues: { ':prefix': options.prefix },
              }),
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        committed.set(String(item[aggregate.keyAttribute]), Number(item[aggregate.versionAttribute] ?? 0));
      }
      counter?.update(committed.size);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    counter?.finish(committed.size);
  }

  // 2. The outbox: only unsent, prepared and failed messages (and tombstones), so O(unsent); for each rolled-back
  // transaction that names its local step, whether that step's record exists all the same.
  const outbox = await Promise.all(
    (await scanOutbox(c))
      .filter((item) => wanted(String(item.targetGroupKey ?? item.groupKey)))
      .map(async (item) => ({ ...toOutboxRecord(item), ...(await localStepOfRollback(c, item)) })),
  );

  // 3. The queues: depths, and the dead-letter queue's messages when it has any.
  const queue = await queueDepth(c, c.outputs.QueueUrl);
  const dlq = await queueDepth(c, c.outputs.DeadLetterQueueUrl);
  const deadLetters =
    dlq.visible > 0 ? (await peekDeadLetters(c)).filter((message) => wanted(message.groupKey)) : [];

  // 4. The inbox: held and parked messages from the sparse attention index, O(held + parked).
  const held = (await attention(c, 'HELD')).filter((ref) => wanted(ref.groupKey));
  const parked = (await attention(c, 'PARKED')).filter((ref) => wanted(ref.groupKey));

  // 5. The consumer's cursors, 100 keys per BatchGetItem.
  const keys = [
    ...new Set([...committed.keys(), ...outbox.map((item) => item.targetGroupKey ?? item.groupKey)]),
  ].filter((key) => !key.startsWith('TX#'));
  const cursors = await readCursors(c, keys, options.progress);
  return {
    committed,
    outbox,
    deadLetters,
    deadLetterDepth: dlq.visible + dlq.inFlight,
    queueDepth: queue.visible + queue.inFlight,
    held,
    parked,
    cursors,
  };
}

/** `ops reconcile`: reads the stack and classifies every committed message. */
export async function reconcile(c: Connection, options: ReconcileOptions = {}): Promise<ReconcileReport> {
  return classify(await gatherReconcileData(c, options));
}

/** For a ROLLED_BACK half message that names its local step's record: whether that record exists. */
async function localStepOfRollback(
  c: Connection,
  item: Record<string, unknown>,
): Promise<{ localStepRecorded?: boolean }> {
  const localStep = item.localStep as LocalStepRef | undefined;
  if (item.status !== 'ROLLED_BACK' || localStep === undefined) return {};
  const got = await c.dynamodb.send(
    new GetCommand({ TableName: localStep.tableName, Key: localStep.key, ConsistentRead: true }),
  );
  return { localStepRecorded: got.Item !== undefined };
}

function toOutboxRecord(item: Record<string, unknown>): OutboxRecord {
  const optionalString = (name: string) =>
    typeof item[name] === 'string' ? { [name]: item[name] as string } : {};
  const optionalNumber = (name: string) => (item[name] === undefined ? {} : { [name]: Number(item[name]) });
  return {
    groupKey: String(item.groupKey),
    sequence: Number(item.sequence),
    messageId: String(item.messageId ?? ''),
    status: String(item.status ?? ''),
    ...optionalNumber('attempts'),
    ...optionalNumber('checkCount'),
    ...optionalString('lastError'),
    ...optionalString('transactionId'),
    ...optionalString('targetGroupKey'),
  };
}

async function attention(c: Connection, kind: AttentionKind): Promise<MessageRef[]> {
  const refs: MessageRef[] = [];
  for (const item of await readAttention(c.dynamodb, c.outputs.InboxTableName, kind)) {
    const sequence = Number(String(item.sk).replace(/^[A-Z]+#/, ''));
    if (Number.isFinite(sequence)) refs.push({ groupKey: String(item.pk).replace(/^KEY#/, ''), sequence });
  }
  return refs;
}

const BATCH = 100;
const PARALLEL_BATCHES = 4;

async function readCursors(
  c: Connection,
  keys: readonly string[],
  progress: Progress | undefined,
): Promise<Map<string, CursorState>> {
  const table = c.outputs.InboxTableName;
  const cursors = new Map<string, CursorState>();
  const bar = progress?.bar('checking keys', keys.length);
  let done = 0;
  const batches: string[][] = [];
  for (let i = 0; i < keys.length; i += BATCH) batches.push(keys.slice(i, i + BATCH));
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(PARALLEL_BATCHES, batches.length) }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        type Request = Record<
          string,
          {
            Keys: Record<string, unknown>[];
            ConsistentRead: boolean;
            ProjectionExpression: string;
            ExpressionAttributeNames: Record<string, string>;
          }
        >;
        let request: Request | undefined = {
          [table]: {
            Keys: batch.map((key) => inboxKeys.cursor(key)),
            ConsistentRead: true,
            ProjectionExpression: '#pk, #last, #parked',
            ExpressionAttributeNames: { '#pk': 'pk', '#last': 'lastSequence', '#parked': 'parked' },
          },
        };
        for (let attempt = 0; request !== undefined && Object.keys(request).length > 0; attempt++) {
          if (attempt > 0)
            await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
          const response = await c.dynamodb.send(new BatchGetCommand({ RequestItems: request }));
          for (const item of response.Responses?.[table] ?? []) {
            cursors.set(String(item.pk).replace(/^KEY#/, ''), {
              lastSequence: Number(item.lastSequence ?? 0),
              parked: item.parked === true,
            });
          }
          request = response.UnprocessedKeys as Request | undefined;
        }
        done += batch.length;
        bar?.update(done);
      }
    }),
  );
  bar?.finish();
  return cursors;
}
