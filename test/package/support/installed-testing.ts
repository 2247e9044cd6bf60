import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The `reliable-messaging-serverless/testing` entry point's API (its declarations, from the sources). */
export type TestingEntry = typeof import('reliable-messaging-serverless/testing');

/**
 * The `./testing` entry point as the user's project installed it (node_modules/…/dist/esm/testing.js, loaded by
 * Node from the packed tarball's files, not the sources this repository's tests resolve the package name to).
 */
export async function importInstalledTesting(app: string): Promise<TestingEntry> {
  const installed = path.join(
    app,
    'node_modules',
    'reliable-messaging-serverless',
    'dist',
    'esm',
    'testing.js',
  );
  return (await import(pathToFileURL(installed).href)) as TestingEntry;
}
