import { processPartialResponse, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Some emulators leave `MessageGroupId` out of SQS event records. The relay puts the key in every body
 * (`groupKey`), so fill the attribute from there when it is missing; Powertools' FIFO processor needs it
 * to fail only the rest of the failed record's group.
 */
export function withGroupIds(event: SQSEvent): SQSEvent {
  return {
    Records: event.Records.map((record) => {
      if (record.attributes.MessageGroupId) return record;
      return { ...record, attributes: { ...record.attributes, MessageGroupId: groupKeyOf(record) } };
    }),
  };
}

function groupKeyOf(record: SQSRecord): string {
  try {
    const body = JSON.parse(record.body) as { groupKey?: unknown };
    if (typeof body.groupKey === 'string' && body.groupKey !== '') return body.groupKey;
  } catch {
    // not JSON: the record handler rejects it; give it a group of its own
  }
  return `message:${record.messageId}`;
}

/**
 * Processes a FIFO queue batch record by record, in order, with a partial batch response (design invariant 5):
 * a record is acknowledged only if its handler resolved; when one fails, every later record of the same
 * message group in the batch is reported failed too (they are not even attempted), other groups go on.
 */
export async function processFifoBatch(
  event: SQSEvent,
  recordHandler: (record: SQSRecord) => Promise<void>,
  context: Context,
): Promise<SQSBatchResponse> {
  const processor = new SqsFifoPartialProcessorAsync();
  return processPartialResponse(withGroupIds(event), recordHandler, processor, {
    context,
    skipGroupOnError: true,
    // Every record failing is a normal partial response, not a Lambda error (which would look like a bug).
    throwOnFullBatchFailure: false,
  });
}
