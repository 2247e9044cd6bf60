import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const RELATIVE_SPECIFIER = /(\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)(['"])(\.{1,2}\/[^'"]*)\2/g;

/**
 * The specifier of a relative import of a declaration file, as Node.js ESM (and TypeScript's NodeNext resolution)
 * needs it: with its `.js` extension, or `/index.js` for a folder. Specifiers that already have one are kept.
 */
export function withJsExtension(specifier: string, fromDir: string): string {
  if (/\.(c|m)?js$/.test(specifier)) return specifier;
  const target = path.resolve(fromDir, specifier);
  if (existsSync(`${target}.d.ts`)) return `${specifier}.js`;
  if (existsSync(path.join(target, 'index.d.ts'))) return `${specifier}/index.js`;
  throw new Error(`cannot resolve ${specifier} from ${fromDir}: no ${target}.d.ts nor ${target}/index.d.ts`);
}

/** Rewrites every relative import and export of the `.d.ts` files under `dir` with `withJsExtension`. */
export function addJsExtensions(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      addJsExtensions(file);
    } else if (entry.name.endsWith('.d.ts')) {
      const text = readFileSync(file, 'utf8');
      writeFileSync(
        file,
        text.replace(
          RELATIVE_SPECIFIER,
          (_, keyword: string, quote: string, specifier: string) =>
            `${keyword}${quote}${withJsExtension(specifier, dir)}${quote}`,
        ),
      );
    }
  }
}
