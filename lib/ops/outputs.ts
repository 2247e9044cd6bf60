import { readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import type { CursorTableAttributes, ProducerTableAttributes } from '../constructs/resource-roles';
import { type ClientConfig, clientConfig, type OpsOutputs } from './connection';
import {
  type ConsumerGroupTarget,
  completeGroup,
  groupsFromOutputs,
  mergeGroups,
  type PartialGroup,
} from './consumer-groups';
import {
  type CursorTable,
  CursorTableAmbiguousError,
  type CursorTableChoice,
  chooseCursorTable,
} from './cursor-table';
import { OutputsNotFoundError, UsageError } from './errors';
import { chooseProducerTable, type ProducerTable } from './producer-table';
import { type StackRoles, stackRoles } from './stack-resources';

/**
 * The outputs every ops command relies on: the library's resources, as outputs of these names or found by their
 * role (`outputsFromResourceRoles`). `reconcile` also needs the producer's table (see producer-table.ts).
 */
export const REQUIRED_OUTPUTS = [
  'OutboxTableName',
  'InboxTableName',
  'QueueUrl',
  'DeadLetterQueueUrl',
  'AlertTopicArn',
] as const;

export const DEFAULT_EMULATOR_ENDPOINT = 'http://127.0.0.1:4566';

/** The producer's table as the command line gives it (`--producer-table`, `--key-attribute`, `--sequence-attribute`). */
export interface ProducerTableOption extends ProducerTableAttributes {
  readonly tableName: string;
}

/** The consumer's cursor table as the command line gives it (`--cursor-table`, `--cursor-key-attribute`). */
export interface CursorTableOption extends CursorTableAttributes {
  readonly tableName: string;
}

/**
 * Where the outputs come from: the CLI's `--stack`, `--outputs`, `--region`, `--endpoint` (and `--producer-table`,
 * `--cursor-table`).
 */
export interface TargetOptions {
  readonly stack?: string;
  readonly region?: string;
  readonly outputs?: string;
  readonly endpoint?: string;
  readonly producerTable?: ProducerTableOption;
  readonly cursorTable?: CursorTableOption;
  /** `--group NAME`: the consumer group `--cursor-table` is the cursor table of. @default the only (or first) group */
  readonly group?: string;
}

/** The stack the commands act on, and how to reach its services. */
export interface Target {
  readonly stackName: string;
  readonly outputs: OpsOutputs;
  /** The producer's table `reconcile` reads (command line > output OrdersTableName > template metadata). */
  readonly producerTable: ProducerTable | undefined;
  /**
   * The consumer's cursor table reconcile (and replay) read (command line > template metadata); undefined: the
   * inbox table's cursor items.
   */
  readonly cursorTable: CursorTableChoice;
  /**
   * The stack's consumer groups, the first one first (its queue, dead-letter queue and inbox are also the outputs'
   * `QueueUrl`, `DeadLetterQueueUrl`, `InboxTableName`); one, unnamed, for a stack with a single queue.
   * @default one unnamed group: the outputs' queue, dead-letter queue and inbox
   */
  readonly groups?: readonly ConsumerGroupTarget[];
  /** The services' endpoint; undefined = AWS through the SDK's defaults (credential chain, region). */
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  /** Where the outputs came from, for messages. */
  readonly source: string;
}

export interface TargetDependencies {
  readonly env: NodeJS.ProcessEnv;
  readonly readFile: (path: string) => string;
  /** A CloudFormation client for `--stack` (default credential chain; endpoint only when given). */
  readonly cloudFormation: (config: ClientConfig) => CloudFormationClient;
  /**
   * What neither `--stack` nor `--outputs` means (the repository's tools: the outputs `npm start` wrote, on the local
   * emulator). @default none: the shipped CLI asks for `--stack NAME` or `--outputs FILE`
   */
  readonly localDefault?: LocalDefault;
}

/** A development checkout's default target: an outputs file its deploy script writes, served by the local emulator. */
export interface LocalDefault {
  readonly outputsFile: string;
  /** The stack to read in that file when it holds several. */
  readonly stackName: string;
  /** How to make the file, for the message when it is missing (e.g. "deploy locally with `npm start`"). */
  readonly howToDeploy: string;
}

/** The shipped CLI's words for naming a stack, for messages. */
export const NAME_A_STACK =
  'name the stack with --stack NAME [--region R] (add --endpoint URL or AWS_ENDPOINT_URL for an emulator), ' +
  'or give its outputs with --outputs FILE';

/** Checks that `record` has every required output, and returns it as the stack's outputs. */
export function checkOutputs(record: Readonly<Record<string, unknown>>, where: string): OpsOutputs {
  const missing = REQUIRED_OUTPUTS.filter((name) => typeof record[name] !== 'string' || record[name] === '');
  if (missing.length > 0) {
    throw new OutputsNotFoundError(
      `${where} lacks the output${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ` +
        '(is it a stack built with reliable-messaging-serverless, deployed with this version?)',
    );
  }
  return record as unknown as OpsOutputs;
}

/**
 * The outputs in a JSON file: `cdk deploy --outputs-file`'s `{ "<stack>": { ... } }` (the named stack, else
 * `preferred` when the file has it, else the only one), or a flat `{ "OutboxTableName": ..., ... }` (named
 * `stackName ?? preferred ?? 'stack'`).
 */
export function outputsFromJson(
  text: string,
  where: string,
  stackName?: string,
  preferred?: string,
): { stackName: string; outputs: OpsOutputs } {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new OutputsNotFoundError(`${where} is not JSON`, { cause: error });
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new OutputsNotFoundError(`${where} holds no object of stack outputs`);
  }
  const record = json as Record<string, unknown>;
  if ('ApiUrl' in record || 'OutboxTableName' in record)
    return { stackName: stackName ?? preferred ?? 'stack', outputs: checkOutputs(record, where) };
  const stacks = Object.keys(record).filter((key) => typeof record[key] === 'object' && record[key] !== null);
  const chosen =
    stackName ??
    (preferred !== undefined && stacks.includes(preferred)
      ? preferred
      : stacks.length === 1
        ? stacks[0]
        : undefined);
  if (chosen === undefined || !stacks.includes(chosen)) {
    throw new OutputsNotFoundError(
      stacks.length === 0
        ? `${where} holds no stack outputs`
        : chosen === undefined && preferred === undefined
          ? `${where} holds the outputs of several stacks (${stacks.join(', ')}): name one with --stack NAME`
          : `${where} has no outputs of ${chosen ?? preferred}; it has: ${stacks.join(', ')}`,
    );
  }
  return {
    stackName: chosen,
    outputs: checkOutputs(record[chosen] as Record<string, unknown>, `${where} (${chosen})`),
  };
}

/** A deployed stack's outputs, read with CloudFormation DescribeStacks (and its template's roles when it needs them). */
export async function outputsFromStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
  where = `stack ${stackName}`,
): Promise<OpsOutputs> {
  return (await readStack(cloudFormation, stackName, where)).outputs;
}

/**
 * A deployed stack's outputs and the producer and cursor tables its template declares: the outputs by
 * DescribeStacks; the template is read (GetTemplate, ListStackResources) for the library's resources a stack of the
 * user's own has as no output, and for the producer and cursor tables — unless the outputs are the reference
 * application's (every library output and `OrdersTableName`; it keeps its cursors in the inbox). Several tables
 * marked cursor-table: an error that the commands which read cursors raise.
 */
export async function readStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
  where = `stack ${stackName}`,
): Promise<{
  outputs: OpsOutputs;
  declaredProducerTable: ProducerTable | undefined;
  declaredCursorTable: CursorTableChoice;
  /** The consumer groups, before the command line's cursor table (see `resolveTarget`). */
  groups: readonly ConsumerGroupTarget[];
}> {
  let response: DescribeStacksCommandOutput;
  try {
    response = await cloudFormation.send(new DescribeStacksCommand({ StackName: stackName }));
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/does not exist/i.test(message)) {
      throw new OutputsNotFoundError(`${where} does not exist (DescribeStacks: ${message})`, {
        cause: error,
      });
    }
    throw new OutputsNotFoundError(`could not read ${where}: ${message}`, { cause: error });
  }
  const stack = response.Stacks?.[0];
  if (stack === undefined)
    throw new OutputsNotFoundError(`${where} does not exist (DescribeStacks found none)`);
  const outputs = Object.fromEntries(
    (stack.Outputs ?? [])
      .filter((output) => output.OutputKey !== undefined && output.OutputValue !== undefined)
      .map((output) => [output.OutputKey!, output.OutputValue!]),
  );
  // A stack of the user's own, built with the constructs: its library resources by their role. The reference
  // application's outputs name them all — unless it fans out to consumer groups (their names are in the template).
  const roles: StackRoles =
    REQUIRED_OUTPUTS.every((name) => name in outputs) &&
    'OrdersTableName' in outputs &&
    !('EventsTopicArn' in outputs)
      ? { outputs: {} }
      : await stackRoles(cloudFormation, stackName, where, new Set(Object.keys(outputs)));
  const found: Record<string, string> = { ...roles.outputs, ...outputs };
  if (Object.keys(found).length === 0 && (roles.groups ?? []).length === 0) {
    throw new OutputsNotFoundError(
      `${where} has no outputs (status ${stack.StackStatus ?? 'unknown'}) and no resources marked with a role`,
    );
  }
  const producerTableName = found.ProducerTableName;
  const cursorTableName = found.CursorTableName;
  const declaredCursorTable: CursorTableChoice =
    roles.cursorTables !== undefined
      ? new CursorTableAmbiguousError(where, roles.cursorTables)
      : cursorTableName === undefined || roles.cursorTableAttributes === undefined
        ? undefined
        : {
            tableName: cursorTableName,
            ...roles.cursorTableAttributes,
            source: `${where}: the table marked cursor-table`,
          };
  // A stack of a single unnamed group: its outputs checked as ever (naming the outputs it lacks).
  if ((roles.groups ?? []).length === 0) checkOutputs(found, where);
  const groups = checkGroups(mergeGroups(roles.groups ?? [], found), declaredCursorTable, where);
  return {
    outputs: checkOutputs(withFirstGroup(found, groups), where),
    groups,
    declaredProducerTable:
      producerTableName === undefined || roles.producerTableAttributes === undefined
        ? undefined
        : {
            tableName: producerTableName,
            ...roles.producerTableAttributes,
            source: `${where}: the table marked producer-table`,
          },
    declaredCursorTable,
  };
}

/**
 * The groups checked complete, none twice: the first one (the unprefixed outputs' or the unnamed resources') gets
 * `firstCursorTable` unless its metadata says where its cursors are; the others their own, else their inbox.
 */
function checkGroups(
  groups: readonly PartialGroup[],
  firstCursorTable: CursorTableChoice,
  where: string,
): ConsumerGroupTarget[] {
  const checked = groups.map((group, index) =>
    completeGroup(
      group,
      index === 0 ? firstCursorTable : undefined,
      (message) => new OutputsNotFoundError(`${where}: ${message}`),
    ),
  );
  const names = checked.map((group) => group.name);
  const twice = names.find((name, index) => names.indexOf(name) !== index);
  if (twice !== undefined) {
    throw new OutputsNotFoundError(`${where} has two consumer groups named ${twice} (${names.join(', ')})`);
  }
  return checked;
}

/** The outputs, with the first group's queue, dead-letter queue and inbox where they name none. */
function withFirstGroup(
  found: Readonly<Record<string, string>>,
  groups: readonly ConsumerGroupTarget[],
): Record<string, string> {
  const first = groups[0];
  if (first === undefined) return { ...found };
  return {
    QueueUrl: first.queueUrl,
    DeadLetterQueueUrl: first.deadLetterQueueUrl,
    InboxTableName: first.inboxTableName,
    ...(first.consumerFunctionName === undefined ? {} : { ConsumerFunctionName: first.consumerFunctionName }),
    ...found,
  };
}

/**
 * The command line's cursor table (`--cursor-table`) given to the group `--group` names, else to the only group;
 * UsageError when the stack has several groups and `--group` names none.
 */
function withCommandLineCursorTable(
  groups: readonly ConsumerGroupTarget[],
  cursorTable: CursorTable | undefined,
  groupName: string | undefined,
): readonly ConsumerGroupTarget[] {
  if (cursorTable === undefined) return groups;
  const index =
    groupName === undefined ? (groups.length > 1 ? -1 : 0) : groups.findIndex((g) => g.name === groupName);
  if (index < 0) {
    if (groupName !== undefined) return groups; // the command says the group is unknown
    throw new UsageError(
      `--cursor-table names one consumer group's cursors and the stack has ${groups.length} groups: add --group NAME ` +
        `(${groups.map((group) => group.name).join(', ')})`,
    );
  }
  return groups.map((group, at) => (at === index ? { ...group, cursorTable } : group));
}

/** The emulator's endpoint when `apiUrl` is an emulator's API URL (`http://host:port/_aws/execute-api/…`). */
export function emulatorEndpointOf(apiUrl: string): string | undefined {
  try {
    const url = new URL(apiUrl);
    return url.pathname.startsWith('/_aws/execute-api/') ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

const trimSlash = (url: string) => url.replace(/\/+$/, '');

/**
 * Resolves where the commands act:
 * - `--stack NAME [--region R]`: its outputs from CloudFormation, services on AWS (default credential chain);
 * - `--outputs FILE`: the outputs in the file; services at `--endpoint`, AWS_ENDPOINT_URL, the emulator that serves
 *   the file's ApiUrl, or else AWS;
 * - neither: the `localDefault` (the repository's `.local/outputs.json` and the local emulator, or
 *   AWS_ENDPOINT_URL); without one, a UsageError asking for `--stack` or `--outputs`.
 * `--endpoint URL` overrides the services' endpoint in every case.
 */
export async function resolveTarget(options: TargetOptions, deps: TargetDependencies): Promise<Target> {
  const explicitEndpoint = options.endpoint === undefined ? undefined : trimSlash(options.endpoint);
  const envEndpoint =
    deps.env.AWS_ENDPOINT_URL === undefined || deps.env.AWS_ENDPOINT_URL === ''
      ? undefined
      : trimSlash(deps.env.AWS_ENDPOINT_URL);
  const region = options.region ?? deps.env.AWS_REGION ?? deps.env.AWS_DEFAULT_REGION;
  if (options.stack !== undefined) {
    // An emulator (--endpoint or AWS_ENDPOINT_URL): test credentials unless the environment has some, us-east-1.
    const endpoint = explicitEndpoint ?? envEndpoint;
    const stackRegion = region ?? (endpoint === undefined ? undefined : 'us-east-1');
    const where = `stack ${options.stack}${stackRegion === undefined ? '' : ` in ${stackRegion}`}`;
    const client = deps.cloudFormation(clientConfig(endpoint, stackRegion, deps.env));
    const { outputs, declaredProducerTable, declaredCursorTable, groups } = await readStack(
      client,
      options.stack,
      where,
    );
    const chosen = withCommandLineCursorTable(groups, commandLineCursorTable(options), options.group);
    return {
      groups: chosen,
      stackName: options.stack,
      outputs,
      producerTable: chooseProducerTable({
        commandLine: commandLineProducerTable(options),
        outputs,
        declared: declaredProducerTable,
      }),
      // The first group's (the one the outputs' QueueUrl and InboxTableName name).
      cursorTable:
        chosen.length > 0
          ? chosen[0]!.cursorTable
          : chooseCursorTable({
              commandLine: commandLineCursorTable(options),
              declared: declaredCursorTable,
            }),
      endpoint,
      region: stackRegion,
      source: where,
    };
  }
  const local = deps.localDefault;
  if (options.outputs === undefined && local === undefined) {
    throw new UsageError(`which stack? ${NAME_A_STACK}`);
  }
  const file = options.outputs ?? local!.outputsFile;
  let text: string;
  try {
    text = deps.readFile(file);
  } catch (error) {
    throw new OutputsNotFoundError(
      options.outputs === undefined
        ? `no outputs at ${file}: ${local!.howToDeploy}, or name a stack deployed to AWS with ` +
            '--stack NAME [--region R], or an outputs file with --outputs FILE'
        : `cannot read the outputs file ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const { stackName, outputs } = outputsFromJson(text, file, undefined, local?.stackName);
  const endpoint =
    explicitEndpoint ??
    envEndpoint ??
    (options.outputs === undefined ? DEFAULT_EMULATOR_ENDPOINT : emulatorEndpointOf(outputs.ApiUrl ?? ''));
  const fileRegion = region ?? (endpoint === undefined ? undefined : 'us-east-1');
  // A stack that fans out to consumer groups: the file's outputs cannot say where each group keeps its cursors (a
  // group's own cursor table is declared in the template only), so the template of the stack the file names is read.
  const declared =
    'EventsTopicArn' in outputs && stackName !== undefined
      ? await readStack(
          deps.cloudFormation(clientConfig(endpoint, fileRegion, deps.env)),
          stackName,
          `stack ${stackName} (its outputs in ${file} name an events topic: its consumer groups are in its template)`,
        )
      : undefined;
  const groups = withCommandLineCursorTable(
    declared?.groups ?? checkGroups(groupsFromOutputs(outputs), undefined, file),
    commandLineCursorTable(options),
    options.group,
  );
  return {
    stackName,
    outputs,
    groups,
    producerTable: chooseProducerTable({
      commandLine: commandLineProducerTable(options),
      outputs,
      declared: declared?.declaredProducerTable,
    }),
    cursorTable:
      groups.length > 0
        ? groups[0]!.cursorTable
        : chooseCursorTable({ commandLine: commandLineCursorTable(options) }),
    endpoint,
    region: fileRegion,
    source: file,
  };
}

function commandLineProducerTable(options: TargetOptions): ProducerTable | undefined {
  return options.producerTable === undefined
    ? undefined
    : { ...options.producerTable, source: 'the command line' };
}

function commandLineCursorTable(options: TargetOptions): CursorTable | undefined {
  return options.cursorTable === undefined
    ? undefined
    : { ...options.cursorTable, source: 'the command line' };
}

/** The real dependencies: process environment, the file system, a CloudFormation client (and `localDefault`). */
export function defaultTargetDependencies(localDefault?: LocalDefault): TargetDependencies {
  return {
    env: process.env,
    readFile: (path) => readFileSync(path, 'utf8'),
    cloudFormation: (config) => new CloudFormationClient(config),
    ...(localDefault === undefined ? {} : { localDefault }),
  };
}
