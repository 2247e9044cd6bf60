import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { localDir, projectRoot } from './paths';

export const STACK_NAME = 'ReliableMessagingDemo';
export const outputsFile = path.join(localDir, 'outputs.json');
const cloudAssemblyDir = path.join(projectRoot, 'cdk.out.emulator');

/** The stack outputs of design.md's contract (and the extra ones this stack adds). */
export interface StackOutputs {
  readonly ApiUrl: string;
  /** Only in emulator stacks: the same API with IAM (SigV4) authorization, as deployed to AWS. */
  readonly SignedApiUrl?: string;
  readonly OrdersTableName: string;
  readonly OutboxTableName: string;
  readonly InboxTableName: string;
  readonly ProjectionTableName: string;
  readonly QueueUrl: string;
  readonly DeadLetterQueueUrl: string;
  readonly AlertTopicArn: string;
  /** The consumer groups (fan-out): the events topic, and the audit and shipping groups' resources. */
  readonly EventsTopicArn: string;
  readonly AuditTableName: string;
  readonly AuditQueueUrl: string;
  readonly AuditDeadLetterQueueUrl: string;
  readonly AuditInboxTableName: string;
  readonly AuditConsumerFunctionName: string;
  readonly ShippingTableName: string;
  readonly ShippingQueueUrl: string;
  readonly ShippingDeadLetterQueueUrl: string;
  readonly ShippingInboxTableName: string;
  readonly ShippingConsumerFunctionName: string;
  readonly RelayFailureQueueUrl: string;
  readonly RelayFunctionName: string;
  readonly SweeperFunctionName: string;
  readonly ConsumerFunctionName: string;
  readonly DashboardName: string;
  readonly ApiFunctionName: string;
  /** Only in local stacks built with unit accounting (the bench's naive baseline). */
  readonly NaiveQueueUrl?: string;
  readonly NaiveTableName?: string;
  readonly NaiveConsumerFunctionName?: string;
  /** Only in local stacks built with unit accounting (the bench's lean pipeline). */
  readonly LeanOutboxTableName?: string;
  readonly LeanBusinessTableName?: string;
  readonly LeanViewTableName?: string;
  readonly LeanRelayFunctionName?: string;
  readonly LeanConsumerFunctionName?: string;
  /** Only in local stacks built with unit accounting (the bench's raw consumer probe). */
  readonly RawConsumerQueueUrl?: string;
  readonly RawConsumerFunctionName?: string;
  readonly PaymentsTableName: string;
  readonly IdempotencyTableName: string;
  readonly CheckBackFunctionName: string;
  /** Only in a stack deployed with fault injection. */
  readonly FaultsParameterName?: string;
}

export interface DeployOptions {
  /** Hide the CDK CLI's output (shown only if it fails). */
  readonly quiet?: boolean;
  /** Deploy the TEST stack: fault-injection kit and short recovery timings. */
  readonly faults?: boolean;
}

/** Environment for the AWS SDK and the CDK CLI against an emulator: test credentials, a region, the endpoint. */
export function emulatorEnvironment(endpoint: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? 'test',
    AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
    AWS_REGION: process.env.AWS_REGION ?? 'us-east-1',
    AWS_DEFAULT_REGION: process.env.AWS_REGION ?? 'us-east-1',
    CDK_DISABLE_VERSION_CHECK: '1',
    CDK_DISABLE_CLI_TELEMETRY: 'true',
  };
}

function cdk(args: readonly string[], env: NodeJS.ProcessEnv, quiet: boolean): Promise<void> {
  const cli = path.join(projectRoot, 'node_modules', 'aws-cdk', 'bin', 'cdk');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], {
      cwd: projectRoot,
      env,
      stdio: quiet ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`cdk ${args.join(' ')} failed (exit ${code})\n${output.slice(-6000)}`));
    });
  });
}

/**
 * Synthesizes the app for the emulator at `endpoint`, bootstraps the emulator and deploys the stack.
 * Returns the stack outputs (also written to .local/outputs.json).
 */
export async function deployToEmulator(endpoint: string, options: DeployOptions = {}): Promise<StackOutputs> {
  const env = emulatorEnvironment(endpoint);
  const quiet = options.quiet ?? false;
  const context = ['-c', `emulatorEndpoint=${endpoint}`, '-c', `faults=${options.faults === true}`];
  await cdk(['synth', '--quiet', ...context, '--output', cloudAssemblyDir], env, quiet);
  await cdk(['bootstrap', '--app', cloudAssemblyDir, '--quiet'], env, quiet);
  await cdk(
    [
      'deploy',
      STACK_NAME,
      '--app',
      cloudAssemblyDir,
      '--require-approval',
      'never',
      '--outputs-file',
      outputsFile,
    ],
    env,
    quiet,
  );
  return readOutputs();
}

export function readOutputs(): StackOutputs {
  const all = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, StackOutputs>;
  const outputs = all[STACK_NAME];
  if (outputs === undefined) throw new Error(`${outputsFile} has no outputs of ${STACK_NAME}`);
  return outputs;
}
