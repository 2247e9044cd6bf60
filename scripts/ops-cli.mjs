#!/usr/bin/env node
// The package's `reliable-messaging-ops` command: runs scripts/ops.ts with tsx, resolved from this package (so it
// works from any directory), in this process (so exit codes and signals are the CLI's own).
import { register } from 'tsx/esm/api';

register();
await import('./ops.ts');
