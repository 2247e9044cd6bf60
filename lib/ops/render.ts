import type { ReplayResult } from '../../functions/runtime/consumer/key-parking';
import { OPS_COMMAND } from './cli-args';
import type { RedriveResult, StatusReport } from './commands';
import { UNNAMED_GROUP } from './consumer-groups';
import type { KeyMessage, LastApplied, StackReconcileReport } from './reconcile';
import { NON_TERMINAL_STATES, type ReconcileReport } from './reconcile-classification';
import type { SettleReport } from './settle';
import { type Cell, renderPairs, renderTable } from './table';

/** Readable output of each command (`--json` prints the result objects instead). */

export function renderStatus(report: StatusReport): string {
  const { outbox } = report;
  // A stack of several groups (or a named one) says each row's group; a single unnamed group reads as before.
  const named = report.groups.length > 1 || report.groups.some((group) => group.group !== UNNAMED_GROUP);
  const stage = (group: string, what: string) => (named ? `${what} (${group})` : what);
  const stages = [
    { stage: 'outbox', what: 'PENDING (unsent)', count: outbox.pending, age: outbox.oldestPendingAgeSeconds },
    {
      stage: 'outbox',
      what: 'PREPARED (open transactions)',
      count: outbox.prepared,
      age: outbox.oldestPreparedAgeSeconds,
    },
    { stage: 'outbox', what: 'FAILED', count: outbox.failed, age: undefined },
    ...report.groups.flatMap(({ group, queue, deadLetterQueue, inbox }) => [
      { stage: stage(group, 'queue'), what: 'visible', count: queue.visible, age: undefined },
      { stage: stage(group, 'queue'), what: 'in flight', count: queue.inFlight, age: undefined },
      {
        stage: stage(group, 'dead-letter queue'),
        what: 'visible',
        count: deadLetterQueue.visible,
        age: undefined,
      },
      {
        stage: stage(group, 'dead-letter queue'),
        what: 'in flight',
        count: deadLetterQueue.inFlight,
        age: undefined,
      },
      {
        stage: stage(group, 'inbox'),
        what: 'held (behind a gap)',
        count: inbox.heldMessages,
        age: inbox.oldestHeldAgeSeconds,
      },
      {
        stage: stage(group, 'inbox'),
        what: 'parked',
        count: inbox.parkedMessages,
        age: inbox.oldestParkedAgeSeconds,
      },
      { stage: stage(group, 'inbox'), what: 'parked keys', count: inbox.parkedKeys, age: undefined },
    ]),
  ];
  const parkedKeys = (keys: readonly string[]) => (keys.length === 0 ? '(none)' : keys.join(', '));
  const alarms = Object.entries(report.alarms)
    .map(([alarm, state]) => ({ alarm, state }))
    .sort((a, b) =>
      a.state === b.state
        ? a.alarm < b.alarm
          ? -1
          : 1
        : a.state === 'ALARM'
          ? -1
          : b.state === 'ALARM'
            ? 1
            : 0,
    );
  return [
    renderTable(
      [
        { header: 'STAGE', value: (row) => row.stage },
        { header: 'MESSAGES', value: (row) => row.what },
        { header: 'COUNT', value: (row) => row.count },
        {
          header: 'OLDEST (s)',
          value: (row) => (row.age === undefined || row.count === 0 ? undefined : row.age),
          align: 'right',
        },
      ],
      stages,
    ),
    '',
    ...(report.topic === null ? [] : [`topic: ${report.topic.arn}`]),
    ...(named
      ? report.groups.map(({ group, parkedKeys: keys }) => `parked keys (${group}): ${parkedKeys(keys)}`)
      : [`parked keys: ${parkedKeys(report.parkedKeys)}`]),
    '',
    renderTable(
      [
        { header: 'ALARM', value: (row) => row.alarm },
        { header: 'STATE', value: (row) => row.state },
      ],
      alarms,
      { empty: 'alarms: (none found)' },
    ),
  ].join('\n');
}

/**
 * `reconcile`'s tables; the repair column's commands are run as `npx reliable-messaging-ops <repair> --stack <name>`.
 * A report of several consumer groups says each group's verdict, and each row's group; one of a key (`--key`) says
 * what each group applied last of it and lists the key's messages still on their way, with their trace context.
 */
export function renderReconcile(
  report: ReconcileReport | StackReconcileReport,
  stackName = '<name>',
): string {
  const groups = 'groups' in report && report.groups.length > 1 ? report.groups : [];
  const keyMessages = 'keyMessages' in report ? (report.keyMessages ?? []) : [];
  const lastApplied = 'lastApplied' in report ? (report.lastApplied ?? []) : [];
  return [
    renderVerdict(report, stackName, groups.length > 1),
    ...(groups.length > 1 ? ['', renderGroupVerdicts(groups)] : []),
    ...(lastApplied.length > 0 ? ['', renderLastApplied(lastApplied)] : []),
    ...(keyMessages.length > 0 ? ['', renderKeyMessages(keyMessages)] : []),
  ].join('\n');
}

/** What each group applied last of the key (its cursor), with that message's id and trace context. */
function renderLastApplied(rows: readonly LastApplied[]): string {
  const named = rows.length > 1 || rows.some((row) => row.group !== UNNAMED_GROUP);
  return renderTable(
    [
      ...(named ? [{ header: 'GROUP', value: (row: LastApplied) => row.group }] : []),
      {
        header: 'LAST APPLIED',
        value: (row) => (row.sequence === 0 ? '(none)' : row.sequence),
        align: 'right',
      },
      { header: 'MESSAGE', value: (row) => row.messageId ?? '-' },
      { header: 'TRACEPARENT', value: (row) => row.traceparent ?? '-' },
    ],
    rows,
  );
}

/** Each group's verdict on one line. */
function renderGroupVerdicts(groups: StackReconcileReport['groups']): string {
  return renderTable(
    [
      { header: 'GROUP', value: (row) => row.group },
      { header: 'APPLIED', value: (row) => `${row.applied} of ${row.messagesCommitted}` },
      {
        header: 'VERDICT',
        value: (row) =>
          row.allTerminal
            ? 'settled: every committed message terminal'
            : `NOT settled: ${row.notTerminal} not terminal (${statesOf(row)})`,
      },
    ],
    groups,
    { maxCellWidth: 100 },
  );
}

/** The key's messages known of, where, and their trace context. */
function renderKeyMessages(messages: readonly KeyMessage[]): string {
  const grouped = messages.some((message) => message.group !== undefined);
  return renderTable(
    [
      { header: 'SEQUENCE', value: (row) => row.sequence ?? '(at commit)', align: 'right' },
      {
        header: 'WHERE',
        value: (row) => (grouped && row.group !== undefined ? `${row.where} (${row.group})` : row.where),
      },
      { header: 'MESSAGE', value: (row) => row.messageId },
      { header: 'TRACEPARENT', value: (row) => row.traceparent ?? '-' },
    ],
    messages,
  );
}

const statesOf = (report: ReconcileReport) =>
  NON_TERMINAL_STATES.filter((state) => report.byState[state] > 0)
    .map((state) => `${state} ${report.byState[state]}`)
    .join(', ');

function renderVerdict(report: ReconcileReport, stackName: string, grouped: boolean): string {
  const states = statesOf(report);
  const summary = renderPairs([
    ['keys checked', report.keysChecked],
    ['messages committed', report.messagesCommitted],
    [grouped ? 'applied (the least of the groups)' : 'applied', report.applied],
    ['rolled back', report.rolledBack],
    [
      grouped ? 'not terminal (per group)' : 'not terminal',
      report.notTerminal === 0
        ? `0 — every committed message is terminal${grouped ? ' in every group' : ''}`
        : `${report.notTerminal} (${states})`,
    ],
    ...(report.consumerAheadKeys > 0
      ? ([
          ['consumer ahead', `${report.consumerAheadKeys} keys (applied more than the producer committed)`],
        ] as const)
      : []),
  ]);
  if (report.messages.length === 0) return summary;
  const sequences = (row: ReconcileReport['messages'][number]) =>
    row.fromSequence === null
      ? '(uncommitted)'
      : row.fromSequence === row.toSequence
        ? `${row.fromSequence}`
        : `${row.fromSequence}-${row.toSequence}`;
  return [
    summary,
    '',
    renderTable(
      [
        { header: 'KEY', value: (row) => row.groupKey },
        ...(grouped
          ? [{ header: 'GROUP', value: (row: ReconcileReport['messages'][number]) => row.group ?? '(all)' }]
          : []),
        { header: 'SEQUENCES', value: sequences, align: 'right' },
        { header: 'COUNT', value: (row) => row.count },
        { header: 'STATE', value: (row) => row.state },
        { header: 'WHERE', value: (row) => row.where },
        { header: `REPAIR (${OPS_COMMAND} … --stack ${stackName})`, value: (row) => row.repair },
      ],
      report.messages,
      { maxCellWidth: 100 },
    ),
  ].join('\n');
}

/** One row per message: its key, sequence and id. */
function messagesTable(
  messages: ReadonlyArray<{ groupKey: string; sequence: number; messageId: string }>,
): string {
  return renderTable(
    [
      { header: 'KEY', value: (row) => row.groupKey },
      { header: 'SEQUENCE', value: (row) => row.sequence },
      { header: 'MESSAGE', value: (row) => row.messageId },
    ],
    messages,
  );
}

export function renderRetried(result: {
  retried: ReadonlyArray<{ groupKey: string; sequence: number; messageId: string }>;
}): string {
  return [
    `${result.retried.length} FAILED message(s) back to PENDING; the next sweep (every minute) sends them`,
    ...(result.retried.length === 0 ? [] : ['', messagesTable(result.retried)]),
  ].join('\n');
}

export function renderReplay(result: ReplayResult & { readonly group?: string }): string {
  return renderPairs([
    ['key', result.groupKey],
    ...(result.group === undefined || result.group === UNNAMED_GROUP
      ? []
      : ([['group', result.group]] as const)),
    ['replayed sequences', result.replayed.length === 0 ? '(none parked)' : result.replayed.join(', ')],
    ['re-sent to restart it', result.resent ?? '(nothing to re-send)'],
  ]);
}

export function renderResolve(result: object): string {
  return renderPairs(
    Object.entries(result).map(([name, value]: [string, unknown]) => [name, toCell(value)] as const),
  );
}

function toCell(value: unknown): Cell {
  if (value === null || value === undefined) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  return JSON.stringify(value);
}

export function renderRedrive(result: RedriveResult): string {
  return [
    result.dryRun
      ? `${result.messages.length} message(s) in the dead-letter queue${ofGroup(result.group)} (dry run: nothing moved)`
      : `${result.messages.length} message(s) sent back to the queue${ofGroup(result.group)}, each key in sequence order`,
    ...(result.messages.length === 0 ? [] : ['', messagesTable(result.messages)]),
  ].join('\n');
}

const ofGroup = (group: string | undefined) =>
  group === undefined || group === UNNAMED_GROUP ? '' : ` of group ${group}`;

export function renderSettle(report: SettleReport, stackName = '<name>'): string {
  const awaiting = report.awaitingOperator.reduce((sum, message) => sum + message.count, 0);
  const moving = report.moving.reduce((sum, message) => sum + message.count, 0);
  const headline = report.settled
    ? `settled after ${report.seconds} s: ${report.reconcile.applied} of ${report.reconcile.messagesCommitted} ` +
      `committed messages applied${awaiting === 0 ? '' : `, ${awaiting} wait for an operator (repairs below)`}`
    : `gave up after ${report.seconds} s: ${moving} message(s) still moving` +
      (awaiting === 0 ? '' : `, ${awaiting} wait for an operator`);
  return report.reconcile.messages.length === 0
    ? headline
    : [headline, '', renderReconcile(report.reconcile, stackName)].join('\n');
}
