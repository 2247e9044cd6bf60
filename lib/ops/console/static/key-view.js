import { el, show, since, table } from './dom.js';

// One key end to end (GET /api/key?key=K): what the producer committed, what the outbox still holds (attempts, last
// error), the dead-letter queue, what the consumer applied, held and parked (and why) — and `ops reconcile --key`'s
// rows: each message that is not terminal, where it is, and the command that repairs it. A stack of several consumer
// groups: each group's cursor, held and parked; the message each group applied last, and every message known of the
// key still on its way, each with its trace context (traceparent).

const fact = (label, value, id) =>
  el('div', {}, el('dt', {}, label), el('dd', id ? { 'data-fact': id } : {}, value));

/** Draws a key's view into `container`. */
export function drawKeyView(container, v) {
  const r = v.reconcile;
  const groups = v.groups ?? [];
  const several = groups.length > 1;
  show(
    container,
    el(
      'dl',
      { class: 'facts' },
      several ? fact('group shown', v.group, 'group') : '',
      fact('committed (producer)', v.committed ?? 'no such key', 'committed'),
      fact('applied (cursor)', v.applied, 'applied'),
      v.applied === 0 ? '' : fact('last applied message', v.lastMessageId ?? '—', 'last-message'),
      v.applied === 0 ? '' : fact('its traceparent', v.lastTraceparent ?? '—', 'last-traceparent'),
      fact('parked', v.parked ? 'yes' : 'no', 'parked'),
      fact('held', v.held.length === 0 ? 'none' : v.held.join(', '), 'held'),
      fact('queue depth (all keys)', v.queueDepth),
      fact(
        'verdict',
        el(
          'span',
          { class: r.allTerminal ? 'state-ok' : 'state-bad', 'data-fact': 'verdict' },
          r.allTerminal ? 'all terminal' : `${r.notTerminal} not terminal`,
        ),
      ),
    ),
    r.messages.length === 0
      ? el('p', { class: 'empty' }, 'Every committed message of this key is applied (or rolled back).')
      : table(
          [
            ...(several ? [{ header: 'group', value: (m) => m.group ?? '(all)' }] : []),
            {
              header: 'sequences',
              value: (m) => (m.fromSequence === null ? '—' : `${m.fromSequence}–${m.toSequence}`),
            },
            { header: 'count', value: (m) => m.count, number: true },
            { header: 'state', value: (m) => m.state },
            { header: 'where', value: (m) => m.where },
            { header: 'repair (npx reliable-messaging-ops … --stack <name>)', value: (m) => m.repair },
          ],
          r.messages,
          { id: 'key-reconcile' },
        ),
    several
      ? [
          el('h3', {}, 'In each consumer group'),
          table(
            [
              { header: 'group', value: (g) => g.group },
              { header: 'applied (cursor)', value: (g) => g.applied, number: true },
              { header: 'last message', value: (g) => (g.applied === 0 ? '' : (g.lastMessageId ?? '—')) },
              {
                header: 'its traceparent',
                value: (g) => (g.applied === 0 ? '' : (g.lastTraceparent ?? '—')),
              },
              { header: 'parked', value: (g) => (g.parked ? 'yes' : 'no') },
              { header: 'held', value: (g) => (g.held.length === 0 ? 'none' : g.held.join(', ')) },
              { header: 'dead-lettered', value: (g) => g.deadLettered.map((d) => d.sequence).join(', ') },
            ],
            groups,
            { id: 'key-groups' },
          ),
        ]
      : '',
    (v.messages ?? []).length === 0
      ? ''
      : [
          el('h3', {}, 'Its messages, with their trace context'),
          table(
            [
              { header: 'seq', value: (m) => m.sequence ?? '—', number: true },
              {
                header: 'where',
                value: (m) => (m.group === undefined ? m.where : `${m.where} (${m.group})`),
              },
              { header: 'message id', value: (m) => m.messageId },
              { header: 'traceparent', value: (m) => m.traceparent ?? '—' },
            ],
            v.messages,
            { id: 'key-messages' },
          ),
        ],
    v.outbox.length === 0
      ? ''
      : [
          el('h3', {}, 'In the outbox'),
          table(
            [
              { header: 'seq', value: (o) => o.sequence, number: true },
              { header: 'status', value: (o) => o.status },
              { header: 'attempts', value: (o) => o.attempts ?? '', number: true },
              { header: 'last error', value: (o) => o.lastError ?? '' },
              { header: 'transaction', value: (o) => o.transactionId ?? '' },
            ],
            v.outbox,
          ),
        ],
    v.parkedMessages.length === 0
      ? ''
      : [
          el('h3', {}, 'Parked, and why'),
          table(
            [
              { header: 'seq', value: (p) => p.sequence, number: true },
              { header: 'reason', value: (p) => p.reason },
              { header: 'since', value: (p) => since(p.parkedAt) },
            ],
            v.parkedMessages,
          ),
        ],
    v.deadLettered.length === 0
      ? ''
      : [
          el('h3', {}, 'In the dead-letter queue'),
          table([{ header: 'seq', value: (d) => d.sequence, number: true }], v.deadLettered),
        ],
  );
}
