import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../../tools/paths';
import { specifiers } from './support/module-specifiers';

const ROOT = projectRoot;
const PACKAGE = 'reliable-messaging-serverless';

/**
 * The three parts of the repository, by folder:
 * - the library — what the package ships: the constructs (`lib/`) and the Lambda runtime with the library's own
 *   handlers (`functions/`);
 * - its users — the reference application (`reference/`, with its CDK app in `bin/`) and the bench (`bench/`);
 * - the tooling — `tools/` (what every tool shares: the client of a deployed stack, the in-memory DynamoDB, paths),
 *   `scripts/` (the emulator's lifecycle in `scripts/local/`, chaos run, ops CLI, build, the `npm run` entries),
 *   `examples/`, `test/`.
 */
const LIBRARY = ['lib/', 'functions/'];
const USERS = ['reference/', 'bench/', 'bin/'];

/**
 * The directions between the users and the tools, one way only:
 *
 *     bin/ ──▶ reference/, bench/constructs/        scripts/ ──▶ bench/ ──▶ tools/
 *                                                   scripts/ ──────────────▶ tools/
 *     test/ ──▶ anything
 *
 * - the reference application does not know the bench: the CDK app (`bin/`) adds the bench's fixtures to its stack;
 * - the bench imports no script: `npm run bench` is scripts/bench.ts, which drives bench/measure (and the console
 *   reads the bench's reports), never the other way; what both need (the stack client, progress bars, paths) is in
 *   `tools/`;
 * - `scripts/local/` (the emulator's lifecycle) imports no bench;
 * - `tools/` imports none of its users (scripts, bench, reference, tests);
 * - nothing but the tests imports `test/`.
 */
const DIRECTIONS: readonly { readonly from: string; readonly never: readonly string[] }[] = [
  { from: 'reference/', never: ['bench/', 'scripts/', 'tools/'] },
  { from: 'bench/', never: ['scripts/'] },
  { from: 'scripts/local/', never: ['bench/'] },
  { from: 'tools/', never: ['scripts/', 'bench/', 'reference/', 'bin/'] },
  ...['lib/', 'functions/', 'reference/', 'bench/', 'bin/', 'scripts/', 'tools/'].map((from) => ({
    from,
    never: ['test/'],
  })),
];

/** The package's public entry points, as a user imports them, and the source each one is (tsconfig.json `paths`). */
const ENTRY_POINTS: Readonly<Record<string, string>> = {
  [PACKAGE]: 'lib/index.ts',
  [`${PACKAGE}/testing`]: 'lib/testing.ts',
  [`${PACKAGE}/runtime`]: 'functions/runtime/index.ts',
  [`${PACKAGE}/runtime/testing`]: 'functions/runtime/testing.ts',
};

/**
 * The bench's own entry points: resolved like the others (tsconfig.json `paths`, vitest's aliases) but not exported
 * by the package, so only the bench may import them.
 */
const BENCH_ENTRY_POINTS: Readonly<Record<string, string>> = {
  [`${PACKAGE}/runtime/bench-support`]: 'functions/runtime/bench-support.ts',
};

const isIn = (path: string, prefixes: readonly string[]) =>
  prefixes.some((prefix) => path.startsWith(prefix));

function typeScriptFiles(directory: string): string[] {
  return readdirSync(join(ROOT, directory)).flatMap((name) => {
    const path = `${directory}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) return typeScriptFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** Every relative specifier `source` names, as a path from the root. */
function relativeImports(file: string, source: string): string[] {
  return specifiers(source)
    .filter((specifier) => specifier.startsWith('.'))
    .map((specifier) => relative(ROOT, resolve(ROOT, dirname(file), specifier)));
}

/**
 * The imports that cross a line:
 * - a library file imports a file outside the library;
 * - the reference application or the bench imports a library file by its path (not by the package's name);
 * - anything imports the package by a name that is not one of its entry points (the bench may also import its own
 *   entry points).
 */
function crossings(files: ReadonlyMap<string, string>): string[] {
  return [...files].flatMap(([file, source]) => [
    ...(isIn(file, LIBRARY)
      ? relativeImports(file, source)
          .filter((target) => !isIn(target, LIBRARY))
          .map((target) => `${file} imports ${target}`)
      : []),
    ...(isIn(file, USERS)
      ? relativeImports(file, source)
          .filter((target) => isIn(target, LIBRARY))
          .map((target) => `${file} imports ${target} by its path`)
      : []),
    ...specifiers(source)
      .filter((specifier) => specifier === PACKAGE || specifier.startsWith(`${PACKAGE}/`))
      .filter((specifier) => ENTRY_POINTS[specifier] === undefined)
      .filter((specifier) => !(file.startsWith('bench/') && BENCH_ENTRY_POINTS[specifier] !== undefined))
      .map((specifier) => `${file} imports ${specifier}, which is not an entry point`),
  ]);
}

/** The imports against {@link DIRECTIONS}. */
function wrongDirections(files: ReadonlyMap<string, string>): string[] {
  return [...files].flatMap(([file, source]) =>
    DIRECTIONS.filter((direction) => file.startsWith(direction.from)).flatMap((direction) =>
      relativeImports(file, source)
        .filter((target) => isIn(target, direction.never))
        .map((target) => `${file} imports ${target}`),
    ),
  );
}

/** Every TypeScript file of the repository's parts that are not tests. */
function sourceFiles(): Map<string, string> {
  return new Map(
    ['lib', 'functions', 'reference', 'bench', 'bin', 'scripts', 'tools', 'examples']
      .flatMap(typeScriptFiles)
      .map((file) => [file, readFileSync(join(ROOT, file), 'utf8')]),
  );
}

describe('the import boundary of the library', () => {
  it('fails if the library imports its users or the tooling, or its users import it past its entry points', () => {
    // GIVEN every TypeScript file of the library, the reference application, the bench, the scripts, the tools and the examples
    const files = sourceFiles();

    // WHEN / THEN
    expect(crossings(files)).toEqual([]);
  });

  it('the package name resolves to the entry points as the package exports them', () => {
    // GIVEN the paths tsc, tsx and esbuild resolve the package's name by, and the package's exports
    const tsconfig = JSON.parse(readFileSync(join(ROOT, 'tsconfig.json'), 'utf8')) as {
      compilerOptions: { paths: Record<string, string[]> };
    };
    const manifest = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };

    // THEN each entry point is one path to its source, and one export of the package (the bench's are not exported)
    expect(tsconfig.compilerOptions.paths).toEqual(
      Object.fromEntries(
        Object.entries({ ...ENTRY_POINTS, ...BENCH_ENTRY_POINTS }).map(([name, source]) => [
          name,
          [`./${source}`],
        ]),
      ),
    );
    expect(Object.keys(manifest.exports).filter((subpath) => subpath !== './package.json')).toEqual(
      Object.keys(ENTRY_POINTS).map((name) => `.${name.slice(PACKAGE.length)}`),
    );
  });

  it('sees every kind of import across the line, and imports within each part as fine', () => {
    // GIVEN files with each kind of import across the line, and some that stay inside
    const files = new Map([
      [
        'functions/runtime/faults/a.ts',
        "import type { PaymentHooks } from '../../../reference/functions/payments/payment-service';",
      ],
      ['lib/constructs/b.ts', "export * from '../../reference/stacks/reliable-messaging-demo-stack';"],
      [
        'functions/relay/handler.ts',
        "const probe = await import('../../bench/functions/naive-baseline/handler');",
      ],
      ['lib/index.ts', "import { x } from '../scripts/ops/reconcile';"],
      [
        'lib/constructs/d.ts',
        "entry: fileURLToPath(new URL('../../bench/functions/lean-consumer/handler.ts', import.meta.url)),",
      ],
      ['functions/inbox-monitor/handler.ts', "import '../../bench/measure/setup';"],
      ['functions/sweeper/handler.ts', "import { Env } from '../runtime/environment';"],
      [
        'reference/functions/api-handler.ts',
        "import { OutboxWriter } from '../../functions/runtime/outbox/outbox-writer';",
      ],
      ['bench/constructs/e.ts', "import { FifoChannel } from '../../lib/constructs/fifo-channel';"],
      ['bench/measure/f.ts', `import { forEachConcurrently } from '${PACKAGE}/runtime/concurrency';`],
      ['reference/functions/g.ts', `import { OutboxWriter } from '${PACKAGE}/runtime';`],
      ['bench/measure/i.ts', `import { OutboxAudit } from '${PACKAGE}/runtime/bench-support';`],
      ['reference/functions/j.ts', `import { OutboxAudit } from '${PACKAGE}/runtime/bench-support';`],
      ['examples/shop/lambda/k.ts', `import { OutboxAudit } from '${PACKAGE}/runtime/bench-support';`],
      ['reference/stacks/h.ts', "import { NaiveBaseline } from '../../bench/constructs/naive-baseline';"],
      [
        'bin/app.ts',
        "import { ReliableMessagingDemoStack } from '../reference/stacks/reliable-messaging-demo-stack';",
      ],
    ]);

    // WHEN
    const found = crossings(files);

    // THEN
    expect(found).toEqual([
      'functions/runtime/faults/a.ts imports reference/functions/payments/payment-service',
      'lib/constructs/b.ts imports reference/stacks/reliable-messaging-demo-stack',
      'functions/relay/handler.ts imports bench/functions/naive-baseline/handler',
      'lib/index.ts imports scripts/ops/reconcile',
      'lib/constructs/d.ts imports bench/functions/lean-consumer/handler.ts',
      'functions/inbox-monitor/handler.ts imports bench/measure/setup',
      'reference/functions/api-handler.ts imports functions/runtime/outbox/outbox-writer by its path',
      'bench/constructs/e.ts imports lib/constructs/fifo-channel by its path',
      `bench/measure/f.ts imports ${PACKAGE}/runtime/concurrency, which is not an entry point`,
      `reference/functions/j.ts imports ${PACKAGE}/runtime/bench-support, which is not an entry point`,
      `examples/shop/lambda/k.ts imports ${PACKAGE}/runtime/bench-support, which is not an entry point`,
    ]);
  });
});

describe('the directions between the users and the tools', () => {
  it('fails if the reference app imports the bench, the bench a script, the tools a user, or anything a test', () => {
    // GIVEN every TypeScript file that is not a test
    const files = sourceFiles();

    // WHEN / THEN
    expect(wrongDirections(files)).toEqual([]);
  });

  it('sees an import against each direction, and those along them as fine', () => {
    // GIVEN files that import against each direction, and some that import along them
    const files = new Map([
      ['reference/stacks/a.ts', "import { NaiveBaseline } from '../../bench/constructs/naive-baseline';"],
      ['bench/measure/b.ts', "import type { Connection } from '../../scripts/local/stack-control';"],
      ['bench/measure/c.ts', "const { projectRoot } = await import('../../scripts/local/paths');"],
      ['scripts/local/d.ts', "import { runBench } from '../../bench/measure/run-bench';"],
      ['tools/stack/e.ts', "import { deployToEmulator } from '../../scripts/local/deploy';"],
      ['tools/f.ts', "import { BenchReport } from '../bench/measure/run-bench';"],
      [
        'bench/measure/g.ts',
        "import { InMemoryDynamoDb } from '../../test/unit/support/in-memory-dynamodb';",
      ],
      ['scripts/h.ts', "import { queueDrained } from '../test/integration/support/drain';"],
      ['bin/demo-stack.ts', "import { addBenchFixtures } from '../bench/constructs/bench-fixtures';"],
      ['scripts/bench.ts', "import { runBench } from '../bench/measure/run-bench';"],
      ['bench/measure/i.ts', "import type { Connection } from '../../tools/stack/stack-control';"],
      ['scripts/local/j.ts', "import { localDir } from '../../tools/paths';"],
      ['tools/stack/k.ts', "import { connectOps } from '../../lib/ops/connection';"],
    ]);

    // WHEN
    const found = wrongDirections(files);

    // THEN
    expect(found).toEqual([
      'reference/stacks/a.ts imports bench/constructs/naive-baseline',
      'bench/measure/b.ts imports scripts/local/stack-control',
      'bench/measure/c.ts imports scripts/local/paths',
      'scripts/local/d.ts imports bench/measure/run-bench',
      'tools/stack/e.ts imports scripts/local/deploy',
      'tools/f.ts imports bench/measure/run-bench',
      'bench/measure/g.ts imports test/unit/support/in-memory-dynamodb',
      'scripts/h.ts imports test/integration/support/drain',
    ]);
  });
});
