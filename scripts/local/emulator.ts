import { spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { localDir } from './paths';
import { PythonVenv } from './python-venv';

/** The emulator the project is tested with: MiniStack, pinned, in a project-local virtualenv. */
export const MINISTACK_VERSION = '1.5.33';
export const DEFAULT_PORT = 4566;

const venv = new PythonVenv(path.join(localDir, 'venv'), { ministack: MINISTACK_VERSION }, 'emulator');
export const pidFile = path.join(localDir, 'ministack.pid');
export const logFile = path.join(localDir, 'ministack.log');

export interface EmulatorHandle {
  /** Base URL of the emulator. */
  readonly endpoint: string;
  /** True when this process started it (and so should stop it). */
  readonly startedHere: boolean;
}

function log(message: string): void {
  process.stderr.write(`[emulator] ${message}\n`);
}

/** Installs the pinned MiniStack into .local/venv unless it is there already. */
export function ensureInstalled(): void {
  venv.ensureInstalled();
}

export async function isHealthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/_ministack/health`, { signal: AbortSignal.timeout(2000) });
    if (response.ok) return true;
    const localstack = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(2000) });
    return localstack.ok;
  } catch {
    return false;
  }
}

function readPid(): number | undefined {
  if (!existsSync(pidFile)) return undefined;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The emulator to use: `AWS_ENDPOINT_URL` when set (LocalStack or another MiniStack, left as it is);
 * else a MiniStack on 127.0.0.1:<port>, installed and started here when none is running, its PID recorded
 * in .local/ministack.pid.
 */
export async function startEmulator(port = DEFAULT_PORT): Promise<EmulatorHandle> {
  const external = process.env.AWS_ENDPOINT_URL;
  if (external) {
    const endpoint = external.replace(/\/+$/, '');
    if (!(await isHealthy(endpoint)))
      throw new Error(`AWS_ENDPOINT_URL=${endpoint} does not answer a health check`);
    log(`using the emulator at AWS_ENDPOINT_URL=${endpoint}`);
    return { endpoint, startedHere: false };
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const pid = readPid();
  if (await isHealthy(endpoint)) {
    log(
      `an emulator is already running at ${endpoint}${pid !== undefined && isAlive(pid) ? ` (PID ${pid})` : ''}`,
    );
    return { endpoint, startedHere: false };
  }
  if (pid !== undefined && isAlive(pid)) await stopEmulator();

  ensureInstalled();
  const out = openSync(logFile, 'a');
  const child = spawn(venv.bin('ministack'), [], {
    detached: true,
    stdio: ['ignore', out, out],
    env: {
      ...process.env,
      GATEWAY_PORT: String(port),
      BIND_HOST: '127.0.0.1',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'WARNING',
    },
  });
  child.unref();
  if (child.pid === undefined) throw new Error('could not start ministack');
  writeFileSync(pidFile, `${child.pid}\n`);
  log(`started MiniStack ${MINISTACK_VERSION} (PID ${child.pid}) on ${endpoint}, log ${logFile}`);
  for (let waited = 0; waited < 60_000; waited += 250) {
    if (await isHealthy(endpoint)) return { endpoint, startedHere: true };
    if (!isAlive(child.pid)) throw new Error(`ministack exited during start-up; see ${logFile}`);
    await sleep(250);
  }
  throw new Error(`ministack did not become healthy within 60 s; see ${logFile}`);
}

/** Stops the MiniStack whose PID is recorded in .local/ministack.pid, if any. Returns whether one was stopped. */
export async function stopEmulator(): Promise<boolean> {
  const pid = readPid();
  rmSync(pidFile, { force: true });
  if (pid === undefined || !isAlive(pid)) return false;
  signalGroup(pid, 'SIGTERM');
  for (let waited = 0; waited < 10_000; waited += 100) {
    if (!isAlive(pid)) {
      log(`stopped MiniStack (PID ${pid})`);
      return true;
    }
    await sleep(100);
  }
  signalGroup(pid, 'SIGKILL');
  log(`killed MiniStack (PID ${pid})`);
  return true;
}

/** MiniStack runs Lambda handlers in worker processes of its own: signal its whole process group. */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    process.kill(pid, signal);
  }
}
