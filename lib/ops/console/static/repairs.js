import { repair } from './api.js';
import { el, show, since, table } from './dom.js';

// The repair lists (GET /api/repairs), each row with its repair. Every repair asks for confirmation first, then
// calls the same code as `npx reliable-messaging-ops <command> --stack <name>` on the server.

const dialog = () => document.getElementById('confirm-dialog');

/** Asks for confirmation in the page's dialog; resolves true only on "Run it". */
let stackName = '<name>';

/** The stack the page shows, for the commands it names. */
export function setStackName(name) {
  stackName = name;
}

export function confirmRepair(text, command) {
  const d = dialog();
  document.getElementById('confirm-text').textContent = text;
  document.getElementById('confirm-command').textContent =
    `npx reliable-messaging-ops ${command} --stack ${quote(stackName)}`;
  return new Promise((resolve) => {
    d.addEventListener('close', () => resolve(d.returnValue === 'confirm'), { once: true });
    d.returnValue = '';
    d.showModal();
  });
}

function describeResult(name, result) {
  switch (name) {
    case 'retry-failed':
      return `${result.retried.length} FAILED message(s) back to PENDING: the next sweep sends them.`;
    case 'replay':
      return `key ${result.groupKey}: ${result.replayed.length} parked message(s) replayed${
        result.resent === undefined ? '' : `, sequence ${result.resent} re-sent`
      }.`;
    case 'redrive':
      return `${result.messages.length} dead-lettered message(s) sent back to the queue.`;
    case 'resolve':
      return `transaction ${result.transactionId}: ${result.outcome === 'commit' ? 'committed' : 'rolled back'}.`;
    default:
      return 'done.';
  }
}

/**
 * A repair button: confirmation, then the repair; the outcome in `#repair-result`, then `afterwards()` (a refresh).
 */
function repairButton(label, { name, body, text, command, data, afterwards, danger = false }) {
  const button = el(
    'button',
    { type: 'button', 'data-repair': name, ...data, class: danger ? 'danger' : undefined },
    label,
  );
  button.addEventListener('click', async () => {
    if (!(await confirmRepair(text, command))) return;
    const status = document.getElementById('repair-result');
    button.disabled = true;
    status.textContent = `${command}: running…`;
    try {
      status.textContent = `${command}: ${describeResult(name, await repair(name, body))}`;
      status.className = 'state-ok';
    } catch (error) {
      status.textContent = `${command}: refused — ${error.message}`;
      status.className = 'state-bad';
    } finally {
      button.disabled = false;
      await afterwards();
    }
  });
  return button;
}

const quote = (word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`);

/** Draws the four lists; `readOnly` leaves the buttons out. */
export function drawRepairs(container, lists, { readOnly, afterwards }) {
  const action = (label, options) => (readOnly ? '' : repairButton(label, { ...options, afterwards }));
  const section = (title, count, ...content) =>
    el('div', { class: 'repair-list' }, el('h3', {}, `${title} (${count})`), ...content);
  const none = (text) => el('p', { class: 'empty' }, text);

  // A stack of several consumer groups: the parked keys and dead letters are one group's, and its repairs name it.
  const several = (lists.groups ?? []).length > 1;
  const inGroup = several ? { group: lists.group } : {};
  const groupArgument = several ? ` --group ${quote(lists.group)}` : '';
  const ofGroup = several ? ` — group ${lists.group}` : '';
  const failed = lists.failedMessages;
  const parked = lists.parkedKeys;
  const dead = lists.deadLetters;
  const transactions = lists.transactions;
  show(
    container,
    section(
      'FAILED outbox messages',
      failed.length,
      failed.length === 0
        ? none('none: the sweep gave up on nothing')
        : [
            table(
              [
                { header: 'key', value: (m) => m.groupKey },
                { header: 'seq', value: (m) => m.sequence, number: true },
                { header: 'attempts', value: (m) => m.attempts, number: true },
                { header: 'last error', value: (m) => m.lastError },
                { header: 'age', value: (m) => since(m.createdAt) },
                {
                  header: '',
                  value: (m) =>
                    action('Retry', {
                      name: 'retry-failed',
                      body: { messageId: m.messageId },
                      text: `Put message ${m.groupKey} #${m.sequence} back to PENDING? The next sweep sends it.`,
                      command: `retry-failed --message ${quote(m.messageId)}`,
                      data: { 'data-key': m.groupKey, 'data-message': m.messageId },
                    }),
                },
              ],
              failed,
            ),
            action('Retry all', {
              name: 'retry-failed',
              body: {},
              text: `Put all ${failed.length} FAILED messages back to PENDING?`,
              command: 'retry-failed',
              data: { 'data-all': 'true' },
            }),
          ],
    ),
    section(
      `Parked keys${ofGroup}`,
      parked.length,
      parked.length === 0
        ? none('none: no key is parked')
        : table(
            [
              { header: 'key', value: (k) => k.groupKey },
              { header: 'parked sequences', value: (k) => k.messages.map((m) => m.sequence).join(', ') },
              { header: 'why', value: (k) => k.messages[0]?.reason ?? '' },
              { header: 'since', value: (k) => (k.messages[0] ? since(k.messages[0].parkedAt) : '') },
              {
                header: '',
                value: (k) =>
                  action('Replay', {
                    name: 'replay',
                    body: { groupKey: k.groupKey, ...inGroup },
                    text: `Replay key ${k.groupKey}${ofGroup}? Its ${k.messages.length} parked message(s) are applied again, in order. Fix the cause first.`,
                    command: `replay --key ${quote(k.groupKey)}${groupArgument}`,
                    data: { 'data-key': k.groupKey },
                  }),
              },
            ],
            parked,
            { id: 'parked-keys' },
          ),
    ),
    section(
      `Dead-lettered messages${ofGroup}`,
      dead.length,
      dead.length === 0
        ? none('none: the dead-letter queue is empty')
        : [
            table(
              [
                { header: 'key', value: (m) => m.groupKey },
                { header: 'seq', value: (m) => m.sequence, number: true },
                { header: 'message id', value: (m) => m.messageId },
              ],
              dead,
            ),
            action('Redrive all', {
              name: 'redrive',
              body: { ...inGroup },
              text: `Send the dead-letter queue's ${dead.length} message(s) back to the queue${ofGroup}, each key in sequence order?`,
              command: `redrive${groupArgument}`,
              data: {},
            }),
          ],
    ),
    section(
      'Open and failed transactions',
      transactions.length,
      transactions.length === 0
        ? none('none: no half message is open')
        : table(
            [
              { header: 'transaction', value: (t) => t.transactionId },
              { header: 'key', value: (t) => t.groupKey },
              { header: 'type', value: (t) => t.type },
              { header: 'status', value: (t) => t.status },
              { header: 'checks', value: (t) => t.checkCount, number: true },
              { header: 'age', value: (t) => since(t.createdAt) },
              {
                header: '',
                value: (t) => [
                  action('Commit', {
                    name: 'resolve',
                    body: { transactionId: t.transactionId, outcome: 'commit' },
                    text: `Commit transaction ${t.transactionId}? Its ${t.type} message for ${t.groupKey} is sent.`,
                    command: `resolve --transaction ${quote(t.transactionId)} --commit`,
                    data: { 'data-transaction': t.transactionId, 'data-outcome': 'commit' },
                  }),
                  ' ',
                  action('Roll back', {
                    name: 'resolve',
                    body: { transactionId: t.transactionId, outcome: 'rollback' },
                    text: `Roll back transaction ${t.transactionId}? Its message is discarded.`,
                    command: `resolve --transaction ${quote(t.transactionId)} --rollback`,
                    data: { 'data-transaction': t.transactionId, 'data-outcome': 'rollback' },
                    danger: true,
                  }),
                ],
              },
            ],
            transactions,
          ),
    ),
  );
}
