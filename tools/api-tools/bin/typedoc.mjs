#!/usr/bin/env node
// `typedoc`, run with the TypeScript beside it in this package (6.0) rather than the project's (7, which TypeDoc
// does not support).
import { fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const typedoc = dirname(require.resolve('typedoc/package.json'));
fork(join(typedoc, 'dist', 'cli.js'), process.argv.slice(2), { stdio: 'inherit' }).on('exit', (code) => {
  process.exit(code ?? 1);
});
