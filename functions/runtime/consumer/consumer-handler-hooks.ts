import { messageCorrelation, recordCorrelation } from './correlation-fields';
import type { FifoRecord } from './fifo-records';
import type { BodyConsumeResult, ParkedKey } from './idempotent-consumer';
import type { UnreadableMessageError } from './unreadable-message';

/**
 * What a consumer handler tells as it goes, one hook per kind of event. Each defaults to one structured JSON line
 * on the function's standard output (`level`, `message`, `timestamp` and the event's fields), which CloudWatch Logs
 * Insights reads as fields; give your own (say, a Powertools `Logger`'s) to log elsewhere.
 */
export interface ConsumerHandlerHooks<TRecord extends FifoRecord = FifoRecord> {
  /**
   * Told of each consumed record (its outcome: applied, duplicate, held or parked), before it is acknowledged. It
   * may be async and is awaited; what it throws fails the record (it and the rest of its group are redelivered).
   * @default a JSON line `consumed` with the message's messageId, groupKey, sequence, traceparent, type, outcome and
   * released, and the consumer's group
   */
  readonly onConsumed?: (record: TRecord, result: BodyConsumeResult) => void | Promise<void>;
  /**
   * Told of each record that failed: its consumption threw, or it was not started for lack of time
   * (`OutOfTimeError`). It and the rest of its group are redelivered; the records after it are not told here.
   * An unreadable record goes to `onUnreadable` instead.
   * @default a JSON line `record failed` (level WARN) with the record's id, the message's correlation fields (as far
   * as its body can be read) and the error
   */
  readonly onFailure?: (record: TRecord, error: unknown) => void;
  /**
   * Told of each record whose body has no readable key, sequence or message id (so it can be neither parked nor
   * ordered): it fails, is redelivered, and ends in the queue's dead-letter queue. It is also counted
   * (`UnreadableMessages`).
   * @default a JSON line `unreadable message` (level ERROR) with the record's id, what of the message's correlation
   * fields can be read, and the reason
   */
  readonly onUnreadable?: (record: TRecord, error: UnreadableMessageError) => void;
}

/** Told when a key becomes parked, after its `KeyParked` alert went out (see `fifoConsumerHandler`). */
export type OnParked = (parked: ParkedKey) => void | Promise<void>;

/** A JSON line: one log event, its fields searchable in CloudWatch Logs Insights. */
export type WriteLine = (line: string) => void;

function writeToStdout(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** An error as JSON can show it (`JSON.stringify` of an `Error` is `{}`). */
export function errorFields(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  return {
    name: error.name,
    message: error.message,
    ...(error.cause === undefined ? {} : { cause: errorFields(error.cause) }),
  };
}

function logLine(
  write: WriteLine,
  level: 'INFO' | 'WARN' | 'ERROR',
  message: string,
  fields: Record<string, unknown>,
): void {
  write(JSON.stringify({ level, message, timestamp: new Date().toISOString(), ...fields }));
}

/** What every line of {@link jsonLineHooks} says of the consumer. */
export interface JsonLineHooksOptions {
  /**
   * The consumer group (`CONSUMER_GROUP`): the `group` field of every line.
   * @default none
   */
  readonly group?: string;
}

/**
 * The default hooks: one JSON line per consumed message, per failure, per unreadable message and per parked key.
 * Every line carries the message's correlation fields (`CorrelationFields`): `messageId`, `groupKey`, `sequence`,
 * `traceparent` when the envelope has one, and `group` when given.
 */
export function jsonLineHooks<TRecord extends FifoRecord>(
  write: WriteLine = writeToStdout,
  options: JsonLineHooksOptions = {},
): Required<ConsumerHandlerHooks<TRecord>> & { readonly onParked: OnParked } {
  const { group } = options;
  const recordFields = (record: TRecord) => ({
    sqsMessageId: record.messageId,
    ...recordCorrelation(record, group),
  });
  return {
    onConsumed: (_record, result) =>
      logLine(write, 'INFO', 'consumed', {
        ...messageCorrelation(result.message, group),
        type: result.message.type,
        outcome: result.outcome,
        released: result.released,
      }),
    onFailure: (record, error) =>
      logLine(write, 'WARN', 'record failed; it and the rest of its group will be redelivered', {
        ...recordFields(record),
        error: errorFields(error),
      }),
    onUnreadable: (record, error) =>
      logLine(
        write,
        'ERROR',
        'unreadable message: neither parked nor applied; after its retries it goes to the dead-letter queue',
        { ...recordFields(record), error: errorFields(error) },
      ),
    onParked: (parked) =>
      logLine(write, 'ERROR', 'key parked: a message keeps failing; the key waits for a replay', {
        ...parked,
        ...(group === undefined ? {} : { group }),
      }),
  };
}
