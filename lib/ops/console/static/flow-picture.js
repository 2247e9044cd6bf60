import { age, show, svg } from './dom.js';

// The flow as a picture: producer → outbox → relay → queue → consumer, and beside each stage what waits there —
// open transactions, FAILED messages, the relay's failure queue, the dead-letter queue, held and parked messages.

const WIDTH = 150;
const HEIGHT = 100;
const COLUMNS = [20, 215, 410, 605, 800];
const MAIN_Y = 20;
const SIDE_Y = 175;
const SIDE_Y_2 = 295;

function node(x, y, { id, title, count, details, attention }) {
  return svg(
    'g',
    { class: attention ? 'node attention' : 'node', 'data-node': id },
    svg('rect', { x, y, width: WIDTH, height: HEIGHT, rx: 6 }),
    svg('text', { x: x + 10, y: y + 22, class: 'title' }, title),
    svg('text', { x: x + 10, y: y + 54, class: 'count', 'data-count': id }, count),
    details.map((detail, i) => svg('text', { x: x + 10, y: y + 76 + i * 15, class: 'detail' }, detail)),
  );
}

const arrow = (x1, x2, y) =>
  svg('path', { d: `M${x1} ${y} L${x2} ${y}`, class: 'edge', 'marker-end': 'url(#arrow)' });
const side = (x, y1, y2) => svg('path', { d: `M${x} ${y1} L${x} ${y2}`, class: 'edge side' });

/** Draws the flow of a status snapshot (GET /api/status) into `container`. */
export function drawFlow(container, s) {
  const depth = (q) => (q === null ? '—' : q.visible + q.inFlight);
  const mains = [
    {
      id: 'producer',
      title: 'Producer',
      count: '',
      details: ['business change + message', 'in one transaction'],
    },
    {
      id: 'outbox-pending',
      title: 'Outbox (unsent)',
      count: s.outbox.pending,
      details: [`oldest ${age(s.outbox.oldestPendingAgeSeconds)}`],
      attention: false,
    },
    {
      id: 'relay',
      title: 'Relay',
      count: '',
      details: [s.topic ? 'stream → SNS topic' : 'stream → SQS FIFO', 'sweep re-sends stale'],
    },
    {
      id: 'queue',
      title:
        (s.groups ?? []).length > 1 || s.topic ? `Queue (${s.groups?.[0]?.group ?? 'FIFO'})` : 'Queue (FIFO)',
      count: s.queue.visible,
      details: [`in flight ${s.queue.inFlight}`],
    },
    { id: 'consumer', title: 'Consumer', count: '', details: ['effect once, in order', 'per key'] },
  ];
  const sides = [
    {
      column: 0,
      id: 'open-transactions',
      title: 'Open transactions',
      count: s.outbox.prepared,
      details: [`oldest ${age(s.outbox.oldestPreparedAgeSeconds)}`],
      attention: s.outbox.oldestPreparedAgeSeconds > 60,
    },
    {
      column: 1,
      id: 'outbox-failed',
      title: 'FAILED (gave up)',
      count: s.outbox.failed,
      details: ['repair: retry-failed'],
      attention: s.outbox.failed > 0,
    },
    {
      column: 2,
      id: 'relay-failures',
      title: 'Relay failure queue',
      count: depth(s.relayFailureQueue),
      details: ['records the relay gave up on'],
      attention: s.relayFailureQueue !== null && depth(s.relayFailureQueue) > 0,
    },
    {
      column: 3,
      id: 'dead-letters',
      title: 'Dead-letter queue',
      count: depth(s.deadLetterQueue),
      details: ['repair: redrive'],
      attention: depth(s.deadLetterQueue) > 0,
    },
    {
      column: 4,
      id: 'held',
      title: 'Held (gap)',
      count: s.inbox.heldMessages,
      details: [`oldest ${age(s.inbox.oldestHeldAgeSeconds)}`],
      attention: s.inbox.oldestHeldAgeSeconds > 60,
    },
  ];
  const parked = {
    id: 'parked',
    title: 'Parked',
    count: s.inbox.parkedMessages,
    details: [
      `${s.inbox.parkedKeys} key(s), oldest ${age(s.inbox.oldestParkedAgeSeconds)}`,
      'repair: replay',
    ],
    attention: s.inbox.parkedMessages > 0,
  };
  const picture = svg(
    'svg',
    { viewBox: '0 0 970 415', role: 'img', 'aria-label': 'the message flow with live counts' },
    svg(
      'defs',
      {},
      svg(
        'marker',
        {
          id: 'arrow',
          viewBox: '0 0 10 10',
          refX: 9,
          refY: 5,
          markerWidth: 7,
          markerHeight: 7,
          orient: 'auto',
        },
        svg('path', { d: 'M0 0 L10 5 L0 10 z', fill: '#718096' }),
      ),
    ),
    COLUMNS.slice(1).map((x, i) => arrow(COLUMNS[i] + WIDTH, x - 2, MAIN_Y + HEIGHT / 2)),
    sides.map((box) => side(COLUMNS[box.column] + WIDTH / 2, MAIN_Y + HEIGHT, SIDE_Y)),
    side(COLUMNS[4] + WIDTH / 2, SIDE_Y + HEIGHT, SIDE_Y_2),
    mains.map((box, i) => node(COLUMNS[i], MAIN_Y, box)),
    sides.map((box) => node(COLUMNS[box.column], SIDE_Y, box)),
    node(COLUMNS[4], SIDE_Y_2, parked),
  );
  show(container, picture);
}
