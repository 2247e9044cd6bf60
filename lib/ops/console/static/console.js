import { hasToken, read, setToken, takeToken } from './api.js';
import { el, show } from './dom.js';
import { drawFlow } from './flow-picture.js';
import { drawKeyView } from './key-view.js';
import { drawPlots } from './plots.js';
import { drawRepairs, setStackName } from './repairs.js';

// The page: reads the console's API every few seconds and draws the flow, the alarms, the repair lists, the plots
// and the key asked for.

const byId = (id) => document.getElementById(id);
const REPAIRS_EVERY_MS = 10_000;
const REPORTS_EVERY_MS = 60_000;

let settings = { readOnly: true, refreshSeconds: 3 };
let currentKey = null;

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

async function refreshStatus() {
  try {
    const snapshot = await read('/api/status');
    drawFlow(byId('flow'), snapshot);
    drawAlarms(snapshot.alarms);
    byId('refreshed').textContent = `read at ${new Date(snapshot.readAt).toLocaleTimeString()}`;
    reportError(null);
  } catch (error) {
    reportError(error);
  }
}

async function refreshRepairs() {
  try {
    drawRepairs(byId('repairs'), await read('/api/repairs'), {
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
    drawKeyView(byId('key-view'), await read(`/api/key?key=${encodeURIComponent(currentKey)}`));
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
