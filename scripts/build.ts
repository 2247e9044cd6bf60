import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { type BuildOptions, build } from 'esbuild';
import { HANDLER_BUNDLING } from '../lib/constructs/handler-bundling';
import { LIBRARY_HANDLERS } from '../lib/constructs/library-handlers';
import { projectRoot } from '../tools/paths';
import { addJsExtensions } from './build/declaration-specifiers';

/**
 * `npm run build`: the package's `dist/`.
 * - `esm/` and `cjs/`: the constructs (`index.js`), the runtime (`runtime.js`) and their test-stack kits
 *   (`testing.js`, `runtime-testing.js`), as ES modules and as CommonJS
 *   (dependencies stay imports: aws-cdk-lib and constructs are the app's own, the SDK clients are dependencies);
 * - `types/` (ES module declarations) and `types-cjs/` (the same, as CommonJS declarations), by `tsc`;
 * - `handlers/<name>/index.js`: the library's own Lambda handlers, bundled as `BundledFunction` bundles them, so an
 *   app's synth needs neither their sources nor esbuild;
 * - `bin/reliable-messaging-ops.js`: the ops CLI (lib/ops/bin.ts), one file; the packages it imports (the SDK
 *   clients, zod, uuid) stay imports of the package's dependencies, so an install has one copy of the SDK; and
 *   `bin/static/`: the console's page, found next to the bundle.
 */
const dist = path.join(projectRoot, 'dist');
const commonJsPackage = `${JSON.stringify({ type: 'commonjs' })}\n`;

async function buildEntries(): Promise<void> {
  const entryPoints = {
    index: 'lib/index.ts',
    testing: 'lib/testing.ts',
    runtime: 'functions/runtime/index.ts',
    'runtime-testing': 'functions/runtime/testing.ts',
  };
  const common: BuildOptions = {
    absWorkingDir: projectRoot,
    entryPoints,
    bundle: true,
    platform: 'node',
    target: 'node20',
    packages: 'external',
    keepNames: true,
    logLevel: 'warning',
  };
  await build({ ...common, format: 'esm', outdir: path.join(dist, 'esm') });
  // CommonJS has no import.meta: the one place that reads it (where the package is) gets the module's own URL.
  await build({
    ...common,
    format: 'cjs',
    outdir: path.join(dist, 'cjs'),
    define: { 'import.meta.url': 'importMetaUrl' },
    banner: { js: "const importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
  });
  writeFileSync(path.join(dist, 'cjs', 'package.json'), commonJsPackage);
}

async function buildHandlers(): Promise<void> {
  for (const name of LIBRARY_HANDLERS) {
    await build({
      absWorkingDir: projectRoot,
      entryPoints: [`functions/${name}/handler.ts`],
      outfile: path.join(dist, 'handlers', name, 'index.js'),
      bundle: true,
      platform: 'node',
      format: 'cjs',
      ...HANDLER_BUNDLING,
      mainFields: [...HANDLER_BUNDLING.mainFields],
      define: { FAULT_INJECTION_ENABLED: 'false' },
      logLevel: 'warning',
    });
  }
}

/** What the ops CLI's bundle must never contain or import: the CDK (an app's own, and 60 MB of it). */
export const FORBIDDEN_IN_OPS_CLI = ['aws-cdk-lib', 'constructs'];

const packageName = (specifier: string) =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0]!;

async function buildOpsCli(): Promise<void> {
  const result = await build({
    absWorkingDir: projectRoot,
    entryPoints: ['lib/ops/bin.ts'],
    outfile: path.join(dist, 'bin', 'reliable-messaging-ops.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    packages: 'external',
    minify: true,
    keepNames: true,
    metafile: true,
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  });
  // The bundle's inputs and imports: no CDK, and every package it imports is one the package depends on.
  const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  const dependencies = new Set(Object.keys(manifest.dependencies ?? {}));
  const inputs = Object.keys(result.metafile.inputs);
  const imported = Object.values(result.metafile.outputs).flatMap((output) =>
    output.imports
      .filter((entry) => entry.external && !entry.path.startsWith('node:'))
      .map((entry) => entry.path),
  );
  const problems = [
    ...inputs
      .filter((input) => FORBIDDEN_IN_OPS_CLI.some((name) => input.includes(`node_modules/${name}/`)))
      .map((input) => `bundles ${input}`),
    ...imported
      .filter((specifier) => FORBIDDEN_IN_OPS_CLI.includes(packageName(specifier)))
      .map((specifier) => `imports ${specifier}`),
    ...imported
      .filter((specifier) => !dependencies.has(packageName(specifier)))
      .map((specifier) => `imports ${specifier}, which is not a dependency in package.json`),
  ];
  if (problems.length > 0) {
    throw new Error(
      `the ops CLI bundle (lib/ops/bin.ts) must neither contain the CDK nor import a package the package does not depend on:\n  ${[...new Set(problems)].join('\n  ')}`,
    );
  }
  cpSync(path.join(projectRoot, 'lib', 'ops', 'console', 'static'), path.join(dist, 'bin', 'static'), {
    recursive: true,
  });
}

function buildDeclarations(): void {
  execFileSync(
    process.execPath,
    [
      path.join(
        path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
        'bin',
        'tsc',
      ),
      '-p',
      'tsconfig.build.json',
    ],
    {
      cwd: projectRoot,
      stdio: 'inherit',
    },
  );
}

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await buildEntries();
await buildHandlers();
await buildOpsCli();
buildDeclarations();
const types = path.join(dist, 'types');
addJsExtensions(types);
cpSync(types, path.join(dist, 'types-cjs'), { recursive: true });
writeFileSync(path.join(dist, 'types-cjs', 'package.json'), commonJsPackage);
console.log(`built ${path.relative(projectRoot, dist)}/`);
