import type { TestProject } from 'vitest/node';
import { deployToEmulator } from '../../../scripts/local/deploy';
import { type EmulatorHandle, startEmulator, stopEmulator } from '../../../scripts/local/emulator';
import type { StackOutputs } from '../../../tools/stack/outputs';

declare module 'vitest' {
  export interface ProvidedContext {
    outputs: StackOutputs;
    endpoint: string;
  }
}

let emulator: EmulatorHandle | undefined;

/** Starts the emulator (unless AWS_ENDPOINT_URL names one), deploys the stack once, and shares its outputs. */
export async function setup(project: TestProject): Promise<void> {
  const started = Date.now();
  emulator = await startEmulator();
  const outputs = await deployToEmulator(emulator.endpoint, { quiet: true, faults: true });
  process.stderr.write(
    `[integration] emulator ready and stack deployed in ${((Date.now() - started) / 1000).toFixed(1)} s\n`,
  );
  project.provide('outputs', outputs);
  project.provide('endpoint', emulator.endpoint);
}

/** Stops the emulator if this run started it (by its PID). */
export async function teardown(): Promise<void> {
  if (emulator?.startedHere) await stopEmulator();
}
