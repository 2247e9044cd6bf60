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

/** Every specifier `source` names, as written. */
export function specifiers(source: string): string[] {
  return SPECIFIERS.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}
