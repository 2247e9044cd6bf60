import { hasToken, read, setToken, takeToken } from './api.js';
import { age, el, show, table } from './dom.js';
import { drawFlow } from './flow-picture.js';
import { drawKeyView } from './key-view.js';
import { drawPlots } from './plots.js';
import { drawRepairs, setStackName } from './repairs.js';

// The page: reads the console's API every few seconds and draws the flow, the alarms, the repair lists, the plots
// and the key asked for.

const byId = (id) => document.getElementById(id);
const REPAIRS_EVERY_MS = 10_000;
const REPORTS_EVERY_MS = 60_000;

let settings = { readOnly: true, refreshSeconds: 3, groups: [] };
let currentKey = null;
/** The consumer group chosen ('' = every group): `?group=` on every read. */
let currentGroup = '';

const withGroup = (path) =>
  currentGroup === ''
    ? path
    : `${path}${path.includes('?') ? '&' : '?'}group=${encodeURIComponent(currentGroup)}`;

function reportError(error) {
  const box = byId('error');
  if (error === null) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  box.textContent = error.message;
}

function drawAlarms(alarms) {
  const names = Object.keys(alarms).sort((a, b) =>
    alarms[a] === alarms[b]
      ? a.localeCompare(b)
      : alarms[a] === 'ALARM'
        ? -1
        : alarms[b] === 'ALARM'
          ? 1
          : a.localeCompare(b),
  );
  show(
    byId('alarms'),
    names.length === 0
      ? el('li', {}, 'no alarms found')
      : names.map((name) =>
          el('li', { class: alarms[name], 'data-alarm': name }, `${name}: ${alarms[name]}`),
        ),
  );
}

/** One panel per consumer group: its queue, dead-letter queue, held and parked (a stack of several groups). */
function drawGroupPanels(groups) {
  show(
    byId('group-panels'),
    groups.length < 2
      ? ''
      : [
          el('h3', {}, 'Consumer groups'),
          table(
            [
              { header: 'group', value: (g) => g.group },
              { header: 'queue', value: (g) => g.queue.visible, number: true },
              { header: 'in flight', value: (g) => g.queue.inFlight, number: true },
              {
                header: 'dead-letter',
                value: (g) => g.deadLetterQueue.visible + g.deadLetterQueue.inFlight,
                number: true,
              },
              { header: 'held', value: (g) => g.inbox.heldMessages, number: true },
              {
                header: 'oldest held',
                value: (g) => (g.inbox.heldMessages === 0 ? '' : age(g.inbox.oldestHeldAgeSeconds)),
              },
              { header: 'parked', value: (g) => g.inbox.parkedMessages, number: true },
              { header: 'parked keys', value: (g) => g.parkedKeys.join(', ') },
            ],
            groups,
            { id: 'group-table' },
          ),
        ],
  );
}

async function refreshStatus() {
  try {
    const snapshot = await read(withGroup('/api/status'));
    drawFlow(byId('flow'), snapshot);
    drawGroupPanels(snapshot.groups ?? []);
    drawAlarms(snapshot.alarms);
    byId('refreshed').textContent = `read at ${new Date(snapshot.readAt).toLocaleTimeString()}`;
    reportError(null);
  } catch (error) {
    reportError(error);
  }
}

async function refreshRepairs() {
  try {
    drawRepairs(byId('repairs'), await read(withGroup('/api/repairs')), {
      readOnly: settings.readOnly,
      afterwards: refreshAll,
    });
  } catch (error) {
    reportError(error);
  }
}

async function refreshKey() {
  if (currentKey === null) return;
  try {
    drawKeyView(byId('key-view'), await read(withGroup(`/api/key?key=${encodeURIComponent(currentKey)}`)));
  } catch (error) {
    show(byId('key-view'), el('p', { class: 'state-bad' }, error.message));
  }
}

async function refreshReports() {
  try {
    drawPlots(byId('plots'), await read('/api/reports'));
  } catch (error) {
    reportError(error);
  }
}

async function refreshAll() {
  await Promise.all([refreshStatus(), refreshRepairs(), refreshKey()]);
}

/** The group selector, for a stack of several consumer groups: every group, or one. */
function showGroupSelector() {
  const groups = settings.groups ?? [];
  const form = byId('group-form');
  form.hidden = groups.length < 2;
  const select = byId('group-select');
  select.append(...groups.map((group) => el('option', { value: group }, group)));
  select.addEventListener('change', () => {
    currentGroup = select.value;
    void refreshAll();
  });
  form.addEventListener('submit', (event) => event.preventDefault());
}

function showTokenForm() {
  const form = byId('token-form');
  form.hidden = settings.readOnly || hasToken();
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const token = byId('token-input').value.trim();
    if (token !== '') {
      setToken(token);
      form.hidden = true;
    }
  });
}

async function start() {
  takeToken();
  try {
    settings = await read('/api/console');
  } catch (error) {
    reportError(error);
    return;
  }
  byId('stack-name').textContent = settings.stackName;
  setStackName(settings.stackName);
  // The run reports (bench and chaos plots) exist only where the console serves them (a development checkout).
  const hasReports = (settings.extraReads ?? []).includes('/api/reports');
  byId('plots-section').hidden = !hasReports;
  byId('source').textContent = `outputs: ${settings.source}`;
  byId('mode').textContent = settings.readOnly ? ' · read-only: repairs are off' : '';
  document.body.dataset.readOnly = String(settings.readOnly);
  showTokenForm();
  showGroupSelector();
  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    currentKey = byId('key-input').value.trim();
    void refreshKey();
  });
  await Promise.all([refreshStatus(), refreshRepairs(), ...(hasReports ? [refreshReports()] : [])]);
  document.body.dataset.ready = 'true';
  setInterval(refreshStatus, settings.refreshSeconds * 1000);
  setInterval(refreshRepairs, REPAIRS_EVERY_MS);
  setInterval(refreshKey, REPAIRS_EVERY_MS);
  if (hasReports) setInterval(refreshReports, REPORTS_EVERY_MS);
}

void start();
