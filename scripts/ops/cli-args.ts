import { parseArgs } from 'node:util';
import { UsageError } from './errors';
import type { LoadOptions } from './load';
import type { TargetOptions } from './outputs';

/** The usage lines of the options that say which stack (shared by the ops CLI and the console). */
export const TARGET_USAGE = `  --stack NAME           a stack deployed to AWS: its outputs from CloudFormation (DescribeStacks), the SDK's
                         default credential chain and region, no endpoint override
  --region R             the region of --stack (default: the SDK's, e.g. AWS_REGION)
  --outputs FILE         the outputs from a JSON file (\`cdk deploy --outputs-file\`); services at --endpoint,
                         AWS_ENDPOINT_URL, the emulator serving the file's ApiUrl, or else AWS
  --endpoint URL         the services' endpoint (an emulator), whatever else is given`;

export const USAGE = `usage: npm run ops -- <command> [options]      (or: reliable-messaging-ops <command> [options])

commands:
  status                                       outbox PENDING/PREPARED/FAILED, queue and DLQ depth, held and
                                               parked messages, parked keys, alarm states
  reconcile [--key K | --prefix P]             is every committed message terminal (applied, or rolled back)?
                                               lists the ones that are not, where they are, and the command
                                               that repairs each; exit code 3 when any is not terminal
  retry-failed [--key K] [--message M]         FAILED outbox messages back to PENDING (the next sweep sends them)
  replay --key K                               a parked key's messages applied again, in order
  resolve --transaction T --commit|--rollback  a transactional (half) message resolved by hand
  redrive [--dry-run]                          the dead-letter queue back to the queue, per-key order kept
  load [--keys K] [--messages N] [--concurrency C] [--prefix P] [--wait] [--timeout S]
                                               orders and notes through the API: K orders (default 10), N
                                               messages in all (default 100, ≥ K), C clients at once (default
                                               8); --wait also waits until the consumer applied them all

options of every command:
  --json                 one JSON object on stdout instead of tables (progress, if any, on a terminal's stderr)
${TARGET_USAGE}
  -h, --help             this help
  default: .local/outputs.json (what \`npm start\` wrote) and the local emulator (or AWS_ENDPOINT_URL)

exit codes: 0 done (reconcile: all terminal), 1 failed, 2 bad command line, 3 reconcile found messages not terminal`;

/** What a bad command line is answered with, after the error. */
export const SHORT_USAGE =
  'usage: npm run ops -- <status|reconcile|retry-failed|replay|resolve|redrive|load> [options] (--help lists them all)';

export type Command =
  | { readonly name: 'status' }
  | { readonly name: 'reconcile'; readonly key?: string; readonly prefix?: string }
  | { readonly name: 'retry-failed'; readonly key?: string; readonly message?: string }
  | { readonly name: 'replay'; readonly key: string }
  | { readonly name: 'resolve'; readonly transaction: string; readonly outcome: 'commit' | 'rollback' }
  | { readonly name: 'redrive'; readonly dryRun: boolean }
  | ({ readonly name: 'load' } & LoadOptions);

export type CommandName = Command['name'];

export type Invocation =
  | { readonly kind: 'help' }
  | {
      readonly kind: 'run';
      readonly command: Command;
      readonly json: boolean;
      readonly target: TargetOptions;
    };

const OPTIONS = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  stack: { type: 'string' },
  region: { type: 'string' },
  outputs: { type: 'string' },
  endpoint: { type: 'string' },
  key: { type: 'string' },
  prefix: { type: 'string' },
  message: { type: 'string' },
  transaction: { type: 'string' },
  commit: { type: 'boolean' },
  rollback: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  keys: { type: 'string' },
  messages: { type: 'string' },
  concurrency: { type: 'string' },
  wait: { type: 'boolean' },
  timeout: { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;

const GLOBAL: readonly OptionName[] = ['json', 'help', 'stack', 'region', 'outputs', 'endpoint'];

/** The options each command takes besides the global ones. */
export const COMMAND_OPTIONS: Readonly<Record<CommandName, readonly OptionName[]>> = {
  status: [],
  reconcile: ['key', 'prefix'],
  'retry-failed': ['key', 'message'],
  replay: ['key'],
  resolve: ['transaction', 'commit', 'rollback'],
  redrive: ['dry-run'],
  load: ['keys', 'messages', 'concurrency', 'prefix', 'wait', 'timeout'],
};

const isCommand = (name: string): name is CommandName => Object.hasOwn(COMMAND_OPTIONS, name);

/** An integer flag within bounds. */
export function integer(
  name: string,
  text: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}; got ${JSON.stringify(text)}`);
  }
  return value;
}

function nonEmpty(name: string, text: string | undefined): string | undefined {
  if (text !== undefined && text.trim() === '') throw new UsageError(`--${name} needs a value`);
  return text;
}

/** Parses the ops CLI's arguments (after the script name). Throws UsageError for anything it does not take. */
export function parseCommandLine(argv: readonly string[]): Invocation {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true; strict: true }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  const { values, positionals } = parsed;
  if (values.help === true) return { kind: 'help' };
  const [name, ...extra] = positionals;
  if (name === undefined) throw new UsageError('no command given');
  if (!isCommand(name)) throw new UsageError(`unknown command ${JSON.stringify(name)}`);
  if (extra.length > 0) throw new UsageError(`${name} takes no argument ${JSON.stringify(extra[0])}`);
  const allowed = new Set<OptionName>([...GLOBAL, ...COMMAND_OPTIONS[name]]);
  for (const option of Object.keys(values) as OptionName[]) {
    if (!allowed.has(option)) throw new UsageError(`${name} does not take --${option}`);
  }
  const target = targetOptions(values);
  const key = nonEmpty('key', values.key);
  const prefix = nonEmpty('prefix', values.prefix);
  let command: Command;
  switch (name) {
    case 'status':
      command = { name };
      break;
    case 'reconcile':
      if (key !== undefined && prefix !== undefined)
        throw new UsageError('reconcile takes --key or --prefix, not both');
      command = { name, ...(key === undefined ? {} : { key }), ...(prefix === undefined ? {} : { prefix }) };
      break;
    case 'retry-failed': {
      const message = nonEmpty('message', values.message);
      command = {
        name,
        ...(key === undefined ? {} : { key }),
        ...(message === undefined ? {} : { message }),
      };
      break;
    }
    case 'replay':
      if (key === undefined) throw new UsageError('replay needs --key K');
      command = { name, key };
      break;
    case 'resolve': {
      const transaction = nonEmpty('transaction', values.transaction);
      if (transaction === undefined) throw new UsageError('resolve needs --transaction T');
      if ((values.commit === true) === (values.rollback === true)) {
        throw new UsageError('resolve needs exactly one of --commit, --rollback');
      }
      command = { name, transaction, outcome: values.commit === true ? 'commit' : 'rollback' };
      break;
    }
    case 'redrive':
      command = { name, dryRun: values['dry-run'] === true };
      break;
    case 'load': {
      const keys = integer('keys', values.keys, 10, 1, 100_000);
      const messages = integer('messages', values.messages, Math.max(100, keys), 1, 10_000_000);
      if (messages < keys) {
        throw new UsageError(
          `--messages (${messages}) must be at least --keys (${keys}): each key starts with an order`,
        );
      }
      if (prefix !== undefined && !/^[\w.-]{1,40}$/.test(prefix)) {
        throw new UsageError('--prefix must be 1 to 40 letters, digits, `.`, `_` or `-`');
      }
      command = {
        name,
        keys,
        messages,
        concurrency: integer('concurrency', values.concurrency, 8, 1, 1000),
        prefix: prefix ?? 'load',
        wait: values.wait === true,
        timeoutSeconds: integer('timeout', values.timeout, 600, 1, 86_400),
      };
      break;
    }
  }
  return { kind: 'run', command, json: values.json === true, target };
}

/** The options that say which stack (`--stack`, `--region`, `--outputs`, `--endpoint`), as `parseArgs` declares them. */
export const TARGET_OPTIONS = {
  stack: OPTIONS.stack,
  region: OPTIONS.region,
  outputs: OPTIONS.outputs,
  endpoint: OPTIONS.endpoint,
} as const;

/**
 * Which stack, from parsed `--stack`, `--region`, `--outputs`, `--endpoint` values (the ops CLI's and the console's):
 * checks them the same way for both. Throws UsageError for both `--stack` and `--outputs`, an empty value, or an
 * endpoint that is not an http(s) URL.
 */
export function targetOptions(values: {
  readonly stack?: string;
  readonly region?: string;
  readonly outputs?: string;
  readonly endpoint?: string;
}): TargetOptions {
  if (values.stack !== undefined && values.outputs !== undefined) {
    throw new UsageError('give --stack or --outputs, not both');
  }
  return {
    ...(values.stack === undefined ? {} : { stack: nonEmpty('stack', values.stack)! }),
    ...(values.region === undefined ? {} : { region: nonEmpty('region', values.region)! }),
    ...(values.outputs === undefined ? {} : { outputs: nonEmpty('outputs', values.outputs)! }),
    ...(values.endpoint === undefined ? {} : { endpoint: endpoint(values.endpoint) }),
  };
}

function endpoint(text: string): string {
  try {
    const url = new URL(text);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`protocol ${url.protocol}`);
    return text;
  } catch (error) {
    throw new UsageError(`--endpoint must be an http(s) URL; got ${JSON.stringify(text)}`, { cause: error });
  }
}
