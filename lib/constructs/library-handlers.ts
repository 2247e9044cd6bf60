import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The npm package these constructs ship in. */
export const PACKAGE_NAME = 'reliable-messaging-serverless';

/** The library's own Lambda handlers: `functions/<name>/handler.ts`, pre-built as `dist/handlers/<name>/index.js`. */
export type LibraryHandlerName = 'relay' | 'sweeper' | 'check-back' | 'inbox-monitor';

export const LIBRARY_HANDLERS: readonly LibraryHandlerName[] = [
  'relay',
  'sweeper',
  'check-back',
  'inbox-monitor',
];

/** Where a library handler's code is: its TypeScript source, and its pre-built bundle. */
export interface LibraryHandlerCode {
  /** The TypeScript entry: present in a clone of the repository, absent from the installed package. */
  readonly entry: string;
  /** The directory of the bundle `npm run build` makes (`index.js`): what the installed package ships. */
  readonly prebuiltBundle: string;
}

/** The directory of the package.json named `reliable-messaging-serverless` at or above `start`. */
export function packageRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (
      existsSync(manifest) &&
      (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME
    ) {
      return dir;
    }
    if (dirname(dir) === dir) throw new Error(`no package.json of ${PACKAGE_NAME} at or above ${start}`);
  }
}

/** The code of one of the library's handlers, in this package (the repository or the installed copy). */
export function libraryHandler(name: LibraryHandlerName): LibraryHandlerCode {
  const root = packageRoot(dirname(fileURLToPath(import.meta.url)));
  return {
    entry: join(root, 'functions', name, 'handler.ts'),
    prebuiltBundle: join(root, 'dist', 'handlers', name),
  };
}
