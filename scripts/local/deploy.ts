import { spawn } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../tools/paths';
import { outputsFile, readOutputs, STACK_NAME, type StackOutputs } from '../../tools/stack/outputs';

const cloudAssemblyDir = path.join(projectRoot, 'cdk.out.emulator');

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
