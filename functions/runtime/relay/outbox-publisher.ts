import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { BatchWriteCommand, type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { forEachConcurrently } from '../concurrency';
import { toEnvelope } from '../outbox/outbox-message';
import { markForSweepUpdate } from '../outbox/unsent-index';
import { type RetryTransientOptions, retryTransient, TransientFailureError } from '../transient-errors';
import type { RelayCandidate } from './stream-records';

const BLOCKED = 'not sent: an earlier message of its key failed';
/** SQS takes at most 10 entries per SendMessageBatch. */
const MAX_ENTRIES_PER_SEND = 10;
/** SQS limits a whole batch to 256 KiB of bodies and attributes (we count the bodies, with headroom). */
const MAX_BYTES_PER_SEND = 250 * 1024;
/** DynamoDB takes at most 25 requests per BatchWriteItem. */
const MAX_DELETES_PER_WRITE = 25;
const MAX_DELETE_ROUNDS = 5;
/** Marks for the sweep written at once. */
const MARK_CONCURRENCY = 10;

export interface OutboxPublisherOptions {
  readonly sqs: SQSClient;
  readonly dynamodb: DynamoDBDocumentClient;
  readonly queueUrl: string;
  readonly outboxTableName: string;
  /** Told of every message not sent and of every outbox item that could not be deleted. */
  readonly onProblem?: (problem: RelayProblem) => void;
  /** Fault injection points; only a stack built with fault injection sets them. */
  readonly hooks?: RelayHooks;
  /**
   * How a SendMessageBatch or a delete that fails with a transient error (`isTransientError`: throttling that
   * outlasted the SDK's retries, a 5xx, a timeout) is retried in-process, within the time `relay` is given. Both are
   * safe to repeat: SQS deduplicates by messageId, and deleting twice is deleting once.
   * @default `retryTransient`'s defaults (5 attempts, jittered backoff from 50 ms up to 2 s, 1 s kept in reserve)
   */
  readonly transientRetry?: Omit<RetryTransientOptions, 'remainingTimeMs'>;
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
  /** May reorder the entries of a SendMessageBatch (entry ids are kept). */
  beforeSend?(entries: SendMessageBatchRequestEntry[]): Promise<SendMessageBatchRequestEntry[]>;
  /** Runs after SQS accepted `entries`; may send extra copies of them. */
  afterSend?(entries: readonly SendMessageBatchRequestEntry[]): Promise<void>;
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
  /** Messages SQS accepted, in send order. */
  readonly sent: readonly RelayCandidate[];
  /** Messages not sent (or not to be counted as sent), in stream order: their records must be retried. */
  readonly failed: readonly RelayCandidate[];
  /** The same messages, each with the reason. */
  readonly failures: readonly RelayFailure[];
  /** Sent messages whose outbox item is still there (the sweeper re-sends them; SQS and the inbox deduplicate). */
  readonly notDeleted: number;
  /** Messages not sent that this call put into the sweep's `unsent` index (those not in it yet). */
  readonly marked: number;
}

/**
 * Publishes outbox messages to the FIFO queue, keeping per-key order (design invariant 3):
 * MessageGroupId = groupKey, MessageDeduplicationId = messageId; every entry of `Failed[]` is read,
 * and once a message of a key fails, no later message of that key is reported sent. Sent messages
 * are then deleted from the outbox, so the table holds only what is not yet sent.
 */
export class OutboxPublisher {
  constructor(private readonly options: OutboxPublisherOptions) {}

  async relay(candidates: readonly RelayCandidate[], context: RelayContext = {}): Promise<RelayResult> {
    const retry: RetryTransientOptions = {
      ...this.options.transientRetry,
      ...(context.remainingTimeMs === undefined ? {} : { remainingTimeMs: context.remainingTimeMs }),
    };
    const blockedKeys = new Set<string>();
    const sent: RelayCandidate[] = [];
    const failed = new Map<RelayCandidate, string>();

    for (const chunk of chunksForSend(candidates)) {
      const toSend = chunk.filter((candidate) => {
        if (!blockedKeys.has(candidate.item.groupKey)) return true;
        failed.set(candidate, BLOCKED);
        this.report({ kind: 'blocked-behind-failure', ...keyOf(candidate) });
        return false;
      });
      if (toSend.length === 0) continue;

      const errors = await this.send(toSend, retry);
      for (const [index, candidate] of toSend.entries()) {
        const error = errors.get(index);
        if (error !== undefined) {
          blockedKeys.add(candidate.item.groupKey);
          failed.set(candidate, error);
          this.report({ kind: 'send-failed', ...keyOf(candidate), error });
        } else if (blockedKeys.has(candidate.item.groupKey)) {
          // Accepted, but an earlier message of its key was not: retry it after that one. SQS
          // deduplication (same messageId) or the consumer's sequence check absorbs the extra copy.
          failed.set(candidate, BLOCKED);
          this.report({ kind: 'blocked-behind-failure', ...keyOf(candidate) });
        } else {
          sent.push(candidate);
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
    return { sent, failed: failures.map((failure) => failure.candidate), failures, notDeleted, marked };
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
   * Sends one SendMessageBatch (retrying transient failures of the call); returns the error text of each entry (by
   * position) that SQS did not accept.
   */
  private async send(
    candidates: readonly RelayCandidate[],
    retry: RetryTransientOptions,
  ): Promise<Map<number, string>> {
    let entries: SendMessageBatchRequestEntry[] = candidates.map((candidate, index) => ({
      Id: String(index),
      MessageBody: JSON.stringify(toEnvelope(candidate.item)),
      MessageGroupId: candidate.item.groupKey,
      MessageDeduplicationId: candidate.item.messageId,
    }));
    const errors = new Map<number, string>();
    try {
      if (this.options.hooks?.beforeSend) entries = await this.options.hooks.beforeSend(entries);
      const batch = entries;
      const response = await retryTransient(
        () =>
          this.options.sqs.send(
            new SendMessageBatchCommand({ QueueUrl: this.options.queueUrl, Entries: batch }),
          ),
        retry,
      );
      const accepted = new Set((response.Successful ?? []).map((entry) => entry.Id));
      for (const failure of response.Failed ?? []) {
        if (failure.Id !== undefined)
          errors.set(Number(failure.Id), `${failure.Code ?? 'Failed'}: ${failure.Message ?? ''}`.trim());
      }
      // An entry that is in neither list was not confirmed: treat it as not sent.
      for (const index of candidates.keys()) {
        if (!accepted.has(String(index)) && !errors.has(index))
          errors.set(index, 'not confirmed by SendMessageBatch');
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

/** Splits candidates, in order, into SendMessageBatch-sized chunks (≤ 10 entries, ≤ 250 KiB of bodies). */
export function chunksForSend(candidates: readonly RelayCandidate[]): RelayCandidate[][] {
  const chunks: RelayCandidate[][] = [];
  let current: RelayCandidate[] = [];
  let bytes = 0;
  for (const candidate of candidates) {
    const size = Buffer.byteLength(candidate.item.payload) + 512;
    if (
      current.length > 0 &&
      (current.length === MAX_ENTRIES_PER_SEND || bytes + size > MAX_BYTES_PER_SEND)
    ) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(candidate);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
