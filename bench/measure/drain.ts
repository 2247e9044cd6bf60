import { ListEventSourceMappingsCommand, UpdateEventSourceMappingCommand } from '@aws-sdk/client-lambda';
import type { Connection } from '../../tools/stack/stack-control';
import { queueDepth } from '../../tools/stack/stack-queries';
import { commitTraffic, waitApplied } from './traffic';

export interface DrainResult {
  readonly maxConcurrency: number;
  readonly backlog: number;
  readonly seconds: number;
  readonly perSecond: number;
}

/**
 * Backlog drain: with the consumer's event source paused, `backlog` messages pile up in the queue; then it resumes
 * with `maxConcurrency` and the time until every message is applied is measured. Restores the original setting.
 */
export async function measureDrain(
  c: Connection,
  backlog: number,
  keys: number,
  maxConcurrency: number,
): Promise<DrainResult> {
  const mappings = await c.lambda.send(
    new ListEventSourceMappingsCommand({ FunctionName: c.outputs.ConsumerFunctionName }),
  );
  const mapping = mappings.EventSourceMappings?.find(
    (m) => m.EventSourceArn?.includes(':sqs:') || m.EventSourceArn?.includes('sqs'),
  );
  if (mapping?.UUID === undefined) throw new Error('the consumer has no SQS event source mapping');
  const original = mapping.ScalingConfig?.MaximumConcurrency;
  await c.lambda.send(
    new UpdateEventSourceMappingCommand({
      UUID: mapping.UUID,
      Enabled: false,
      ScalingConfig: { MaximumConcurrency: maxConcurrency },
    }),
  );
  try {
    const traffic = await commitTraffic(c, keys, Math.max(1, Math.floor(backlog / keys)), 16);
    const total = traffic.keys.length * traffic.perKey;
    // Wait for the relay to put the whole backlog in the queue.
    const deadline = Date.now() + 300_000;
    while ((await queueDepth(c, c.outputs.QueueUrl)).visible < total && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const started = Date.now();
    await c.lambda.send(new UpdateEventSourceMappingCommand({ UUID: mapping.UUID, Enabled: true }));
    const finished = await waitApplied(c, traffic);
    const seconds = (finished - started) / 1000;
    return {
      maxConcurrency,
      backlog: total,
      seconds: Math.round(seconds * 10) / 10,
      perSecond: Math.round(total / seconds),
    };
  } finally {
    await c.lambda.send(
      new UpdateEventSourceMappingCommand({
        UUID: mapping.UUID,
        Enabled: true,
        ...(original === undefined ? {} : { ScalingConfig: { MaximumConcurrency: original } }),
      }),
    );
  }
}
