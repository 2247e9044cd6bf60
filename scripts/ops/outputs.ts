import { readFileSync } from 'node:fs';
import {
  CloudFormationClient,
  DescribeStacksCommand,
  type DescribeStacksCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { outputsFile, STACK_NAME, type StackOutputs } from '../local/deploy';
import { OutputsNotFoundError } from './errors';
import { outputsFromResourceRoles } from './stack-resources';

/**
 * The outputs every ops command relies on: the library's resources, as outputs of these names or found by their
 * role (`outputsFromResourceRoles`). The reference application's `ApiUrl` and `OrdersTableName` are needed only by
 * `load` and `reconcile`.
 */
export const REQUIRED_OUTPUTS = [
  'OutboxTableName',
  'InboxTableName',
  'QueueUrl',
  'DeadLetterQueueUrl',
  'AlertTopicArn',
] as const;

export const DEFAULT_EMULATOR_ENDPOINT = 'http://127.0.0.1:4566';

/** Where the outputs come from: the CLI's `--stack`, `--outputs`, `--region`, `--endpoint`. */
export interface TargetOptions {
  readonly stack?: string;
  readonly region?: string;
  readonly outputs?: string;
  readonly endpoint?: string;
}

/** The stack the commands act on, and how to reach its services. */
export interface Target {
  readonly stackName: string;
  readonly outputs: StackOutputs;
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
  readonly cloudFormation: (config: { region?: string; endpoint?: string }) => CloudFormationClient;
}

/** Checks that `record` has every required output, and returns it as the stack's outputs. */
export function checkOutputs(record: Readonly<Record<string, unknown>>, where: string): StackOutputs {
  const missing = REQUIRED_OUTPUTS.filter((name) => typeof record[name] !== 'string' || record[name] === '');
  if (missing.length > 0) {
    throw new OutputsNotFoundError(
      `${where} lacks the output${missing.length === 1 ? '' : 's'} ${missing.join(', ')} ` +
        `(is it a ${STACK_NAME} stack of this project?)`,
    );
  }
  return { ApiUrl: '', OrdersTableName: '', ...record } as unknown as StackOutputs;
}

/**
 * The outputs in a JSON file: `cdk deploy --outputs-file`'s `{ "<stack>": { ... } }` (the named stack, or the only
 * one), or a flat `{ "ApiUrl": ..., ... }`.
 */
export function outputsFromJson(
  text: string,
  where: string,
  stackName?: string,
): { stackName: string; outputs: StackOutputs } {
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
    return { stackName: stackName ?? STACK_NAME, outputs: checkOutputs(record, where) };
  const stacks = Object.keys(record).filter((key) => typeof record[key] === 'object' && record[key] !== null);
  const chosen =
    stackName ?? (stacks.includes(STACK_NAME) ? STACK_NAME : stacks.length === 1 ? stacks[0] : undefined);
  if (chosen === undefined || !stacks.includes(chosen)) {
    throw new OutputsNotFoundError(
      stacks.length === 0
        ? `${where} holds no stack outputs`
        : `${where} has no outputs of ${chosen ?? STACK_NAME}; it has: ${stacks.join(', ')}`,
    );
  }
  return {
    stackName: chosen,
    outputs: checkOutputs(record[chosen] as Record<string, unknown>, `${where} (${chosen})`),
  };
}

/** A deployed stack's outputs, read with CloudFormation DescribeStacks. */
export async function outputsFromStack(
  cloudFormation: CloudFormationClient,
  stackName: string,
  where = `stack ${stackName}`,
): Promise<StackOutputs> {
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
  // A stack of the user's own, built with the constructs: its library resources by their role.
  const discovered = REQUIRED_OUTPUTS.every((name) => name in outputs)
    ? {}
    : await outputsFromResourceRoles(cloudFormation, stackName, where, new Set(Object.keys(outputs)));
  const found = { ...discovered, ...outputs };
  if (Object.keys(found).length === 0) {
    throw new OutputsNotFoundError(
      `${where} has no outputs (status ${stack.StackStatus ?? 'unknown'}) and no resources marked with a role`,
    );
  }
  return checkOutputs(found, where);
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
 * - neither: `.local/outputs.json` (what `npm start` wrote) and the local emulator (or AWS_ENDPOINT_URL).
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
    const where = `stack ${options.stack}${region === undefined ? '' : ` in ${region}`}`;
    const client = deps.cloudFormation({
      ...(region === undefined ? {} : { region }),
      ...(explicitEndpoint === undefined ? {} : { endpoint: explicitEndpoint }),
    });
    const outputs = await outputsFromStack(client, options.stack, where);
    return { stackName: options.stack, outputs, endpoint: explicitEndpoint, region, source: where };
  }
  const file = options.outputs ?? outputsFile;
  let text: string;
  try {
    text = deps.readFile(file);
  } catch (error) {
    throw new OutputsNotFoundError(
      options.outputs === undefined
        ? `no outputs at ${file}: deploy locally with \`npm start\`, or name a stack deployed to AWS with ` +
            '--stack NAME [--region R], or an outputs file with --outputs FILE'
        : `cannot read the outputs file ${file}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  const { stackName, outputs } = outputsFromJson(text, file);
  const endpoint =
    explicitEndpoint ??
    envEndpoint ??
    (options.outputs === undefined ? DEFAULT_EMULATOR_ENDPOINT : emulatorEndpointOf(outputs.ApiUrl));
  return {
    stackName,
    outputs,
    endpoint,
    region: region ?? (endpoint === undefined ? undefined : 'us-east-1'),
    source: file,
  };
}

/** The real dependencies: process environment, the file system, a CloudFormation client. */
export function defaultTargetDependencies(): TargetDependencies {
  return {
    env: process.env,
    readFile: (path) => readFileSync(path, 'utf8'),
    cloudFormation: (config) => new CloudFormationClient(config),
  };
}
