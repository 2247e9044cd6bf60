import { parseArgs } from 'node:util';
import { integer, TARGET_OPTIONS, targetOptions } from '../../lib/ops/cli-args';
import { UsageError } from '../../lib/ops/errors';
import type { TargetOptions } from '../../lib/ops/outputs';
import type { LoadOptions } from './load';

/** The repository's `load` command (it drives the reference application's orders API; the package does not ship it). */
export const LOAD_USAGE = `repository only (the reference application's orders API):
  load [--keys K] [--messages N] [--concurrency C] [--prefix P] [--wait] [--timeout S]
                                               orders and notes through the API: K orders (default 10), N
                                               messages in all (default 100, ≥ K), C clients at once (default
                                               8); --wait also waits until the consumer applied them all`;

const OPTIONS = {
  ...TARGET_OPTIONS,
  json: { type: 'boolean' },
  keys: { type: 'string' },
  messages: { type: 'string' },
  concurrency: { type: 'string' },
  prefix: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

export interface LoadInvocation {
  readonly options: LoadOptions;
  readonly json: boolean;
  readonly target: TargetOptions;
}

/** Parses `load [options]` (argv after the command). Throws UsageError for anything it does not take. */
export function parseLoadCommandLine(argv: readonly string[]): LoadInvocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '(--[^']+)'/.exec(message)?.[1];
    throw new UsageError(unknown === undefined ? message : `load does not take ${unknown}`, { cause: error });
  }
  const { values, positionals } = parsed;
  if (positionals.length > 0)
    throw new UsageError(`load takes no argument ${JSON.stringify(positionals[0])}`);
  const keys = integer('keys', values.keys, 10, 1, 100_000);
  const messages = integer('messages', values.messages, Math.max(100, keys), 1, 10_000_000);
  if (messages < keys) {
    throw new UsageError(
      `--messages (${messages}) must be at least --keys (${keys}): each key starts with an order`,
    );
  }
  const prefix = values.prefix;
  if (prefix !== undefined && !/^[\w.-]{1,40}$/.test(prefix)) {
    throw new UsageError('--prefix must be 1 to 40 letters, digits, `.`, `_` or `-`');
  }
  return {
    options: {
      keys,
      messages,
      concurrency: integer('concurrency', values.concurrency, 8, 1, 1000),
      prefix: prefix ?? 'load',
      wait: values.wait === true,
      timeoutSeconds: integer('timeout', values.timeout, 600, 1, 86_400),
    },
    json: values.json === true,
    target: targetOptions(values),
  };
}
