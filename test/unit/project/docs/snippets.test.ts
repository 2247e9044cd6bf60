import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../../../tools/paths';
import { documentationFiles, fencedBlocks } from './markdown';

/**
 * Every TypeScript block (```ts, ```typescript) of the README and the guide type-checks against this repository's
 * sources, as a user's file would against the package: each block is written to .local/snippets/ as a module of its
 * own, and one run of the TypeScript compiler (the installed `tsc`, with the project's tsconfig: its options and the
 * `paths` that resolve `reliable-messaging-serverless`, `…/runtime` and `…/testing`) checks them all at once.
 * A block marked `<!-- snippet: fragment -->` on the line before its fence is a deliberate fragment and skipped.
 * Snippets may leave a variable unused (the two `noUnused*` checks are off for them).
 */
const FRAGMENT_MARK = '<!-- snippet: fragment -->';
const snippetDirectory = path.join(projectRoot, '.local', 'snippets');

interface Snippet {
  /** Where the block is: `docs/runtime.md:42`. */
  readonly source: string;
  /** The file it is checked as, under .local/snippets/. */
  readonly fileName: string;
  readonly code: string;
}

function snippetsOf(file: string, markdown: string): Snippet[] {
  return fencedBlocks(markdown)
    .filter((block) => block.language === 'ts' || block.language === 'typescript')
    .filter((block) => block.lineBefore !== FRAGMENT_MARK)
    .map((block, index) => ({
      source: `${file}:${block.line}`,
      fileName: `${file.replace(/[/.]/g, '_')}-${index + 1}.ts`,
      code: block.code,
    }));
}

/** A snippet that must fail: proves the check reports a type error rather than passing whatever it is given. */
const brokenSnippet: Snippet = {
  source: '(the check of the check)',
  fileName: 'zz-broken-on-purpose.ts',
  code: "import { OutboxWriter } from 'reliable-messaging-serverless/runtime';\nconst count: number = 'one';\nexport const writer: OutboxWriter = count;\n",
};

/** Type-checks the snippets in one compiler run; answers each file's error lines (none for a file that checks). */
function typeCheck(snippets: readonly Snippet[]): Map<string, string[]> {
  rmSync(snippetDirectory, { recursive: true, force: true });
  mkdirSync(snippetDirectory, { recursive: true });
  for (const snippet of snippets) writeFileSync(path.join(snippetDirectory, snippet.fileName), snippet.code);
  writeFileSync(
    path.join(snippetDirectory, 'tsconfig.json'),
    JSON.stringify(
      {
        extends: '../../tsconfig.json',
        compilerOptions: { noUnusedLocals: false, noUnusedParameters: false, moduleDetection: 'force' },
        include: [],
        files: snippets.map((snippet) => snippet.fileName),
      },
      null,
      2,
    ),
  );
  const tsc = path.join(
    path.dirname(createRequire(import.meta.url).resolve('typescript/package.json')),
    'bin',
    'tsc',
  );
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', snippetDirectory, '--pretty', 'false'], {
      cwd: snippetDirectory,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    output = `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
  const errors = new Map<string, string[]>(snippets.map((snippet) => [snippet.fileName, []]));
  const unattributed: string[] = [];
  for (const line of output.split('\n').filter((text) => text.trim() !== '')) {
    const file = /^([^(]+?)\(\d+,\d+\)/.exec(line)?.[1];
    const list = file === undefined ? undefined : errors.get(path.basename(file));
    if (list !== undefined) list.push(line);
    else if (!/^\s/.test(line)) unattributed.push(line);
    else (errors.get([...errors.keys()].at(-1) ?? '') ?? unattributed).push(line);
  }
  if (unattributed.length > 0) errors.set('(tsc)', unattributed);
  return errors;
}

describe('TypeScript snippets of the README and the guide', () => {
  const snippets = documentationFiles(projectRoot).flatMap((file) =>
    snippetsOf(file, readFileSync(path.join(projectRoot, file), 'utf8')),
  );
  let errors: Map<string, string[]>;

  beforeAll(() => {
    errors = typeCheck([...snippets, brokenSnippet]);
  }, 120_000);

  it('finds the quick start among them', () => {
    expect(
      snippets.filter((snippet) => snippet.source.startsWith('README.md:')).length,
    ).toBeGreaterThanOrEqual(3);
  });

  it('fails if the compiler itself reports an error that belongs to no snippet', () => {
    expect(errors.get('(tsc)') ?? []).toEqual([]);
  });

  it.each(snippets.map((snippet) => [snippet.source, snippet]))(
    'fails if the snippet at %s does not type-check',
    (_, snippet) => {
      expect(errors.get(snippet.fileName)).toEqual([]);
    },
  );

  it('fails a snippet with a type error (the check can fail)', () => {
    expect(errors.get(brokenSnippet.fileName)?.join('\n')).toMatch(/TS2322/);
  });

  it('skips a block marked as a fragment, and blocks in other languages', () => {
    const markdown = `${FRAGMENT_MARK}\n\`\`\`ts\nnot: valid;\n\`\`\`\n\n\`\`\`bash\nls\n\`\`\`\n\n\`\`\`typescript\nconst a = 1;\n\`\`\`\n`;
    expect(snippetsOf('docs/x.md', markdown)).toEqual([
      { source: 'docs/x.md:10', fileName: 'docs_x_md-1.ts', code: 'const a = 1;\n' },
    ]);
  });
});
