import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The library: what the package's two entry points (`lib/index.ts`, `functions/runtime/index.ts`) and the library's
 * own handlers are made of. A path (with or without its extension, as imports name it) is in it when it starts with
 * one of these and with none of `NOT_LIBRARY`.
 */
const LIBRARY = [
  'lib/index',
  'lib/constructs/',
  'functions/runtime/',
  'functions/relay/',
  'functions/sweeper/',
  'functions/check-back/',
  'functions/inbox-monitor/',
];

/** The reference application, the bench-only pieces and the scripts: the library never imports any of them. */
const NOT_LIBRARY = [
  'functions/reference/',
  'lib/stacks/',
  'lib/constructs/orders-http-api',
  'functions/naive-baseline/',
  'lib/constructs/naive-baseline',
  'functions/lean-consumer/',
  'lib/constructs/lean-bench-pipeline',
  'functions/api-ceiling/',
  'lib/constructs/api-ceiling-probe',
  'scripts/',
  'bin/',
  'examples/',
  'test/',
];

const isIn = (path: string, prefixes: readonly string[]) =>
  prefixes.some((prefix) => path.startsWith(prefix));
const isLibrary = (path: string) => isIn(path, LIBRARY) && !isIn(path, NOT_LIBRARY);

function typeScriptFiles(directory: string): string[] {
  return readdirSync(join(ROOT, directory)).flatMap((name) => {
    const path = `${directory}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return typeScriptFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * What a module statement can name: `… from '…'` (imports, `import type`, `export … from`), a side-effect `import '…'`,
 * a dynamic `import('…')` or `require('…')`, and a file by `new URL('…', import.meta.url)` (a handler's entry).
 */
const SPECIFIERS = [
  /\bfrom\s*['"]([^'"]+)['"]/g,
  /\bimport\s*['"]([^'"]+)['"]/g,
  /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  /\bnew\s+URL\s*\(\s*['"]([^'"]+)['"]\s*,\s*import\.meta\.url/g,
];

/** Every relative specifier `source` names, as a path from the root. */
function relativeImports(file: string, source: string): string[] {
  return SPECIFIERS.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''))
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)));
}

/** The imports that cross the line: `file` is library code and imports something that is not. */
function crossings(files: ReadonlyMap<string, string>): string[] {
  return [...files].flatMap(([file, source]) =>
    isLibrary(file)
      ? relativeImports(file, source)
          .filter((target) => !isLibrary(target))
          .map((target) => `${file} imports ${target}`)
      : [],
  );
}

describe('the import boundary of the library', () => {
  it('fails if the library imports the reference application, the bench or the scripts', () => {
    // GIVEN every TypeScript file of the library, the reference application, the bench and the scripts
    const files = new Map(
      ['lib', 'functions', 'scripts']
        .flatMap(typeScriptFiles)
        .map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]),
    );

    // WHEN / THEN
    expect(crossings(files)).toEqual([]);
  });

  it('sees every kind of import across the line, and imports within the library as fine', () => {
    // GIVEN library files with each kind of import into the reference application, and one that stays inside
    const files = new Map([
      [
        'functions/runtime/faults/a.ts',
        "import type { PaymentHooks } from '../../reference/payments/payment-service';",
      ],
      ['lib/constructs/b.ts', "export * from '../stacks/reliable-messaging-demo-stack';"],
      ['functions/relay/handler.ts', "const probe = await import('../naive-baseline/handler');"],
      ['lib/index.ts', "import { x } from '../scripts/ops/reconcile';"],
      [
        'lib/constructs/d.ts',
        "entry: fileURLToPath(new URL('../../functions/lean-consumer/handler.ts', import.meta.url)),",
      ],
      ['functions/inbox-monitor/handler.ts', "import '../../scripts/bench/setup';"],
      ['lib/constructs/c.ts', "import { ApiCeilingProbe } from './api-ceiling-probe';"],
      ['functions/sweeper/handler.ts', "import { Env } from '../runtime/environment';"],
      ['functions/reference/api-handler.ts', "import { OutboxWriter } from '../runtime/index';"],
    ]);

    // WHEN
    const found = crossings(files);

    // THEN
    expect(found).toEqual([
      'functions/runtime/faults/a.ts imports functions/reference/payments/payment-service',
      'lib/constructs/b.ts imports lib/stacks/reliable-messaging-demo-stack',
      'functions/relay/handler.ts imports functions/naive-baseline/handler',
      'lib/index.ts imports scripts/ops/reconcile',
      'lib/constructs/d.ts imports functions/lean-consumer/handler.ts',
      'functions/inbox-monitor/handler.ts imports scripts/bench/setup',
      'lib/constructs/c.ts imports lib/constructs/api-ceiling-probe',
    ]);
  });
});
