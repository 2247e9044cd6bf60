import { queueDepth } from '../../../tools/stack/stack-queries';
import { eventually } from '../../../tools/wait';
import type { Stack } from './aws';

/**
 * Waits until the consumer's queue has drained: nothing visible and nothing in flight, at two reads in a row. An
 * absence checked after it ("this message was not applied") is then not a message still travelling — unlike one
 * checked after a fixed sleep.
 */
export async function queueDrained(s: Stack, timeoutMs = 60_000): Promise<void> {
  let emptyReads = 0;
  await eventually(
    'the queue to drain',
    async () => {
      const depth = await queueDepth(s, s.outputs.QueueUrl);
      emptyReads = depth.visible + depth.inFlight === 0 ? emptyReads + 1 : 0;
      return emptyReads >= 2 ? true : undefined;
    },
    timeoutMs,
  );
}
