import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

/**
 * FOR BENCHMARKS ONLY (the RawConsumerProbe construct): the cheapest consumer an SQS FIFO event source mapping can
 * invoke — it accepts every record and touches nothing. `npm run bench` feeds its queue directly to measure how fast
 * the event source mapping alone drains a FIFO queue on this machine (`rawConsumerPerSecond`).
 */
export const handler = async (_event: SQSEvent): Promise<SQSBatchResponse> => ({ batchItemFailures: [] });
