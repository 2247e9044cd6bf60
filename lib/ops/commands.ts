import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DeleteMessageBatchCommand, SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import { type InboxReport, inspectInbox } from '../../functions/runtime/consumer/inbox-monitor';
import { listParkedKeys, type ReplayResult, replayKey } from '../../functions/runtime/consumer/key-parking';
import { TransactionalProducer } from '../../functions/runtime/half/transactional-producer';
import type { OutboxItem } from '../../functions/runtime/outbox/outbox-message';
import { retryFailed } from '../../functions/runtime/sweeper/outbox-repair';
import { type OpsConnection as Connection, transactionTableOf } from './connection';
import { groupConnection, oneGroup, selectGroups } from './consumer-groups';
import { cursorItems } from './cursor-table';
import { receiveDeadLetters } from './dead-letters';
import { scanOutbox } from './outbox-scan';
import { queueDepth } from './queue-depth';
import { scanTransactionTable } from './transaction-scan';

export interface OutboxCounts {
  readonly pending: number;
  readonly prepared: number;
  readonly failed: number;
  readonly oldestPendingAgeSeconds: number;
  readonly oldestPreparedAgeSeconds: number;
}

/** One consumer group's stages: its queue, dead-letter queue and inbox. */
export interface GroupStatus {
  readonly group: string;
  readonly queue: { readonly visible: number; readonly inFlight: number };
  readonly deadLetterQueue: { readonly visible: number; readonly inFlight: number };
  readonly inbox: InboxReport;
  readonly parkedKeys: readonly string[];
}

export interface StatusReport {
  readonly outbox: OutboxCounts;
  /** The SNS FIFO topic the relay publishes to (a stack that fans out to consumer groups); null: a single queue. */
  readonly topic: { readonly arn: string } | null;
  /** The first group's queue (the group `--group` names). */
  readonly queue: { readonly visible: number; readonly inFlight: number };
  readonly deadLetterQueue: { readonly visible: number; readonly inFlight: number };
  readonly inbox: InboxReport;
  readonly parkedKeys: readonly string[];
  /** Every consumer group's stages (only the one `--group` names when given), the first one first. */
  readonly groups: readonly GroupStatus[];
  readonly alarms: Readonly<Record<string, string>>;
}

/** One group's stages. */
async function groupStatus(c: Connection, now: Date): Promise<Omit<GroupStatus, 'group'>> {
  return {
    queue: await queueDepth(c, c.outputs.QueueUrl),
    deadLetterQueue: await queueDepth(c, c.outputs.DeadLetterQueueUrl),
    inbox: await inspectInbox(c.dynamodb, c.outputs.InboxTableName, now),
    parkedKeys: await listParkedKeys({ dynamodb: c.dynamodb, inboxTableName: c.outputs.InboxTableName }),
  };
}

/**
 * `ops status [--group G]`: the state of every stage — the outbox, the topic, each consumer group's queue,
 * dead-letter queue and inbox (or only G's) — and the alarms (those named after the stack).
 */
export async function status(
  c: Connection,
  now: Date,
  stackName: string,
  groupName?: string,
): Promise<StatusReport> {
  // Half messages in a table of their own are counted with the outbox's (PREPARED, and FAILED ones).
  const items = [...(await scanOutbox(c)), ...(await scanTransactionTable(c))] as OutboxItem[];
  const age = (status: string) => {
    const oldest = items
      .filter((i) => i.status === status)
      .reduce((min, i) => Math.min(min, Date.parse(i.createdAt)), now.getTime());
    return Math.max(0, Math.round((now.getTime() - oldest) / 1000));
  };
  const alarms = await new CloudWatchClient(c.config).send(
    new DescribeAlarmsCommand({ AlarmNamePrefix: `${stackName}-` }),
  );
  const groups: GroupStatus[] = [];
  for (const group of selectGroups(c, groupName)) {
    groups.push({ group: group.name, ...(await groupStatus(groupConnection(c, group), now)) });
  }
  const { group: _name, ...first } = groups[0]!;
  const topicArn = c.outputs.EventsTopicArn;
  return {
    outbox: {
      pending: items.filter((i) => i.status === 'PENDING').length,
      prepared: items.filter((i) => i.status === 'PREPARED').length,
      failed: items.filter((i) => i.status === 'FAILED').length,
      oldestPendingAgeSeconds: age('PENDING'),
      oldestPreparedAgeSeconds: age('PREPARED'),
    },
    topic: topicArn === undefined || topicArn === '' ? null : { arn: topicArn },
    ...first,
    groups,
    alarms: Object.fromEntries(
      (alarms.MetricAlarms ?? []).map((alarm) => [
        withoutPrefix(alarm.AlarmName ?? '', `${stackName}-Alarms`).replace(/[A-F0-9]{8}-[A-Z0-9]+$/, ''),
        alarm.StateValue ?? 'UNKNOWN',
      ]),
    ),
  };
}

function withoutPrefix(text: string, prefix: string): string {
  return text.startsWith(prefix) ? text.slice(prefix.length) : text;
}

/** `ops retry-failed [--key K] [--message M]`: FAILED messages back to PENDING; the next sweep sends them. */
export async function retryFailedMessages(c: Connection, filter: { groupKey?: string; messageId?: string }) {
  const retried = await retryFailed(c.dynamodb, c.outputs.OutboxTableName, filter);
  return {
    retried: retried.map((item) => ({
      groupKey: item.groupKey,
      sequence: item.sequence,
      messageId: item.messageId,
    })),
  };
}

/**
 * Replays a parked key of the deployed stack (what `ops replay --key` does): unparks the key on its cursor, where
 * the consumer keeps it (its cursor table, else the inbox table's cursor item). A stack of several consumer groups:
 * the group named (`groupName`; a UsageError without one).
 */
export async function replayParkedKey(
  connection: Connection,
  groupKey: string,
  groupName?: string,
): Promise<ReplayResult & { readonly group: string }> {
  const group = oneGroup(connection, groupName, 'replay');
  const c = groupConnection(connection, group);
  const { tableName, key } = cursorItems(c.cursorTable, c.outputs.InboxTableName);
  const result = await replayKey(
    {
      dynamodb: c.dynamodb,
      sqs: c.sqs,
      inboxTableName: c.outputs.InboxTableName,
      cursor: { tableName, key },
      queueUrl: c.outputs.QueueUrl,
    },
    groupKey,
  );
  return { group: group.name, ...result };
}

/** The transactional producer of the deployed stack, as an operator's tool uses it (resolve by hand). */
export function transactionalProducer(c: Connection): TransactionalProducer {
  return new TransactionalProducer({
    dynamodb: c.dynamodb,
    outboxTableName: c.outputs.OutboxTableName,
    transactionTableName: transactionTableOf(c.outputs),
  });
}

/** `ops replay --key K [--group G]`: a parked key's messages applied again, in order (in group G). */
export function replay(
  c: Connection,
  groupKey: string,
  groupName?: string,
): Promise<ReplayResult & { readonly group: string }> {
  return replayParkedKey(c, groupKey, groupName);
}

/** `ops resolve --transaction T --commit|--rollback`: a transaction resolved by hand (PREPARED or FAILED). */
export async function resolve(c: Connection, transactionId: string, outcome: 'commit' | 'rollback') {
  const producer = transactionalProducer(c);
  return outcome === 'commit'
    ? { outcome, ...(await producer.commit(transactionId, 'operator')) }
    : { outcome, ...(await producer.rollback(transactionId, 'operator')) };
}

export interface RedriveResult {
  readonly dryRun: boolean;
  /** The consumer group whose dead-letter queue it is. */
  readonly group: string;
  /** The messages found in the dead-letter queue, in the order they are (or would be) sent back. */
  readonly messages: ReadonlyArray<{ groupKey: string; sequence: number; messageId: string }>;
}

/**
 * `ops redrive [--dry-run]`: every message of the dead-letter queue back to the queue, each key's messages in
 * sequence order (a new deduplication id each, so SQS does not drop them; the consumer deduplicates by sequence).
 * A dry run only lists them (they become visible again in the dead-letter queue after a few seconds). A stack of
 * several consumer groups: the group named (`groupName`; a UsageError without one).
 */
export async function redrive(
  connection: Connection,
  dryRun: boolean,
  groupName?: string,
): Promise<RedriveResult> {
  const group = oneGroup(connection, groupName, 'redrive');
  const c = groupConnection(connection, group);
  // A dry run lets the messages come back to the dead-letter queue soon; a redrive holds them while it works.
  const received = await receiveDeadLetters(c, dryRun ? 2 : 60);
  if (!dryRun) {
    for (const message of received) {
      await c.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: c.outputs.QueueUrl,
          Entries: [
            {
              Id: '0',
              MessageBody: message.body,
              MessageGroupId: message.envelope.groupKey,
              MessageDeduplicationId: `${message.envelope.messageId}:redrive:${Date.now()}`,
            },
          ],
        }),
      );
      await c.sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: c.outputs.DeadLetterQueueUrl,
          Entries: [{ Id: '0', ReceiptHandle: message.receipt }],
        }),
      );
    }
  }
  return {
    dryRun,
    group: group.name,
    messages: received.map((m) => ({
      groupKey: m.envelope.groupKey,
      sequence: m.envelope.sequence,
      messageId: m.envelope.messageId,
    })),
  };
}
