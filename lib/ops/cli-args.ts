import { parseArgs } from 'node:util';
import { CURSOR_ATTRIBUTES } from '../../functions/runtime/consumer/cursor-location';
import { UsageError } from './errors';
import type { CursorTableOption, ProducerTableOption, TargetOptions } from './outputs';

/** How the shipped CLI is run, in every message and help line. */
export const OPS_COMMAND = 'npx reliable-messaging-ops';

/** The usage lines of the options that say which stack (shared by the ops CLI and the console). */
export const TARGET_USAGE = `  --stack NAME           the deployed stack (CloudFormation DescribeStacks): its outputs, or else its resources
                         found by their role; the SDK's default credential chain and region
  --region R             the region of --stack (default: the SDK's, e.g. AWS_REGION)
  --endpoint URL         the services' endpoint, e.g. an emulator (default: AWS_ENDPOINT_URL, else AWS)
  --outputs FILE         instead of --stack: the outputs from a JSON file (\`cdk deploy --outputs-file\`); services
                         at --endpoint, AWS_ENDPOINT_URL, the emulator serving the file's ApiUrl, or else AWS`;

/** The usage lines of the options that name the producer's table (reconcile, wait, console). */
export const PRODUCER_TABLE_USAGE = `  --producer-table NAME  the producer's table reconcile reads what was committed from (one item per key),
  --key-attribute A      with the attribute holding the key (groupKey) and the one holding the last sequence
  --sequence-attribute A committed; default: the table the CDK app declared with
                         outbox.addProducer(fn, { producerTable: { table, keyAttribute, sequenceAttribute } })`;

/** The usage lines of the options that name the consumer's cursor table (reconcile, wait, replay, console). */
export const CURSOR_TABLE_USAGE = `  --cursor-table NAME    where the consumer keeps its cursors when in a table of its own (the runtime's cursor
  --cursor-key-attribute A  option): one item per key, A its partition key (value: the groupKey), lastSequence
                         the last sequence applied. Default: the table the CDK app declared with
                         IdempotentConsumer's cursorTable, else the inbox table's cursor items`;

/** The usage lines of `--group`. */
export const GROUP_USAGE = `  --group NAME           the consumer group: its resources' reliable-messaging:group metadata, or the prefix
                         of its outputs (AuditQueueUrl, AuditDeadLetterQueueUrl, AuditInboxTableName: audit);
                         \`default\` for a group of neither. status, reconcile, wait: only that group
                         (default: every group); replay, redrive: needed when the stack has several groups;
                         with --cursor-table (also console's): the group whose cursors that table holds`;

export const USAGE = `usage: ${OPS_COMMAND} <command> --stack <name> [options]

See and repair a stack built with reliable-messaging-serverless, on AWS or on an emulator.

commands:
  status [--group G]                           outbox PENDING/PREPARED/FAILED, the topic, and per consumer group
                                               its queue and DLQ depth, held and parked messages, parked keys;
                                               alarm states
  reconcile [--key K | --prefix P] [--group G] is every committed message terminal (applied in every consumer
                                               group, or rolled back)? lists the ones that are not, per group,
                                               where they are, and the command that repairs each (--key: each
                                               message's traceparent too); exit code 3 when any is not terminal
  wait [--key K | --prefix P] [--group G] [--timeout S]
                                               waits until every committed message has settled in every group:
                                               applied, or stopped where only an operator moves it (parked,
                                               dead-lettered, FAILED: alerted; reconcile lists them with their
                                               repair); exit code 3, listing what still moves, after --timeout
                                               (default 120) seconds. Run it after driving your app
  retry-failed [--key K] [--message M]         FAILED outbox messages back to PENDING (the next sweep sends them)
  replay --key K [--group G]                   a parked key's messages applied again, in order
  resolve --transaction T --commit|--rollback  a transactional (half) message resolved by hand
  redrive [--group G] [--dry-run]              a dead-letter queue back to its queue, per-key order kept
  console [--port N] [--host H] [--read-only]  a local web page of the stack: the flow with live counts and
                                               alarms (per consumer group), one key end to end, and the repairs
                                               above (they need the token it prints at start; --read-only: none).
                                               Port default 4700 (0 = any free one), host 127.0.0.1

options of every command:
${TARGET_USAGE}
  --json                 one JSON object on stdout instead of tables (progress, if any, on a terminal's stderr)
  -h, --help             this help

options of status, reconcile, wait, replay, redrive and console:
${GROUP_USAGE}

options of reconcile, wait and console:
${PRODUCER_TABLE_USAGE}

options of reconcile, wait, replay and console:
${CURSOR_TABLE_USAGE}

exit codes: 0 done (reconcile: all terminal; wait: settled), 1 failed, 2 bad command line, 3 reconcile found
messages not terminal (wait: still moving at its timeout)

e.g. ${OPS_COMMAND} reconcile --stack MyStack
     AWS_ENDPOINT_URL=http://127.0.0.1:4566 ${OPS_COMMAND} wait --stack MyStack --timeout 60`;

/** What a bad command line is answered with, after the error. */
export const SHORT_USAGE = `usage: ${OPS_COMMAND} <status|reconcile|wait|retry-failed|replay|resolve|redrive|console> --stack <name> [options] (--help lists them all)`;

export const DEFAULT_CONSOLE_PORT = 4700;
export const DEFAULT_CONSOLE_HOST = '127.0.0.1';
export const DEFAULT_WAIT_TIMEOUT_SECONDS = 120;

/** What narrows reconcile (and wait) to some keys. */
export interface KeyFilter {
  readonly key?: string;
  readonly prefix?: string;
}

/** `--group NAME`: the consumer group a command acts on. */
export interface GroupChoice {
  readonly group?: string;
}

export type Command =
  | ({ readonly name: 'status' } & GroupChoice)
  | ({ readonly name: 'reconcile' } & KeyFilter & GroupChoice)
  | ({ readonly name: 'wait'; readonly timeoutSeconds: number } & KeyFilter & GroupChoice)
  | { readonly name: 'retry-failed'; readonly key?: string; readonly message?: string }
  | ({ readonly name: 'replay'; readonly key: string } & GroupChoice)
  | { readonly name: 'resolve'; readonly transaction: string; readonly outcome: 'commit' | 'rollback' }
  | ({ readonly name: 'redrive'; readonly dryRun: boolean } & GroupChoice)
  | {
      readonly name: 'console';
      readonly port: number;
      readonly host: string;
      readonly readOnly: boolean;
    };

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
  'producer-table': { type: 'string' },
  'key-attribute': { type: 'string' },
  'sequence-attribute': { type: 'string' },
  'cursor-table': { type: 'string' },
  'cursor-key-attribute': { type: 'string' },
  key: { type: 'string' },
  group: { type: 'string' },
  prefix: { type: 'string' },
  message: { type: 'string' },
  transaction: { type: 'string' },
  commit: { type: 'boolean' },
  rollback: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
  timeout: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'read-only': { type: 'boolean' },
} as const;

type OptionName = keyof typeof OPTIONS;

const GLOBAL: readonly OptionName[] = ['json', 'help', 'stack', 'region', 'outputs', 'endpoint'];
const PRODUCER_TABLE: readonly OptionName[] = ['producer-table', 'key-attribute', 'sequence-attribute'];
const CURSOR_TABLE: readonly OptionName[] = ['cursor-table', 'cursor-key-attribute'];

/** The options each command takes besides the global ones. */
export const COMMAND_OPTIONS: Readonly<Record<CommandName, readonly OptionName[]>> = {
  status: ['group'],
  reconcile: ['key', 'prefix', 'group', ...PRODUCER_TABLE, ...CURSOR_TABLE],
  wait: ['key', 'prefix', 'group', 'timeout', ...PRODUCER_TABLE, ...CURSOR_TABLE],
  'retry-failed': ['key', 'message'],
  replay: ['key', 'group', ...CURSOR_TABLE],
  resolve: ['transaction', 'commit', 'rollback'],
  redrive: ['group', 'dry-run'],
  console: ['port', 'host', 'read-only', 'group', ...PRODUCER_TABLE, ...CURSOR_TABLE],
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
  const producerTable = producerTableOption(values);
  const cursorTable = cursorTableOption(values);
  const group = nonEmpty('group', values.group);
  const groupChoice = group === undefined ? {} : { group };
  const target = {
    ...targetOptions(values),
    ...(producerTable === undefined ? {} : { producerTable }),
    ...(cursorTable === undefined ? {} : { cursorTable }),
    ...groupChoice,
  };
  const key = nonEmpty('key', values.key);
  const prefix = nonEmpty('prefix', values.prefix);
  let command: Command;
  switch (name) {
    case 'status':
      command = { name, ...groupChoice };
      break;
    case 'reconcile':
    case 'wait': {
      if (key !== undefined && prefix !== undefined)
        throw new UsageError(`${name} takes --key or --prefix, not both`);
      const filter = {
        ...(key === undefined ? {} : { key }),
        ...(prefix === undefined ? {} : { prefix }),
        ...groupChoice,
      };
      command =
        name === 'reconcile'
          ? { name, ...filter }
          : {
              name,
              ...filter,
              timeoutSeconds: integer('timeout', values.timeout, DEFAULT_WAIT_TIMEOUT_SECONDS, 1, 86_400),
            };
      break;
    }
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
      command = { name, key, ...groupChoice };
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
      command = { name, dryRun: values['dry-run'] === true, ...groupChoice };
      break;
    case 'console':
      command = {
        name,
        port: integer('port', values.port, DEFAULT_CONSOLE_PORT, 0, 65_535),
        host: consoleHost(values.host),
        readOnly: values['read-only'] === true,
      };
      break;
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

/** `--producer-table NAME --key-attribute A --sequence-attribute A`: all three, or none. */
export function producerTableOption(values: {
  readonly 'producer-table'?: string;
  readonly 'key-attribute'?: string;
  readonly 'sequence-attribute'?: string;
}): ProducerTableOption | undefined {
  const tableName = nonEmpty('producer-table', values['producer-table']);
  const keyAttribute = nonEmpty('key-attribute', values['key-attribute']);
  const sequenceAttribute = nonEmpty('sequence-attribute', values['sequence-attribute']);
  if (tableName === undefined && keyAttribute === undefined && sequenceAttribute === undefined)
    return undefined;
  if (tableName === undefined || keyAttribute === undefined || sequenceAttribute === undefined) {
    throw new UsageError(
      'give the producer table with all three of --producer-table NAME --key-attribute A --sequence-attribute A',
    );
  }
  return { tableName, keyAttribute, sequenceAttribute };
}

/** `--cursor-table NAME --cursor-key-attribute A`: both, or neither. */
export function cursorTableOption(values: {
  readonly 'cursor-table'?: string;
  readonly 'cursor-key-attribute'?: string;
}): CursorTableOption | undefined {
  const tableName = nonEmpty('cursor-table', values['cursor-table']);
  const keyAttribute = nonEmpty('cursor-key-attribute', values['cursor-key-attribute']);
  if (tableName === undefined && keyAttribute === undefined) return undefined;
  if (tableName === undefined || keyAttribute === undefined) {
    throw new UsageError(
      'give the cursor table with both of --cursor-table NAME --cursor-key-attribute A (its partition key)',
    );
  }
  if (CURSOR_ATTRIBUTES.includes(keyAttribute)) {
    throw new UsageError(
      `--cursor-key-attribute must be the cursor table's partition key, not ${JSON.stringify(keyAttribute)}: ` +
        `the cursor itself writes ${CURSOR_ATTRIBUTES.join(', ')}`,
    );
  }
  return { tableName, keyAttribute };
}

/** The console's host: a name or address without a scheme, port or path (the only Host header it answers). */
export function consoleHost(text: string | undefined): string {
  const host = nonEmpty('host', text) ?? DEFAULT_CONSOLE_HOST;
  if (!/^[A-Za-z0-9.-]{1,253}$/.test(host)) {
    throw new UsageError(
      `--host must be a host name or IPv4 address (e.g. 127.0.0.1, localhost); got ${JSON.stringify(host)}`,
    );
  }
  return host;
}
