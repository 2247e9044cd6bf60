import { spawn } from 'node:child_process';
import { type DeployedStack, describeStack } from './deployed-stack';
import { emulatorEnvironment } from './emulator-environment';

export interface DeployStackOptions {
  /** The stack to deploy, as the CDK app names it (e.g. `ShopMessaging`). */
  readonly stackName: string;
  /** The emulator's endpoint (a {@link LocalEmulator}'s `endpoint`). */
  readonly endpoint: string;
  /**
   * The CDK app's directory (where its cdk.json is).
   * @default the current directory
   */
  readonly appDirectory?: string;
  /**
   * The command that runs the CDK CLI, then its arguments.
   * @default ['npx', 'cdk'] (the app's own aws-cdk)
   */
  readonly cdkCommand?: readonly string[];
  /**
   * Show the CDK CLI's output as it runs (else only when it fails).
   * @default false
   */
  readonly verbose?: boolean;
  /**
   * Environment of the CDK CLI (the emulator's endpoint, credentials and region are added to it).
   * @default process.env
   */
  readonly env?: NodeJS.ProcessEnv;
}

/** The CDK CLI failed: its exit code and the end of its output. */
export class CdkCommandError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CdkCommandError';
  }
}

function runCdk(
  command: readonly string[],
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  verbose: boolean,
): Promise<void> {
  const [program, ...programArgs] = command;
  if (program === undefined) throw new RangeError('cdkCommand must name a program; got []');
  return new Promise((resolve, reject) => {
    const child = spawn(program, [...programArgs, ...args], {
      cwd,
      env,
      stdio: ['ignore', verbose ? 'inherit' : 'pipe', verbose ? 'inherit' : 'pipe'],
    });
    let output = '';
    const keep = (chunk: Buffer) => {
      output = `${output}${chunk.toString()}`.slice(-8000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (error) =>
      reject(new CdkCommandError(`${command.join(' ')} ${args.join(' ')} did not start`, { cause: error })),
    );
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else
        reject(
          new CdkCommandError(
            `${command.join(' ')} ${args.join(' ')} failed (exit ${code ?? signal}) in ${cwd}\n${output}`,
          ),
        );
    });
  });
}

/**
 * Deploys one stack of a CDK app to an emulator as a user would: `cdk synth`, `cdk bootstrap --app cdk.out` and
 * `cdk deploy <stack> --app cdk.out --require-approval never` (the app runs once), with `AWS_ENDPOINT_URL`, test credentials and a region. Resolves to
 * the deployed stack: its outputs and its resources (logical ID, physical ID, type, construct path).
 */
export async function deployStack(options: DeployStackOptions): Promise<DeployedStack> {
  const cwd = options.appDirectory ?? process.cwd();
  const command = options.cdkCommand ?? ['npx', 'cdk'];
  const verbose = options.verbose ?? false;
  const env = emulatorEnvironment(options.endpoint, options.env ?? process.env);
  // One synth (the app runs once), then bootstrap and deploy from its cloud assembly.
  await runCdk(command, ['synth', '--quiet', '--no-notices'], cwd, env, verbose);
  await runCdk(command, ['bootstrap', '--app', 'cdk.out', '--no-notices'], cwd, env, verbose);
  await runCdk(
    command,
    ['deploy', options.stackName, '--app', 'cdk.out', '--require-approval', 'never', '--no-notices'],
    cwd,
    env,
    verbose,
  );
  return describeStack({ stackName: options.stackName, endpoint: options.endpoint, region: env.AWS_REGION });
}
