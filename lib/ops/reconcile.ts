import { BatchGetCommand, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { type AttentionKind, readAttention } from '../../functions/runtime/consumer/attention-index';
import type { LocalStepRef } from '../../functions/runtime/half/half-message';
import type { OpsConnection as Connection } from './connection';
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
}

/** Reads what `classify` needs, in flow order: producer, outbox, queues, inbox (so a moving message is not missed). */
export async function gatherReconcileData(
  c: Connection,
  options: ReconcileOptions = {},
): Promise<ReconcileData> {
  const wanted = (key: string) =>
    (options.key === undefined || key === options.key) &&
    (options.prefix === undefined || key.startsWith(options.prefix));
  const aggregate = options.producerTable ?? c.producerTable;
  if (aggregate === undefined) throw new ProducerTableNotDeclaredError(options.stackName ?? 'the stack');
  const cursorAt = cursorItems(c.cursorTable, c.outputs.InboxTableName);

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

  // 3. The queues: depths, and the dead-letter queue's messages when it holds some.
  const queue = await queueDepth(c, c.outputs.QueueUrl);
  const dlq = await queueDepth(c, c.outputs.DeadLetterQueueUrl);
  const deadLetters =
    dlq.visible > 0 ? (await peekDeadLetters(c)).filter((message) => wanted(message.groupKey)) : [];

  // 4. The inbox: held and parked messages from the sparse attention index, O(held + parked).
  const held = (await attention(c, 'HELD')).filter((ref) => wanted(ref.groupKey));
  const parked = (await attention(c, 'PARKED')).filter((ref) => wanted(ref.groupKey));

  // 5. The consumer's cursors (in its cursor table, else the inbox's cursor items), 100 keys per BatchGetItem.
  const keys = [
    ...new Set([...committed.keys(), ...outbox.map((item) => item.targetGroupKey ?? item.groupKey)]),
  ].filter((key) => !key.startsWith('TX#'));
  const cursors = await readCursors(c, cursorAt, keys, options.progress);
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

/**
 * The cursors of `keys`, where the consumer keeps them (its cursor table, else the inbox table's cursor items): the
 * last sequence applied and whether the key is parked (an absent item: nothing applied yet). 100 keys per
 * BatchGetItem, a few in parallel, unprocessed keys asked again with backoff.
 */
async function readCursors(
  c: Connection,
  items: CursorItems,
  keys: readonly string[],
  progress: Progress | undefined,
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
            ProjectionExpression: '#key, #last, #parked',
            ExpressionAttributeNames: {
              '#key': items.groupKeyAttribute,
              '#last': 'lastSequence',
              '#parked': 'parked',
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
