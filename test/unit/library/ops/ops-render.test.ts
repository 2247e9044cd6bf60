import { describe, expect, it } from 'vitest';
import type { StatusReport } from '../../../../lib/ops/commands';
import { renderRedrive, renderStatus } from '../../../../lib/ops/render';
import { renderLoad } from '../../../../scripts/ops/load';

const GROUP = {
  queue: { visible: 5, inFlight: 1 },
  deadLetterQueue: { visible: 0, inFlight: 0 },
  inbox: {
    heldMessages: 0,
    oldestHeldAgeSeconds: 0,
    parkedMessages: 3,
    parkedKeys: 1,
    oldestParkedAgeSeconds: 90,
  },
  parkedKeys: ['order-7'],
};
const STATUS: StatusReport = {
  outbox: { pending: 2, prepared: 0, failed: 1, oldestPendingAgeSeconds: 42, oldestPreparedAgeSeconds: 0 },
  topic: null,
  ...GROUP,
  groups: [{ group: 'default', ...GROUP }],
  alarms: { FailedMessages: 'ALARM', DeadLetterMessages: 'OK', ParkedKeys: 'ALARM' },
};

describe('readable output of the ops commands', () => {
  it('renders status as a table of stages, the parked keys, and the alarms firing first', () => {
    // WHEN a status report is rendered
    const lines = renderStatus(STATUS).split('\n');

    // THEN each stage's count (and its oldest age, when it has messages), then the alarms, ALARM first
    expect(lines[0]).toMatch(/^STAGE\s+MESSAGES\s+COUNT\s+OLDEST \(s\)$/);
    expect(lines).toContainEqual(expect.stringMatching(/^outbox\s+PENDING \(unsent\)\s+2\s+42$/));
    expect(lines).toContainEqual(expect.stringMatching(/^outbox\s+PREPARED \(open transactions\)\s+0\s+-$/));
    expect(lines).toContainEqual(expect.stringMatching(/^inbox\s+parked\s+3\s+90$/));
    expect(lines).toContain('parked keys: order-7');
    const alarms = lines.slice(lines.findIndex((line) => line.startsWith('ALARM')) + 2);
    expect(alarms).toEqual([
      expect.stringMatching(/^FailedMessages\s+ALARM$/),
      expect.stringMatching(/^ParkedKeys\s+ALARM$/),
      expect.stringMatching(/^DeadLetterMessages\s+OK$/),
    ]);
  });

  it('renders what load sent and its throughput', () => {
    const text = renderLoad({
      runPrefix: 'load-ab12cd34-',
      keys: 3,
      messages: 11,
      orders: 3,
      notes: 8,
      concurrency: 3,
      seconds: 2.2,
      perSecond: 5,
      applied: { seconds: 6.1, perSecond: 1.8 },
    });
    expect(text).toMatch(/keys \(orders\)\s+3, ids load-ab12cd34-0…load-ab12cd34-2/);
    expect(text).toMatch(/messages sent\s+11 \(3 OrderPlaced, 8 OrderNoteAdded\)/);
    expect(text).toMatch(/committed in\s+2.2 s — 5 messages\/s/);
    expect(text).toMatch(/applied in\s+6.1 s from the first request — 1.8 messages\/s/);
  });

  it('renders a redrive dry run as the list it would move', () => {
    const text = renderRedrive({
      dryRun: true,
      group: 'default',
      messages: [{ groupKey: 'o-1', sequence: 2, messageId: 'm-2' }],
    });
    expect(text.split('\n')).toEqual([
      '1 message(s) in the dead-letter queue (dry run: nothing moved)',
      '',
      'KEY  SEQUENCE  MESSAGE',
      '---  --------  -------',
      'o-1         2  m-2',
    ]);
  });
});
