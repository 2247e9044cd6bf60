#!/usr/bin/env node
// The repository's ops command (what the tests spawn): runs scripts/ops.ts with tsx, resolved from this checkout (so it
// works from any directory), in this process (so exit codes and signals are the CLI's own).
import { register } from 'tsx/esm/api';

register();
await import('./ops.ts');
