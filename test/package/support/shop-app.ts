import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../scripts/local/paths';

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
  // What a user installs next to the template's own dependencies: the package, and what any NodejsFunction and
  // DynamoDB Lambda function needs.
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      'esbuild',
      '@types/aws-lambda',
      '@aws-sdk/client-dynamodb',
      '@aws-sdk/lib-dynamodb',
    ],
    app,
  );
  step('cdk init + npm install', started);
  return { work, app };
}
