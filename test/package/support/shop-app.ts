import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../tools/paths';

/** The README's quick start, as a user has it: examples/shop, verbatim. */
export const SHOP_EXAMPLE = path.join(projectRoot, 'examples', 'shop');
export const SHOP_STACK = 'ShopMessaging';

/** Runs a command as a user would in a terminal (no CDK telemetry); its stdout, or an error with its output. */
export const run = (command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = {}) =>
  execFileSync(command, args, {
    cwd,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CDK_DISABLE_CLI_TELEMETRY: 'true', ...env },
    maxBuffer: 64 * 1024 * 1024,
  });

/** Seconds since `started`, for the step timings the package test prints. */
export const secondsSince = (started: number) => `${((Date.now() - started) / 1000).toFixed(1)} s`;

export const step = (name: string, started: number) =>
  process.stderr.write(`[package] ${name}: ${secondsSince(started)}\n`);

const PACKAGE_NAME = 'reliable-messaging-serverless';

/**
 * The packages of each `npm install` line of the README's quick start (the first bash block that installs the
 * package), comments left out. Fails if there is none, or none installs the package.
 */
export function readmeInstallLines(
  readme = readFileSync(path.join(projectRoot, 'README.md'), 'utf8'),
): string[][] {
  const block = [...readme.matchAll(/^```bash\n([\s\S]*?)^```$/gm)]
    .map((match) => match[1] ?? '')
    .find((text) => text.includes(`npm install ${PACKAGE_NAME}`));
  const lines = (block ?? '')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim())
    .filter((line) => line.startsWith('npm install '))
    .map((line) => line.slice('npm install '.length).split(/\s+/).filter(Boolean));
  if (!lines.some((packages) => packages.includes(PACKAGE_NAME))) {
    throw new Error(`the README's quick start has no \`npm install ${PACKAGE_NAME}\` line`);
  }
  return lines;
}

/**
 * A user's project: the packed tarball installed into a fresh `cdk init app --language typescript` project holding
 * examples/shop, under a new temporary directory. Returns the project's directory.
 */
export function createShopApp(): { readonly work: string; readonly app: string } {
  const work = mkdtempSync(path.join(tmpdir(), 'shop-example-'));
  let started = Date.now();
  run('npm', ['run', 'build'], projectRoot);
  step('build', started);
  started = Date.now();
  const packed = JSON.parse(
    run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], projectRoot),
  ) as { filename: string }[];
  const tarball = path.join(work, packed[0]!.filename);
  step('pack', started);
  started = Date.now();
  // cdk init names the project after its (empty) folder: bin/shopapp.ts, which the example's replaces.
  const app = path.join(work, 'shopapp');
  mkdirSync(app);
  const cdk = path.join(projectRoot, 'node_modules', '.bin', 'cdk'); // this repository's aws-cdk (a devDependency)
  run(cdk, ['init', 'app', '--language', 'typescript', '--generate-only'], app);
  cpSync(SHOP_EXAMPLE, app, { recursive: true });
  // What a user installs next to the template's own dependencies: the README's `npm install` lines, verbatim (the
  // package from the tarball instead of the registry).
  for (const packages of readmeInstallLines()) {
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        ...packages.map((name) => (name === PACKAGE_NAME ? tarball : name)),
      ],
      app,
    );
  }
  step('cdk init + npm install', started);
  return { work, app };
}
