import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { emulatorEnvironment } from './emulator-environment';
import { PythonVenv } from './python-venv';

/** The emulator the library is tested with: MiniStack, pinned, installed with pip into a project-local virtualenv. */
export const MINISTACK_VERSION = '1.5.33';
/** The port MiniStack (and LocalStack) listen on by default. */
export const DEFAULT_EMULATOR_PORT = 4566;

export interface LocalEmulatorOptions {
  /**
   * The port on 127.0.0.1 of the MiniStack started here.
   * @default 4566
   */
  readonly port?: number;
  /**
   * Where the virtualenv (`venv/`), the PID file (`ministack-<port>.pid`) and the log (`ministack-<port>.log`) live.
   * @default `.local` in the current directory
   */
  readonly directory?: string;
  /**
   * An emulator that is already running (LocalStack, or a MiniStack started elsewhere): used as it is, never
   * stopped here.
   * @default the environment's `AWS_ENDPOINT_URL`, if set
   */
  readonly endpoint?: string;
}

/** The emulator an integration test uses. */
export interface LocalEmulator {
  /** Its base URL, e.g. `http://127.0.0.1:4566`. */
  readonly endpoint: string;
  /** True when this call started it (so {@link LocalEmulator.stop} stops it). */
  readonly startedHere: boolean;
  /** Environment for the AWS SDK and the CDK CLI against it: the endpoint, test credentials and a region. */
  readonly environment: Readonly<Record<string, string>>;
  /** Stops it by its PID if this call started it; resolves to whether it stopped one. */
  stop(): Promise<boolean>;
}

/** The emulator did not start, or the one named by `AWS_ENDPOINT_URL` does not answer. */
export class EmulatorStartError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EmulatorStartError';
  }
}

/** The files of the MiniStack on `port` under `directory`: one PID file and one log per port. */
export function emulatorFiles(directory: string, port: number) {
  return {
    venv: path.join(directory, 'venv'),
    pidFile: path.join(directory, `ministack-${port}.pid`),
    logFile: path.join(directory, `ministack-${port}.log`),
  };
}

const defaultDirectory = () => path.join(process.cwd(), '.local');

function validPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new RangeError(`port must be an integer from 1 to 65535; got ${port}`);
  }
  return port;
}

function log(message: string): void {
  process.stderr.write(`[emulator] ${message}\n`);
}

/** Installs the pinned MiniStack into `<directory>/venv` unless it is there already. */
export function installMiniStack(directory: string = defaultDirectory()): void {
  new PythonVenv(
    emulatorFiles(directory, DEFAULT_EMULATOR_PORT).venv,
    { ministack: MINISTACK_VERSION },
    'emulator',
  ).ensureInstalled();
}

/** Whether an emulator (MiniStack or LocalStack) answers its health check at `endpoint`. */
export async function isEmulatorHealthy(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(`${endpoint}/_ministack/health`, { signal: AbortSignal.timeout(2000) });
    if (response.ok) return true;
    const localstack = await fetch(`${endpoint}/_localstack/health`, { signal: AbortSignal.timeout(2000) });
    return localstack.ok;
  } catch {
    return false;
  }
}

function readPid(pidFile: string): number | undefined {
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
const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * The emulator to test against: `endpoint` (default `AWS_ENDPOINT_URL`) when given, used as it is; else a MiniStack
 * on 127.0.0.1:`port` — the one already answering there, or one installed (pinned, `<directory>/venv`) and started
 * here, its PID recorded in `<directory>/ministack-<port>.pid`.
 */
export async function startLocalEmulator(options: LocalEmulatorOptions = {}): Promise<LocalEmulator> {
  const port = validPort(options.port ?? DEFAULT_EMULATOR_PORT);
  const directory = options.directory ?? defaultDirectory();
  const given = options.endpoint ?? process.env.AWS_ENDPOINT_URL;
  const notStarted = (endpoint: string): LocalEmulator => ({
    endpoint,
    startedHere: false,
    environment: emulatorEnvironment(endpoint),
    stop: async () => false,
  });
  if (given !== undefined && given !== '') {
    const endpoint = trimSlash(given);
    if (!(await isEmulatorHealthy(endpoint))) {
      throw new EmulatorStartError(
        `the emulator at ${endpoint} (AWS_ENDPOINT_URL) does not answer a health check`,
      );
    }
    log(`using the emulator at ${endpoint}`);
    return notStarted(endpoint);
  }
  const endpoint = `http://127.0.0.1:${port}`;
  const files = emulatorFiles(directory, port);
  if (await isEmulatorHealthy(endpoint)) {
    log(`an emulator is already running at ${endpoint}`);
    return notStarted(endpoint);
  }
  await stopLocalEmulator({ port, directory }); // a PID left by one that no longer answers

  mkdirSync(directory, { recursive: true });
  installMiniStack(directory);
  const out = openSync(files.logFile, 'a');
  const child = spawn(path.join(files.venv, 'bin', 'ministack'), [], {
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
  const pid = child.pid;
  if (pid === undefined) throw new EmulatorStartError(`could not start ministack; see ${files.logFile}`);
  writeFileSync(files.pidFile, `${pid}\n`);
  log(`started MiniStack ${MINISTACK_VERSION} (PID ${pid}) on ${endpoint}, log ${files.logFile}`);
  const started: LocalEmulator = {
    endpoint,
    startedHere: true,
    environment: emulatorEnvironment(endpoint),
    stop: () => stopLocalEmulator({ port, directory }),
  };
  for (let waited = 0; waited < 60_000; waited += 250) {
    if (await isEmulatorHealthy(endpoint)) return started;
    if (!isAlive(pid)) throw new EmulatorStartError(`ministack exited during start-up; see ${files.logFile}`);
    await sleep(250);
  }
  await started.stop();
  throw new EmulatorStartError(`ministack did not become healthy within 60 s; see ${files.logFile}`);
}

/**
 * Stops the MiniStack whose PID is recorded for `port` under `directory` (and its Lambda workers: its process group).
 * Resolves to whether one was running.
 */
export async function stopLocalEmulator(
  options: Pick<LocalEmulatorOptions, 'port' | 'directory'> = {},
): Promise<boolean> {
  const port = validPort(options.port ?? DEFAULT_EMULATOR_PORT);
  const { pidFile } = emulatorFiles(options.directory ?? defaultDirectory(), port);
  const pid = readPid(pidFile);
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
