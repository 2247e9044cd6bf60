import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addJsExtensions, withJsExtension } from '../../../scripts/build/declaration-specifiers';

/** A declaration tree: lib/index.d.ts, lib/a.d.ts, lib/runtime/index.d.ts. */
function declarations(): string {
  const root = mkdtempSync(path.join(tmpdir(), 'declarations-'));
  mkdirSync(path.join(root, 'lib', 'runtime'), { recursive: true });
  writeFileSync(path.join(root, 'lib', 'a.d.ts'), 'export declare const a: number;\n');
  writeFileSync(path.join(root, 'lib', 'runtime', 'index.d.ts'), "export * from '../a';\n");
  writeFileSync(
    path.join(root, 'lib', 'index.d.ts'),
    [
      "export * from './a';",
      "export { b } from './runtime';",
      "import type { X } from 'aws-cdk-lib';",
      "export declare const c: import('./a.js').A;",
      "export declare const d: import('./a').A;",
      '',
    ].join('\n'),
  );
  return root;
}

describe('declarations that Node.js ESM and NodeNext resolution accept', () => {
  it('gives each relative import its .js file, or the folder its index.js; packages and .js imports stay', () => {
    // GIVEN
    const root = declarations();

    // WHEN
    addJsExtensions(root);

    // THEN
    expect(readFileSync(path.join(root, 'lib', 'index.d.ts'), 'utf8')).toBe(
      [
        "export * from './a.js';",
        "export { b } from './runtime/index.js';",
        "import type { X } from 'aws-cdk-lib';",
        "export declare const c: import('./a.js').A;",
        "export declare const d: import('./a.js').A;",
        '',
      ].join('\n'),
    );
    expect(readFileSync(path.join(root, 'lib', 'runtime', 'index.d.ts'), 'utf8')).toBe(
      "export * from '../a.js';\n",
    );
  });

  it('fails if a relative import resolves to no declaration', () => {
    const root = declarations();
    expect(() => withJsExtension('./missing', path.join(root, 'lib'))).toThrow(
      /cannot resolve \.\/missing from /,
    );
  });
});
