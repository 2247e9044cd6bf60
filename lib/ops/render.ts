import type { ReplayResult } from '../../functions/runtime/consumer/key-parking';
import { OPS_COMMAND } from './cli-args';
import type { RedriveResult, StatusReport } from './commands';
import { NON_TERMINAL_STATES, type ReconcileReport } from './reconcile-classification';
import type { SettleReport } from './settle';
import { type Cell, renderPairs, renderTable } from './table';

/** Readable output of each command (`--json` prints the result objects instead). */

export function renderStatus(report: StatusReport): string {
  const { outbox, queue, deadLetterQueue, inbox } = report;
  const stages = [
    { stage: 'outbox', what: 'PENDING (unsent)', count: outbox.pending, age: outbox.oldestPendingAgeSeconds },
    {
      stage: 'outbox',
      what: 'PREPARED (open transactions)',
      count: outbox.prepared,
      age: outbox.oldestPreparedAgeSeconds,
    },
    { stage: 'outbox', what: 'FAILED', count: outbox.failed, age: undefined },
    { stage: 'queue', what: 'visible', count: queue.visible, age: undefined },
    { stage: 'queue', what: 'in flight', count: queue.inFlight, age: undefined },
    { stage: 'dead-letter queue', what: 'visible', count: deadLetterQueue.visible, age: undefined },
    { stage: 'dead-letter queue', what: 'in flight', count: deadLetterQueue.inFlight, age: undefined },
    {
      stage: 'inbox',
      what: 'held (behind a gap)',
      count: inbox.heldMessages,
      age: inbox.oldestHeldAgeSeconds,
    },
    { stage: 'inbox', what: 'parked', count: inbox.parkedMessages, age: inbox.oldestParkedAgeSeconds },
    { stage: 'inbox', what: 'parked keys', count: inbox.parkedKeys, age: undefined },
  ];
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
    `parked keys: ${report.parkedKeys.length === 0 ? '(none)' : report.parkedKeys.join(', ')}`,
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

/** `reconcile`'s tables; the repair column's commands are run as `npx reliable-messaging-ops <repair> --stack <name>`. */
export function renderReconcile(report: ReconcileReport, stackName = '<name>'): string {
  const states = NON_TERMINAL_STATES.filter((state) => report.byState[state] > 0)
    .map((state) => `${state} ${report.byState[state]}`)
    .join(', ');
  const summary = renderPairs([
    ['keys checked', report.keysChecked],
    ['messages committed', report.messagesCommitted],
    ['applied', report.applied],
    ['rolled back', report.rolledBack],
    [
      'not terminal',
      report.notTerminal === 0
        ? '0 — every committed message is terminal'
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

export function renderReplay(result: ReplayResult): string {
  return renderPairs([
    ['key', result.groupKey],
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
      ? `${result.messages.length} message(s) in the dead-letter queue (dry run: nothing moved)`
      : `${result.messages.length} message(s) sent back to the queue, each key in sequence order`,
    ...(result.messages.length === 0 ? [] : ['', messagesTable(result.messages)]),
  ].join('\n');
}

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
