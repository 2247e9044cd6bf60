import {
  DEFAULT_EMULATOR_PORT,
  installMiniStack,
  isEmulatorHealthy,
  startLocalEmulator,
  stopLocalEmulator,
} from '../../lib/testing/local-emulator';
import { localDir } from '../../tools/paths';

/** The project's emulator (`npm start`, `npm test`): the library's local emulator, its files under .local/. */
export { MINISTACK_VERSION } from '../../lib/testing/local-emulator';
export const DEFAULT_PORT = DEFAULT_EMULATOR_PORT;

export interface EmulatorHandle {
  /** Base URL of the emulator. */
  readonly endpoint: string;
  /** True when this process started it (and so should stop it). */
  readonly startedHere: boolean;
}

/** Installs the pinned MiniStack into .local/venv unless it is there already. */
export function ensureInstalled(): void {
  installMiniStack(localDir);
}

export const isHealthy = isEmulatorHealthy;

/**
 * The emulator to use: `AWS_ENDPOINT_URL` when set (LocalStack or another MiniStack, left as it is); else a MiniStack
 * on 127.0.0.1:<port>, installed and started here when none is running, its PID in .local/ministack-<port>.pid.
 */
export async function startEmulator(port = DEFAULT_PORT): Promise<EmulatorHandle> {
  const { endpoint, startedHere } = await startLocalEmulator({ port, directory: localDir });
  return { endpoint, startedHere };
}

/** Stops the MiniStack on `port` this project started (by the PID in .local/), if any. Returns whether one was. */
export function stopEmulator(port = DEFAULT_PORT): Promise<boolean> {
  return stopLocalEmulator({ port, directory: localDir });
}
