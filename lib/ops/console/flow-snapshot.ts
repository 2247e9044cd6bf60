import { type StatusReport, status } from '../commands';
import type { OpsConnection as Connection } from '../connection';
import { queueDepth } from '../queue-depth';

/** What the flow picture shows: `ops status`, and the relay's failure queue beside it. */
export interface FlowSnapshot extends StatusReport {
  readonly stackName: string;
  readonly readAt: string;
  /** The relay's on-failure destination (stream records it gave up on); null when the stack names none. */
  readonly relayFailureQueue: { readonly visible: number; readonly inFlight: number } | null;
}

/**
 * Reads the flow's counts and ages, and every alarm's state, the way `ops status [--group G]` does: every consumer
 * group's stages (the first group's also at the top level), or only G's.
 */
export async function flowSnapshot(
  c: Connection,
  stackName: string,
  now = new Date(),
  groupName?: string,
): Promise<FlowSnapshot> {
  const report = await status(c, now, stackName, groupName);
  const relayFailureQueueUrl = c.outputs.RelayFailureQueueUrl as string | undefined;
  return {
    stackName,
    readAt: now.toISOString(),
    ...report,
    relayFailureQueue:
      relayFailureQueueUrl === undefined || relayFailureQueueUrl === ''
        ? null
        : await queueDepth(c, relayFailureQueueUrl),
  };
}
