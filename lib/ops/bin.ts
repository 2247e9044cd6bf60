import { runOpsCli } from './cli';

// The package's `reliable-messaging-ops` binary (dist/bin/reliable-messaging-ops.js is this file, bundled).
void runOpsCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
