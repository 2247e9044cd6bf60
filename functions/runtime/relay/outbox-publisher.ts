import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently } from '../concurrency';
import { ConfigurationError } from '../errors';
import { toEnvelope } from '../outbox/outbox-message';
import { markForSweepUpdate } from '../outbox/unsent-index';
import { type RetryTransientOptions, retryTransient, TransientFailureError } from '../transient-errors';
import {
  type DestinationEntry,
  MAX_BATCH_ENTRIES,
  type MessageDestination,
  queueDestination,
} from './message-destination';
import type { RelayCandidate } from './stream-records';

const BLOCKED = 'not sent: an earlier message of its key failed';
/** SQS and SNS limit a whole batch to 256 KiB of bodies and attributes (we count them, with headroom). */
const MAX_BYTES_PER_SEND = 250 * 1024;
/** What an entry holds besides its payload, its key, its id and its type (twice: in the body and as attribute). */
const ENTRY_OVERHEAD_BYTES = 512;
/** DynamoDB takes at most 25 requests per BatchWriteItem. */
const MAX_DELETES_PER_WRITE = 25;
const MAX_DELETE_ROUNDS = 5;
/** Marks for the sweep written at once. */
const MARK_CONCURRENCY = 10;
/** Batches of one send round in flight at once, unless `sendConcurrency` says otherwise. */
const DEFAULT_SEND_CONCURRENCY = 5;

/** Where the publisher sends: a destination (a FIFO queue or topic), or, as before there were topics, a queue. */
export type PublisherDestinationOptions =
  | {
      /** Where messages go: `queueDestination(sqs, queueUrl)` or `topicDestination(sns, topicArn)`. */
      readonly destination: MessageDestination;
      readonly sqs?: undefined;
      readonly queueUrl?: undefined;
    }
  | {
      readonly destination?: undefined;
      /** With `queueUrl`: the same as `destination: queueDestination(sqs, queueUrl)`. */
      readonly sqs: SQSClient;
      readonly queueUrl: string;
    };

export type OutboxPublisherOptions = PublisherDestinationOptions & OutboxPublisherSettings;

export interface OutboxPublisherSettings {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly outboxTableName: string;
  /** Told of every message not sent and of every outbox item that could not be deleted. */
  readonly onProblem?: (problem: RelayProblem) => void;
  /** Told of the outcome of every `relay` call (e.g. to log the messages it sent and failed). */
  readonly onRelayed?: (result: RelayResult) => void;
  /** Fault injection points; only a stack built with fault injection sets them. */
  readonly hooks?: RelayHooks;
  /**
   * How a batch (SendMessageBatch, PublishBatch) or a delete that fails with a transient error (`isTransientError`: throttling that
   * outlasted the SDK's retries, a 5xx, a timeout) is retried in-process, within the time `relay` is given. Both are
   * safe to repeat: the queue or topic deduplicates by messageId, and deleting twice is deleting once.
   * @default `retryTransient`'s defaults (5 attempts, jittered backoff from 50 ms up to 2 s, 1 s kept in reserve)
   */
  readonly transientRetry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
  /**
   * Batches sent at once. The messages of one `relay` call go out in rounds: a round's batches hold disjoint keys
   * and are in flight together, a key's later messages wait for the next round, so every key keeps its order while
   * an invocation of many keys takes a few round trips instead of one per batch. 1 sends one batch at a time.
   * @default 5
   */
  readonly sendConcurrency?: number;
}

/** What `relay` may know of the invocation it runs in. */
export interface RelayContext {
  /**
   * Milliseconds the invocation has left (e.g. the Lambda context's `getRemainingTimeInMillis`): no in-process
   * retry starts that could not end in time.
   * @default no deadline
   */
  readonly remainingTimeMs?: () => number;
}

/** Where a test stack injects relay faults. */
export interface RelayHooks {
  /** May reorder the entries of a batch (entry ids are kept). */
  beforeSend?(entries: DestinationEntry[]): Promise<DestinationEntry[]>;
  /** Runs after the destination accepted `entries`; may send extra copies of them. */
  afterSend?(entries: readonly DestinationEntry[]): Promise<void>;
  /** Runs after every send and before the deletes; may throw to crash there. */
  beforeDelete?(): Promise<void>;
}

/** A message that was not sent (or must not count as sent), and why. */
export interface RelayFailure {
  readonly candidate: RelayCandidate;
  readonly error: string;
}

export type RelayProblem =
  | {
      readonly kind: 'send-failed';
      readonly messageId: string;
      readonly groupKey: string;
      readonly sequence: number;
      readonly error: string;
    }
  | {
      readonly kind: 'blocked-behind-failure';
      readonly messageId: string;
      readonly groupKey: string;
      readonly sequence: number;
    }
  | { readonly kind: 'delete-failed'; readonly count: number; readonly error: string }
  | {
      readonly kind: 'mark-failed';
      readonly messageId: string;
      readonly groupKey: string;
      readonly sequence: number;
      readonly error: string;
    };

export interface RelayResult {
  /** Messages the destination accepted, in the order their send rounds went out. */
  readonly sent: readonly RelayCandidate[];
  /** Messages not sent (or not to be counted as sent), in stream order: their records must be retried. */
  readonly failed: readonly RelayCandidate[];
  /** The same messages, each with the reason. */
  readonly failures: readonly RelayFailure[];
  /** Sent messages whose outbox item is still there (the sweeper re-sends them; FIFO dedup and the inbox absorb it). */
  readonly notDeleted: number;
  /** Messages not sent that this call put into the sweep's `unsent` index (those not in it yet). */
  readonly marked: number;
}

/**
 * Publishes outbox messages to the FIFO queue or the FIFO topic, keeping per-key order (design invariant 3):
 * MessageGroupId = groupKey, MessageDeduplicationId = messageId, the message type as the `type` attribute; every
 * entry of `Failed[]` is read, and once a message of a key fails, no later message of that key is reported sent.
 * Sent messages are then deleted from the outbox, so the table holds only what is not yet sent.
 */
export class OutboxPublisher {
  /** Where this publisher sends. */
  readonly destination: MessageDestination;

  private readonly sendConcurrency: number;

  /**
   * @throws ConfigurationError unless exactly one of `destination` or `sqs` with `queueUrl` is given, and unless
   * `sendConcurrency` is a whole number ≥ 1
   */
  constructor(private readonly options: OutboxPublisherOptions) {
    this.destination = destinationOf(options);
    const sendConcurrency = options.sendConcurrency ?? DEFAULT_SEND_CONCURRENCY;
    if (!Number.isInteger(sendConcurrency) || sendConcurrency < 1) {
      throw new ConfigurationError(
        `OutboxPublisher: sendConcurrency must be a whole number ≥ 1; got ${options.sendConcurrency}`,
      );
    }
    this.sendConcurrency = sendConcurrency;
  }

  async relay(candidates: readonly RelayCandidate[], context: RelayContext = {}): Promise<RelayResult> {
    const retry: RetryTransientOptions = {
      ...this.options.transientRetry,
      ...(context.remainingTimeMs === undefined ? {} : { remainingTimeMs: context.remainingTimeMs }),
    };
    const blockedKeys = new Set<string>();
    const sent: RelayCandidate[] = [];
    const failed = new Map<RelayCandidate, string>();

    // A round's batches hold disjoint keys and go out at once; a key's later messages wait for the next round, so
    // each key's messages still reach the destination in stream order (design invariant 3).
    for (const round of sendRounds(candidates)) {
      const batches = round.map((chunk) =>
        chunk.filter((candidate) => {
          if (!blockedKeys.has(candidate.item.groupKey)) return true;
          failed.set(candidate, BLOCKED);
          this.report({ kind: 'blocked-behind-failure', ...keyOf(candidate) });
          return false;
        }),
      );
      const errorsByBatch = new Map<readonly RelayCandidate[], Map<number, string>>();
      await forEachConcurrently(
        batches.filter((batch) => batch.length > 0),
        this.sendConcurrency,
        async (batch) => {
          errorsByBatch.set(batch, await this.send(batch, retry));
        },
      );
      for (const toSend of batches) {
        const errors = errorsByBatch.get(toSend);
        if (errors === undefined) continue;
        for (const [index, candidate] of toSend.entries()) {
          const error = errors.get(index);
          if (error !== undefined) {
            blockedKeys.add(candidate.item.groupKey);
            failed.set(candidate, error);
            this.report({ kind: 'send-failed', ...keyOf(candidate), error });
          } else if (blockedKeys.has(candidate.item.groupKey)) {
            // Accepted, but an earlier message of its key was not: retry it after that one. The FIFO
            // deduplication (same messageId) or the consumer's sequence check absorbs the extra copy.
            failed.set(candidate, BLOCKED);
            this.report({ kind: 'blocked-behind-failure', ...keyOf(candidate) });
          } else {
            sent.push(candidate);
          }
        }
      }
    }

    const failures = candidates.flatMap((candidate) => {
      const error = failed.get(candidate);
      return error === undefined ? [] : [{ candidate, error }];
    });
    // What was not sent is marked for the sweep before anything is deleted: the happy path writes no index entry,
    // so the relay is the one that knows a message needs the safety net's attention.
    const marked = await this.markForSweep(failures, retry);
    await this.options.hooks?.beforeDelete?.();
    const notDeleted = await this.deleteFromOutbox(sent, retry);
    const result = {
      sent,
      failed: failures.map((failure) => failure.candidate),
      failures,
      notDeleted,
      marked,
    };
    this.options.onRelayed?.(result);
    return result;
  }

  /**
   * Puts each message not sent into the sweep's sparse `unsent` index (one conditional update: the item must still
   * be there, PENDING and not in the index yet — a message the sweep is sending is already in it), with the error.
   * A mark that fails is reported and left: the stream retries the record, and the sweep's outbox audit marks what
   * nobody marked. Returns how many were marked.
   */
  private async markForSweep(
    failures: readonly RelayFailure[],
    retry: RetryTransientOptions,
  ): Promise<number> {
    const unmarked = failures.filter(({ candidate }) => candidate.item.sweepShard === undefined);
    let marked = 0;
    await forEachConcurrently(unmarked, MARK_CONCURRENCY, async ({ candidate, error }) => {
      try {
        await retryTransient(
          () =>
            this.options.dynamodb.send(
              new UpdateCommand(markForSweepUpdate(this.options.outboxTableName, candidate.item, error)),
            ),
          retry,
        );
        marked++;
      } catch (markError) {
        // Sent and deleted meanwhile, or marked already (maybe by this call's own lost answer): nothing to do.
        if (markError instanceof ConditionalCheckFailedException) return;
        this.report({ kind: 'mark-failed', ...keyOf(candidate), error: errorText(markError) });
      }
    });
    return marked;
  }

  /**
   * Sends one batch (retrying transient failures of the call); returns the error text of each entry (by position)
   * that the destination did not accept.
   */
  private async send(
    candidates: readonly RelayCandidate[],
    retry: RetryTransientOptions,
  ): Promise<Map<number, string>> {
    let entries: DestinationEntry[] = candidates.map((candidate, index) =>
      destinationEntry(candidate, index),
    );
    const errors = new Map<number, string>();
    try {
      if (this.options.hooks?.beforeSend) entries = await this.options.hooks.beforeSend(entries);
      const batch = entries;
      const response = await retryTransient(() => this.destination.publishBatch(batch), retry);
      const accepted = new Set(response.accepted);
      for (const failure of response.failed) {
        errors.set(Number(failure.id), `${failure.code}: ${failure.message}`.trim());
      }
      // An entry that is in neither list was not confirmed: treat it as not sent.
      for (const index of candidates.keys()) {
        if (!accepted.has(String(index)) && !errors.has(index))
          errors.set(index, `not confirmed by ${this.destination.operation}`);
      }
      await this.options.hooks?.afterSend?.(entries.filter((entry) => accepted.has(entry.Id)));
    } catch (error) {
      const text = errorText(error);
      for (const index of candidates.keys()) errors.set(index, text);
    }
    return errors;
  }

  /**
   * Deletes sent messages, 25 per BatchWriteItem in parallel, retrying unprocessed items and transient failures;
   * returns how many remain.
   */
  private async deleteFromOutbox(
    sent: readonly RelayCandidate[],
    retry: RetryTransientOptions,
  ): Promise<number> {
    const chunks: RelayCandidate[][] = [];
    for (let start = 0; start < sent.length; start += MAX_DELETES_PER_WRITE) {
      chunks.push(sent.slice(start, start + MAX_DELETES_PER_WRITE));
    }
    const remaining = await Promise.all(chunks.map((chunk) => this.deleteChunk(chunk, retry)));
    return remaining.reduce((sum, count) => sum + count, 0);
  }

  private async deleteChunk(chunk: readonly RelayCandidate[], retry: RetryTransientOptions): Promise<number> {
    const table = this.options.outboxTableName;
    let requests = chunk.map((candidate) => ({
      DeleteRequest: { Key: { groupKey: candidate.item.groupKey, sequence: candidate.item.sequence } },
    }));
    let lastError = 'unprocessed items';
    for (let round = 0; round < MAX_DELETE_ROUNDS && requests.length > 0; round++) {
      if (round > 0) await sleep(25 * 2 ** round);
      try {
        const batch = requests;
        const response = await retryTransient(
          () => this.options.dynamodb.send(new BatchWriteCommand({ RequestItems: { [table]: batch } })),
          retry,
        );
        requests = (response.UnprocessedItems?.[table] ?? []) as typeof requests;
      } catch (error) {
        // A deterministic error, or a transient one that outlasted its retries: the sweeper re-sends these later.
        lastError = errorText(error);
        break;
      }
    }
    if (requests.length > 0) this.report({ kind: 'delete-failed', count: requests.length, error: lastError });
    return requests.length;
  }

  private report(problem: RelayProblem): void {
    this.options.onProblem?.(problem);
  }
}

/** `<name>: <message>` of an error; of the last error, for a transient failure that outlasted its retries. */
function errorText(error: unknown): string {
  const shown = error instanceof TransientFailureError ? error.cause : error;
  return shown instanceof Error ? `${shown.name}: ${shown.message}` : String(shown);
}

function keyOf(candidate: RelayCandidate) {
  return {
    messageId: candidate.item.messageId,
    groupKey: candidate.item.groupKey,
    sequence: candidate.item.sequence,
  };
}

/** The destination's entry for a message: its envelope, its key, its id, and its type as a `type` attribute. */
export function destinationEntry(candidate: RelayCandidate, index: number): DestinationEntry {
  const { item } = candidate;
  return {
    Id: String(index),
    MessageBody: JSON.stringify(toEnvelope(item)),
    MessageGroupId: item.groupKey,
    MessageDeduplicationId: item.messageId,
    MessageAttributes: { type: { DataType: 'String', StringValue: item.type } },
  };
}

function destinationOf(options: OutboxPublisherOptions): MessageDestination {
  const legacy = options.sqs !== undefined || options.queueUrl !== undefined;
  if (options.destination !== undefined) {
    if (legacy) {
      throw new ConfigurationError(
        'OutboxPublisher: give either `destination` or `sqs` with `queueUrl`, not both',
      );
    }
    return options.destination;
  }
  if (options.sqs === undefined || options.queueUrl === undefined || options.queueUrl === '') {
    throw new ConfigurationError(
      `OutboxPublisher: give \`destination\`, or both \`sqs\` and a \`queueUrl\`; got sqs ${options.sqs === undefined ? 'unset' : 'set'}, queueUrl ${JSON.stringify(options.queueUrl)}`,
    );
  }
  return queueDestination(options.sqs, options.queueUrl);
}

/** What an entry for `candidate` counts against a batch's byte limit. */
function entryBytes(candidate: RelayCandidate): number {
  const { payload, groupKey, messageId, type } = candidate.item;
  return (
    Buffer.byteLength(payload) +
    Buffer.byteLength(groupKey) +
    Buffer.byteLength(messageId) +
    2 * Buffer.byteLength(type) +
    ENTRY_OVERHEAD_BYTES
  );
}

/**
 * Plans the sends of `candidates` as rounds of batch-sized chunks (≤ 10 entries, ≤ 250 KiB) that may go out at
 * once: within a round no key is in two chunks, and a key's messages keep their stream order from round to round
 * (each round takes the next of them). Keys are packed in the order they first appear, a key's messages filling the
 * current chunk as far as they fit and the rest waiting for the next round, so the chunks of a round are full but
 * for its last, and there is at most one chunk a round more than sending them in stream order would take.
 */
export function sendRounds(candidates: readonly RelayCandidate[]): RelayCandidate[][][] {
  const byKey = new Map<string, RelayCandidate[]>();
  for (const candidate of candidates) {
    const queue = byKey.get(candidate.item.groupKey);
    if (queue === undefined) byKey.set(candidate.item.groupKey, [candidate]);
    else queue.push(candidate);
  }
  const rounds: RelayCandidate[][][] = [];
  while (byKey.size > 0) {
    const round: RelayCandidate[][] = [];
    let current: RelayCandidate[] = [];
    let bytes = 0;
    for (const [key, queue] of byKey) {
      if (
        current.length > 0 &&
        (current.length === MAX_BATCH_ENTRIES || bytes + entryBytes(queue[0]!) > MAX_BYTES_PER_SEND)
      ) {
        round.push(current);
        current = [];
        bytes = 0;
      }
      // At least one message of the key (an entry alone over the byte limit is the destination's to refuse).
      while (queue.length > 0 && current.length < MAX_BATCH_ENTRIES) {
        const size = entryBytes(queue[0]!);
        if (current.length > 0 && bytes + size > MAX_BYTES_PER_SEND) break;
        current.push(queue.shift()!);
        bytes += size;
      }
      if (queue.length === 0) byKey.delete(key);
    }
    if (current.length > 0) round.push(current);
    rounds.push(round);
  }
  return rounds;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
