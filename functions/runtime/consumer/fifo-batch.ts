import { ReliableMessagingError } from '../errors';
import type { FifoBatchEvent, FifoBatchResponse, FifoRecord } from './fifo-records';

/**
 * Some emulators leave `MessageGroupId` out of SQS event records. The relay puts the key in every body
 * (`groupKey`), so fill the attribute from there when it is missing.
 */
export function withGroupIds<TRecord extends FifoRecord>(
  event: FifoBatchEvent<TRecord>,
): FifoBatchEvent<TRecord> {
  return {
    Records: event.Records.map((record) => {
      if (record.attributes.MessageGroupId) return record;
      return { ...record, attributes: { ...record.attributes, MessageGroupId: groupKeyOf(record) } };
    }),
  };
}

function groupKeyOf(record: FifoRecord): string {
  try {
    const body = JSON.parse(record.body) as { groupKey?: unknown };
    if (typeof body.groupKey === 'string' && body.groupKey !== '') return body.groupKey;
  } catch {
    // not JSON: the record handler rejects it; give it a group of its own
  }
  return `message:${record.messageId}`;
}

/** How a batch is processed within the invocation's time, and who is told of a failed record. */
export interface FifoBatchOptions<TRecord extends FifoRecord = FifoRecord> {
  /**
   * Milliseconds the invocation has left: give the Lambda context's, `() => context.getRemainingTimeInMillis()`.
   * Required: without it a record could start that runs into the function's timeout, and a timeout fails the WHOLE
   * batch — the records already applied included — so their redeliveries end in the dead-letter queue.
   */
  readonly remainingTimeMs: () => number;
  /**
   * No record starts with less than this many milliseconds left: it and the rest of its group are reported failed
   * (redelivered) instead, so the invocation ends before its timeout — a timeout fails the WHOLE batch, the records
   * already done included, and each such failure counts toward the queue's `maxReceiveCount` (the dead-letter queue).
   * @default 5000
   */
  readonly reserveMs?: number;
  /**
   * Told of each record that failed (its handler threw, or it was not started for lack of time: `OutOfTimeError`);
   * the records of its group after it are reported failed without being run, and without being told here.
   * @default nothing
   */
  readonly onFailed?: (record: TRecord, error: unknown) => void;
}

/**
 * What a record handler may know of the batch's time: pass it to `IdempotentConsumer.consume`, whose
 * in-process retries then stay inside the same reserve (no retry starts with less than `reserveMs` left).
 */
export interface FifoRecordContext {
  /** Milliseconds the invocation has left. */
  readonly remainingTimeMs: () => number;
  /** The batch's reserve: no record (and no retry of one) starts with less than this left. */
  readonly reserveMs: number;
}

/** A record not started: the invocation had too little time left. */
export class OutOfTimeError extends ReliableMessagingError {
  constructor(remainingMs: number, reserveMs: number) {
    super(`not started: ${remainingMs} ms left, under the ${reserveMs} ms reserve; redelivered`);
    this.name = 'OutOfTimeError';
  }
}

/**
 * Processes a FIFO queue batch with a partial batch response (design invariant 5): a record is acknowledged only
 * if its handler resolved; when one fails, every later record of the same message group in the batch is reported
 * failed too, without being run. The records of one group run one at a time, in batch order; different groups —
 * independent keys — run at the same time, which is what FIFO allows and what makes a batch of many keys fast.
 * No record starts once less than `reserveMs` is left of `remainingTimeMs` (it fails as above); the handler gets
 * both (`FifoRecordContext`), so a consumer's in-process retries keep the same reserve. (`fifoConsumerHandler`
 * does all of this for an `IdempotentConsumer`, with the Lambda context's time.)
 *
 * (Powertools' `SqsFifoPartialProcessorAsync` has the same failure semantics but runs every record one after the
 * other, groups included.)
 */
export async function processFifoBatch<TRecord extends FifoRecord>(
  event: FifoBatchEvent<TRecord>,
  recordHandler: (record: TRecord, context: FifoRecordContext) => Promise<void>,
  options: FifoBatchOptions<TRecord>,
): Promise<FifoBatchResponse> {
  if (typeof options?.remainingTimeMs !== 'function') {
    // A JavaScript caller (or a cast) could still leave it out: fail loudly rather than run without a deadline.
    throw new TypeError(
      'processFifoBatch needs remainingTimeMs, e.g. () => context.getRemainingTimeInMillis() of the Lambda context',
    );
  }
  const reserveMs = options.reserveMs ?? 5000;
  const context: FifoRecordContext = { remainingTimeMs: options.remainingTimeMs, reserveMs };
  const records = withGroupIds(event).Records;
  const groups = new Map<string, TRecord[]>();
  for (const record of records) {
    const group = record.attributes.MessageGroupId ?? `message:${record.messageId}`;
    groups.set(group, [...(groups.get(group) ?? []), record]);
  }
  const failed = new Set<string>();
  await Promise.all(
    [...groups.values()].map(async (group) => {
      for (const [index, record] of group.entries()) {
        try {
          const remainingMs = options.remainingTimeMs();
          if (remainingMs < reserveMs) {
            throw new OutOfTimeError(remainingMs, reserveMs);
          }
          await recordHandler(record, context);
        } catch (error) {
          options.onFailed?.(record, error);
          for (const rest of group.slice(index)) failed.add(rest.messageId);
          return;
        }
      }
    }),
  );
  return {
    batchItemFailures: records
      .filter((record) => failed.has(record.messageId))
      .map((record) => ({ itemIdentifier: record.messageId })),
  };
}
