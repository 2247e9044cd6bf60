import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageEntryPoints } from '../../../../scripts/api-report';
import { projectRoot } from '../../../../tools/paths';

const ROOT = projectRoot;
const TYPEDOC = join(
  dirname(createRequire(import.meta.url).resolve('reliable-messaging-api-tools/package.json')),
  'bin',
  'typedoc.mjs',
);

describe('the generated API reference (npm run docs, TypeDoc)', () => {
  it('documents the entry points package.json exports, and only those', () => {
    // GIVEN typedoc.json, and the package's entry points resolved to their sources
    const config = JSON.parse(readFileSync(join(ROOT, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const sources = packageEntryPoints().map((entry) => relative(ROOT, entry.source).split('\\').join('/'));

    // THEN
    expect(config.entryPoints).toEqual(sources);
  });

  it('documents every entry point without a warning: no broken {@link}, no public type left unexported', () => {
    // GIVEN typedoc.json: the package's entry points, warnings treated as errors

    // WHEN TypeDoc converts and validates them (without writing the site)
    const run = spawnSync(process.execPath, [TYPEDOC, '--emit', 'none'], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 150_000,
    });

    // THEN it finishes with no warning and no error
    const output = `${run.stdout}${run.stderr}`;
    expect(run.status, `TypeDoc failed (exit ${run.status}):\n${output}`).toBe(0);
    expect(output).not.toMatch(/\[warning\]|\[error\]/);
  }, 180_000);
});
