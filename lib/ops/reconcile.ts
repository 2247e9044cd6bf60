import { BatchGetCommand, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AttentionKind, readAttention } from '../../functions/runtime/consumer/attention-index';
import type { LocalStepRef } from '../../functions/runtime/half/half-message';
import { isHalfMessageGroupKey, keyPartition, StorageKey } from '../../functions/runtime/storage-keys';
import type { OpsConnection as Connection } from './connection';
import {
  type ConsumerGroupTarget,
  groupArgument,
  groupConnection,
  groupsOf,
  selectGroups,
} from './consumer-groups';
import { type CursorItems, cursorItems } from './cursor-table';
import { peekDeadLetters } from './dead-letters';
import { scanOutbox } from './outbox-scan';
import { type ProducerTable, ProducerTableNotDeclaredError } from './producer-table';
import type { Progress } from './progress';
import { queueDepth } from './queue-depth';
import {
  type CursorState,
  classify,
  type MessageRef,
  NON_TERMINAL_STATES,
  type NonTerminalState,
  type OutboxRecord,
  type ReconcileData,
  type ReconcileReport,
} from './reconcile-classification';
import { scanTransactionTable } from './transaction-scan';

// `ops reconcile`, reading the stack: `gatherReconcileData` reads what `classify` (reconcile-classification.ts)
// needs in O(keys + unsent + held + parked + dead-lettered).

export interface ReconcileOptions {
  /** Only this key. */
  readonly key?: string;
  /** Only keys that start with this. */
  readonly prefix?: string;
  /** The producer's table: its key attribute and its last-sequence attribute. @default the connection's */
  readonly producerTable?: Omit<ProducerTable, 'source'>;
  /** For the message when no producer table is known. @default 'the stack' */
  readonly stackName?: string;
  readonly progress?: Progress;
  /** Only this consumer group. @default every group */
  readonly group?: string;
}

/** What the producer committed and what the outbox holds: read once, whatever the number of consumer groups. */
type ProducerSide = Pick<ReconcileData, 'committed' | 'outbox'>;

/** What a consumer group holds: its queues, its inbox, its cursors. */
type GroupSide = Omit<ReconcileData, keyof ProducerSide>;

const wantedKey =
  (options: ReconcileOptions) =>
  (key: string): boolean =>
    (options.key === undefined || key === options.key) &&
    (options.prefix === undefined || key.startsWith(options.prefix));

/**
 * Reads what `classify` needs for the connection's (first) consumer group, in flow order: producer, outbox, queues,
 * inbox (so a moving message is not missed).
 */
export async function gatherReconcileData(
  c: Connection,
  options: ReconcileOptions = {},
): Promise<ReconcileData> {
  cursorItems(c.cursorTable, c.outputs.InboxTableName); // no telling where the cursors are: fail before reading
  const producer = await readProducerSide(c, options);
  return { ...producer, ...(await readGroupSide(c, options, producer)) };
}

async function readProducerSide(c: Connection, options: ReconcileOptions): Promise<ProducerSide> {
  const wanted = wantedKey(options);
  const aggregate = options.producerTable ?? c.producerTable;
  if (aggregate === undefined) throw new ProducerTableNotDeclaredError(options.stackName ?? 'the stack');

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
    if (got.Item !== undefined)
      committed.set(options.key, Number(got.Item[aggregate.sequenceAttribute] ?? 0));
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
            '#version': aggregate.sequenceAttribute,
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
        committed.set(String(item[aggregate.keyAttribute]), Number(item[aggregate.sequenceAttribute] ?? 0));
      }
      counter?.update(committed.size);
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    counter?.finish(committed.size);
  }

  // 2. The outbox: only unsent, prepared and failed messages (and tombstones), so O(unsent) — with the transaction
  // table's half messages when they live in a table of their own; for each rolled-back transaction that names its
  // local step, whether that step's record exists all the same.
  const outbox = await Promise.all(
    [...(await scanOutbox(c)), ...(await scanTransactionTable(c))]
      .filter((item) => wanted(String(item.targetGroupKey ?? item.groupKey)))
      .map(async (item) => ({ ...toOutboxRecord(item), ...(await localStepOfRollback(c, item)) })),
  );
  return { committed, outbox };
}

/** A consumer group's side (the connection's queue, dead-letter queue, inbox and cursors), after the producer's. */
async function readGroupSide(
  c: Connection,
  options: ReconcileOptions,
  { committed, outbox }: ProducerSide,
): Promise<GroupSide> {
  const wanted = wantedKey(options);
  const cursorAt = cursorItems(c.cursorTable, c.outputs.InboxTableName);

  // 3. The queues: depths, and the dead-letter queue's messages when it holds some.
  const queue = await queueDepth(c, c.outputs.QueueUrl);
  const dlq = await queueDepth(c, c.outputs.DeadLetterQueueUrl);
  const deadLetters =
    dlq.visible > 0 ? (await peekDeadLetters(c)).filter((message) => wanted(message.groupKey)) : [];

  // 4. The inbox: held and parked messages from the sparse attention index, O(held + parked).
  const held = (await attention(c, 'HELD')).filter((ref) => wanted(ref.groupKey));
  const parked = (await attention(c, 'PARKED')).filter((ref) => wanted(ref.groupKey));

  // 5. The consumer's cursors (in its cursor table, else the inbox's cursor items), 100 keys per BatchGetItem.
  // (With --key, that key's even when the producer has no such key: what the group applied of it is shown.)
  const keys = [
    ...new Set([
      ...committed.keys(),
      ...outbox.map((item) => item.targetGroupKey ?? item.groupKey),
      ...(options.key === undefined ? [] : [options.key]),
    ]),
  ].filter((key) => !isHalfMessageGroupKey(key));
  // With --key, the cursor's record of the message it moved to last (its id and trace context) comes along.
  const cursors = await readCursors(c, cursorAt, keys, options.progress, options.key !== undefined);
  return {
    deadLetters,
    deadLetterDepth: dlq.visible + dlq.inFlight,
    queueDepth: queue.visible + queue.inFlight,
    held,
    parked,
    cursors,
  };
}

/** A consumer group's verdict. */
export interface GroupReconcileReport extends ReconcileReport {
  readonly group: string;
}

/** A message of the key `reconcile --key` looks at, where it was seen, and the trace context it carries. */
export interface KeyMessage {
  /** The consumer group whose inbox holds it; absent for the outbox. */
  readonly group?: string;
  /** null for a half message (it takes its sequence at commit). */
  readonly sequence: number | null;
  readonly messageId: string;
  /** `outbox: PENDING`, `outbox: FAILED`, `outbox: half message PREPARED`, `inbox: held`, `inbox: parked`, … */
  readonly where: string;
  /** The W3C trace context of the request that committed it (`00-<trace-id>-<span-id>-<flags>`), when it has one. */
  readonly traceparent?: string;
}

/**
 * What a consumer group applied last of the key `reconcile --key` looks at, as its cursor records it: the message the
 * cursor moved to last (applied, or passed over when of a type the group does not apply), and the trace context of
 * the request that committed it — for a healthy key too, whose messages are in no outbox and no inbox any more.
 */
export interface LastApplied {
  readonly group: string;
  /** The group's cursor: the last sequence applied (0 = none). */
  readonly sequence: number;
  /** Absent when nothing is applied, or the cursor was last moved by a consumer that did not record it. */
  readonly messageId?: string;
  /** Absent when the message carried none (or as `messageId`). */
  readonly traceparent?: string;
}

/**
 * `reconcile`'s answer: every consumer group's verdict together (a message is terminal once applied in every group)
 * — for a stack with a single group, that group's — and each group's on its own; with `--key`, each message known
 * of the key with its trace context.
 */
export interface StackReconcileReport extends ReconcileReport {
  /** Each group's verdict, the first group first (only the one `group` names, when given). */
  readonly groups: readonly GroupReconcileReport[];
  /** With `key`: the key's messages in the outbox and in each group's inbox (held, parked), in that order. */
  readonly keyMessages?: readonly KeyMessage[];
  /** With `key`: what each group (as in `groups`) applied last of it, by its cursor. */
  readonly lastApplied?: readonly LastApplied[];
}

/**
 * `ops reconcile`: reads the stack and classifies every committed message, in each consumer group (every group's
 * cursor of a key must reach what the producer committed: a group that skips some types advances its cursor past
 * them all the same), or in the one `options.group` names.
 */
export async function reconcile(
  c: Connection,
  options: ReconcileOptions = {},
): Promise<StackReconcileReport> {
  return (await reconcileWithData(c, options)).report;
}

/** `reconcile`, and what it read of each group (by group name), for views that show more than the verdict. */
export async function reconcileWithData(
  c: Connection,
  options: ReconcileOptions = {},
): Promise<{ report: StackReconcileReport; data: ReadonlyMap<string, ReconcileData> }> {
  const groups = selectGroups(c, options.group);
  for (const group of groups) cursorItems(group.cursorTable, group.inboxTableName); // fail before reading
  const producer = await readProducerSide(c, options);
  const reports: GroupReconcileReport[] = [];
  const inboxMessages: KeyMessage[] = [];
  const read = new Map<string, ReconcileData>();
  for (const group of groups) {
    const gc = groupConnection(c, group);
    const data = { ...producer, ...(await readGroupSide(gc, options, producer)) };
    read.set(group.name, data);
    const argument = groupArgument(c, group);
    reports.push({
      group: group.name,
      ...classify(data, argument === undefined ? {} : { groupArgument: argument }),
    });
    if (options.key !== undefined) inboxMessages.push(...(await inboxMessagesOf(gc, group, options.key)));
  }
  const several = groupsOf(c).length > 1;
  const { key } = options;
  const report: StackReconcileReport = {
    ...(several ? combineGroupReports(reports) : withoutGroup(reports[0]!)),
    groups: reports,
    ...(key === undefined
      ? {}
      : {
          keyMessages: [
            ...producer.outbox.map(outboxKeyMessage),
            ...inboxMessages.map((message) => (several ? message : withoutGroupName(message))),
          ],
          lastApplied: [...read].map(([group, data]) => lastAppliedOf(group, data.cursors.get(key))),
        }),
  };
  return { report, data: read };
}

function withoutGroup({ group: _group, ...report }: GroupReconcileReport): ReconcileReport {
  return report;
}

function withoutGroupName({ group: _group, ...message }: KeyMessage): KeyMessage {
  return message;
}

/** States of a transaction, the same in every group: a combined report lists them once, without a group. */
const PRODUCER_STATES: ReadonlySet<NonTerminalState> = new Set<NonTerminalState>([
  'TRANSACTION_OPEN',
  'TRANSACTION_FAILED',
  'LOCAL_STEP_WITHOUT_MESSAGE',
]);

/**
 * The verdicts of several groups as one: terminal when terminal in every group; `notTerminal` and `byState` count a
 * message once per group it is not terminal in (a transaction's states once); `applied` is the fewest any group
 * applied; each row names its group (a transaction's rows none: they are listed once).
 */
export function combineGroupReports(reports: readonly GroupReconcileReport[]): ReconcileReport {
  const [first] = reports;
  if (first === undefined) throw new RangeError('no group to combine');
  const byState = Object.fromEntries(
    NON_TERMINAL_STATES.map((state) => [
      state,
      PRODUCER_STATES.has(state)
        ? first.byState[state]
        : reports.reduce((sum, report) => sum + report.byState[state], 0),
    ]),
  ) as Record<NonTerminalState, number>;
  const rank = (group: string | undefined) => reports.findIndex((report) => report.group === group);
  const messages = [
    ...first.messages.filter((message) => PRODUCER_STATES.has(message.state)),
    ...reports.flatMap((report) =>
      report.messages
        .filter((message) => !PRODUCER_STATES.has(message.state))
        .map((message) => ({ ...message, group: report.group })),
    ),
  ].sort((a, b) =>
    a.groupKey !== b.groupKey
      ? a.groupKey < b.groupKey
        ? -1
        : 1
      : a.group !== b.group
        ? rank(a.group) - rank(b.group)
        : (a.fromSequence ?? 0) - (b.fromSequence ?? 0),
  );
  const notTerminal = Object.values(byState).reduce((sum, count) => sum + count, 0);
  return {
    keysChecked: Math.max(...reports.map((report) => report.keysChecked)),
    messagesCommitted: Math.max(...reports.map((report) => report.messagesCommitted)),
    applied: Math.min(...reports.map((report) => report.applied)),
    rolledBack: Math.max(...reports.map((report) => report.rolledBack)),
    notTerminal,
    byState,
    consumerAheadKeys: Math.max(...reports.map((report) => report.consumerAheadKeys)),
    allTerminal: notTerminal === 0,
    messages,
  };
}

/** A group's cursor of the key, as `LastApplied` (no cursor item: nothing applied). */
function lastAppliedOf(group: string, cursor: CursorState | undefined): LastApplied {
  return {
    group,
    sequence: cursor?.lastSequence ?? 0,
    ...(cursor?.lastMessageId === undefined ? {} : { messageId: cursor.lastMessageId }),
    ...(cursor?.lastTraceparent === undefined ? {} : { traceparent: cursor.lastTraceparent }),
  };
}

function outboxKeyMessage(item: OutboxRecord): KeyMessage {
  const half = item.transactionId !== undefined || isHalfMessageGroupKey(item.groupKey);
  return {
    sequence: half ? null : item.sequence,
    messageId: item.messageId,
    where: half ? `outbox: half message ${item.status}` : `outbox: ${item.status}`,
    ...(item.traceparent === undefined ? {} : { traceparent: item.traceparent }),
  };
}

/** The key's held and parked messages in a group's inbox (their stored envelopes carry the trace context). */
async function inboxMessagesOf(
  c: Connection,
  group: ConsumerGroupTarget,
  key: string,
): Promise<KeyMessage[]> {
  const found: KeyMessage[] = [];
  for (const [prefix, where] of [
    [StorageKey.HELD, 'inbox: held'],
    [StorageKey.PARKED, 'inbox: parked'],
  ] as const) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await c.dynamodb.send(
        new QueryCommand({
          TableName: c.outputs.InboxTableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :kind)',
          ExpressionAttributeValues: { ':pk': keyPartition(key), ':kind': prefix },
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const envelope = storedEnvelope(item.message);
        found.push({
          group: group.name,
          sequence: Number(String(item.sk).slice(prefix.length)),
          messageId: typeof envelope?.messageId === 'string' ? envelope.messageId : '',
          where,
          ...(typeof envelope?.traceparent === 'string' ? { traceparent: envelope.traceparent } : {}),
        });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
  return found;
}

/** A held or parked item's stored message (the envelope as JSON), as far as it can be read. */
function storedEnvelope(message: unknown): Record<string, unknown> | undefined {
  if (typeof message !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(message);
    return parsed !== null && typeof parsed === 'object' ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined; // an unreadable body parked as is: no trace context to show
  }
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
    ...optionalString('traceparent'),
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

/**
 * The cursors of `keys`, where the consumer keeps them (its cursor table, else the inbox table's cursor items): the
 * last sequence applied and whether the key is parked (an absent item: nothing applied yet); with `lastApplied`,
 * also the id and trace context of the message the cursor moved to last. 100 keys per BatchGetItem, a few in
 * parallel, unprocessed keys asked again with backoff.
 */
async function readCursors(
  c: Connection,
  items: CursorItems,
  keys: readonly string[],
  progress: Progress | undefined,
  lastApplied: boolean,
): Promise<Map<string, CursorState>> {
  const table = items.tableName;
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
            Keys: batch.map((key) => items.key(key)),
            ConsistentRead: true,
            ProjectionExpression: lastApplied
              ? '#key, #last, #parked, #messageId, #traceparent'
              : '#key, #last, #parked',
            ExpressionAttributeNames: {
              '#key': items.groupKeyAttribute,
              '#last': 'lastSequence',
              '#parked': 'parked',
              ...(lastApplied ? { '#messageId': 'lastMessageId', '#traceparent': 'lastTraceparent' } : {}),
            },
          },
        };
        for (let attempt = 0; request !== undefined && Object.keys(request).length > 0; attempt++) {
          if (attempt > 0)
            await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
          const response = await c.dynamodb.send(new BatchGetCommand({ RequestItems: request }));
          for (const item of response.Responses?.[table] ?? []) {
            cursors.set(items.groupKeyOf(item), {
              lastSequence: Number(item.lastSequence ?? 0),
              parked: item.parked === true,
              ...(typeof item.lastMessageId === 'string' ? { lastMessageId: item.lastMessageId } : {}),
              ...(typeof item.lastTraceparent === 'string' ? { lastTraceparent: item.lastTraceparent } : {}),
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
