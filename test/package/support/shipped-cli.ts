import { type ChildProcess, spawn, spawnSync } from 'node:child_process';

/** What one run of the shipped `reliable-messaging-ops` answered. */
export interface CliRun {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `npx reliable-messaging-ops <args>` in the user's project, as its user would. */
export function opsCli(app: string, args: readonly string[], env: Readonly<Record<string, string>>): CliRun {
  const result = spawnSync('npx', ['reliable-messaging-ops', ...args], {
    cwd: app,
    env,
    encoding: 'utf8',
    timeout: 300_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { exitCode: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** A console the shipped CLI serves: the URL it printed, and how to stop it. */
export interface ServedConsole {
  readonly url: string;
  readonly output: () => string;
  stop(): Promise<void>;
}

function stopGroup(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) {
      resolve();
      return;
    }
    child.once('exit', () => resolve());
    try {
      process.kill(-child.pid, 'SIGTERM'); // npx and the CLI it runs: the group this test started
    } catch {
      resolve();
    }
  });
}

/**
 * Starts `npx reliable-messaging-ops console <args>` in the user's project and resolves once it printed the URL it
 * serves on (http://127.0.0.1:<port>/…); fails with its output if it exits first or prints none within `timeoutMs`.
 */
export function serveConsole(
  app: string,
  args: readonly string[],
  env: Readonly<Record<string, string>>,
  timeoutMs = 120_000,
): Promise<ServedConsole> {
  const child = spawn('npx', ['reliable-messaging-ops', 'console', ...args], {
    cwd: app,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stopGroup(child).then(() =>
        reject(new Error(`the console printed no URL within ${timeoutMs} ms:\n${output}`)),
      );
    }, timeoutMs);
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const url = /https?:\/\/127\.0\.0\.1:\d+\/\S*/.exec(output)?.[0];
      if (url !== undefined) {
        clearTimeout(timer);
        resolve({ url: url.replace(/#.*$/, ''), output: () => output, stop: () => stopGroup(child) });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the console exited (${code}) before it printed its URL:\n${output}`));
    });
  });
}
