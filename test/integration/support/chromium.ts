import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

/** Where Debian's `chromium` package puts the browser. */
export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Chromium could not be found or installed: the message says what was tried and what to do. */
export class ChromiumUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChromiumUnavailableError';
  }
}

function aptGet(args: readonly string[]): { ok: boolean; output: string } {
  const run = spawnSync('apt-get', [...args], {
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    timeout: 600_000,
  });
  return {
    ok: run.status === 0,
    output: `${run.error?.message ?? ''}${run.stdout ?? ''}${run.stderr ?? ''}`
      .trim()
      .split('\n')
      .slice(-5)
      .join('\n'),
  };
}

/**
 * The path of a Chromium to drive: `CHROMIUM_PATH` if set, else the system's (/usr/bin/chromium), installed with
 * `apt-get install -y chromium` when missing (after `apt-get update` if the first attempt fails: a brand-new
 * machine has no package lists). The browser test's library (playwright-core) never downloads a browser itself.
 */
export function ensureChromium(): string {
  const configured = process.env.CHROMIUM_PATH;
  if (configured !== undefined && configured !== '') {
    if (!existsSync(configured)) {
      throw new ChromiumUnavailableError(`CHROMIUM_PATH=${configured} does not exist`);
    }
    return configured;
  }
  if (existsSync(SYSTEM_CHROMIUM)) return SYSTEM_CHROMIUM;
  process.stderr.write(`[integration] no Chromium at ${SYSTEM_CHROMIUM}: apt-get install -y chromium …\n`);
  let install = aptGet(['install', '-y', 'chromium']);
  if (!install.ok) {
    const update = aptGet(['update']);
    if (update.ok) install = aptGet(['install', '-y', 'chromium']);
  }
  if (!install.ok || !existsSync(SYSTEM_CHROMIUM)) {
    throw new ChromiumUnavailableError(
      `the browser test needs Chromium and could not install it (apt-get install -y chromium, as ` +
        `${process.getuid?.() === 0 ? 'root' : 'a user who is not root: run it as root or with sudo'}):\n` +
        `${install.output}\nInstall it yourself (Debian/Ubuntu: apt-get install -y chromium), or point ` +
        'CHROMIUM_PATH at a Chromium or Chrome binary.',
    );
  }
  return SYSTEM_CHROMIUM;
}
