import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The page's files (scripts/console/static), each served by the console itself: nothing comes from elsewhere. */
export const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** The files the console serves, by URL path: an allow-list, so no path reaches any other file. */
export const ASSETS: Readonly<Record<string, string>> = {
  '/': 'index.html',
  '/index.html': 'index.html',
  '/console.css': 'console.css',
  '/console.js': 'console.js',
  '/api.js': 'api.js',
  '/dom.js': 'dom.js',
  '/flow-picture.js': 'flow-picture.js',
  '/key-view.js': 'key-view.js',
  '/repairs.js': 'repairs.js',
  '/plots.js': 'plots.js',
  '/favicon.svg': 'favicon.svg',
};

export interface Asset {
  readonly contentType: string;
  readonly body: Buffer;
}

/** The asset at a URL path, or undefined when there is none. */
export async function staticAsset(urlPath: string): Promise<Asset | undefined> {
  const file = Object.hasOwn(ASSETS, urlPath) ? ASSETS[urlPath] : undefined;
  if (file === undefined) return undefined;
  const extension = file.slice(file.lastIndexOf('.'));
  return { contentType: CONTENT_TYPES[extension]!, body: await readFile(`${STATIC_DIR}${file}`) };
}
