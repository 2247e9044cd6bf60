import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../tools/paths';
import { SYNTH_INPUTS, synthInputsKey } from '../../cdk/support/aws-synth';
import { specifiers } from './support/module-specifiers';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

/** A checkout with one file in each input of the synthesis (a file input is that file, a folder holds `a.ts`). */
function checkout(): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'synth-key-'));
  roots.push(root);
  for (const input of SYNTH_INPUTS) write(root, fileOf(input), `// ${input}\n`);
  return root;
}

const fileOf = (input: string) => (path.extname(input) === '' ? path.join(input, 'a.ts') : input);

function write(root: string, relative: string, content: string): void {
  mkdirSync(path.dirname(path.join(root, relative)), { recursive: true });
  writeFileSync(path.join(root, relative), content);
}

describe('the key of the AWS template tests’ synthesis', () => {
  it.each([
    'reference/stacks/reliable-messaging-demo-stack.ts',
    'reference/functions/api-handler.ts',
    'bench/constructs/naive-baseline.ts',
    'bench/functions/naive-baseline/handler.ts',
  ])('changes when %s changes or appears', (file) => {
    // GIVEN a checkout and its key
    const root = checkout();
    const before = synthInputsKey(root);

    // WHEN the file appears, then changes
    write(root, file, 'export const a = 1;\n');
    const added = synthInputsKey(root);
    write(root, file, 'export const a = 2;\n');
    const changed = synthInputsKey(root);

    // THEN each is another key
    expect(new Set([before, added, changed]).size).toBe(3);
  });

  it.each(SYNTH_INPUTS)('changes when a file of the input %s changes', (input) => {
    // GIVEN a checkout and its key
    const root = checkout();
    const before = synthInputsKey(root);

    // WHEN a file of the input changes
    write(root, fileOf(input), '// changed\n');

    // THEN the key is another
    expect(synthInputsKey(root)).not.toBe(before);
  });

  it('stays the same when nothing the synthesis reads changes (a test, a doc, a script)', () => {
    // GIVEN a checkout and its key
    const root = checkout();
    const before = synthInputsKey(root);

    // WHEN files outside the inputs change
    write(root, 'test/unit/x.test.ts', '// a test\n');
    write(root, 'docs/x.md', '# a doc\n');
    write(root, 'scripts/x.ts', '// a script\n');

    // THEN the key is the same
    expect(synthInputsKey(root)).toBe(before);
  });

  it('its inputs hold every file bin/app.ts imports or bundles, followed through the package’s entry points', () => {
    // GIVEN the files the app reaches from bin/app.ts: relative imports, handler entries, the package's name
    const reached = reachableFrom('bin/app.ts');

    // WHEN / THEN each is under one of the inputs (and the walk found the reference app, the bench and the library)
    const outside = [...reached].filter((file) => !SYNTH_INPUTS.some((input) => isUnder(file, input)));
    expect(outside).toEqual([]);
    for (const part of [
      'reference/',
      'bench/constructs/',
      'bench/functions/',
      'lib/constructs/',
      'functions/',
    ]) {
      expect([...reached].some((file) => file.startsWith(part))).toBe(true);
    }
  });
});

const isUnder = (file: string, input: string) => file === input || file.startsWith(`${input}/`);

/** The repository's own files `entry` reaches: relative specifiers, and the package's name by tsconfig.json `paths`. */
function reachableFrom(entry: string): Set<string> {
  const tsconfig = JSON.parse(readFileSync(path.join(projectRoot, 'tsconfig.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  const packagePaths = tsconfig.compilerOptions.paths;
  const seen = new Set<string>();
  const visit = (file: string) => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = readFileSync(path.join(projectRoot, file), 'utf8');
    for (const specifier of specifiers(source)) {
      const target = specifier.startsWith('.')
        ? path.relative(projectRoot, path.resolve(projectRoot, path.dirname(file), specifier))
        : packagePaths[specifier]?.[0]?.replace(/^\.\//, '');
      const resolved = target === undefined ? undefined : sourceFile(target);
      if (resolved !== undefined) visit(resolved);
    }
  };
  visit(entry);
  return seen;
}

function sourceFile(target: string): string | undefined {
  for (const candidate of [target, `${target}.ts`, path.join(target, 'index.ts')]) {
    const full = path.join(projectRoot, candidate);
    if (existsSync(full) && statSync(full).isFile()) return candidate;
  }
  return undefined;
}
