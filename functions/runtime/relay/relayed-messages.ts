import type { RelayResult } from './outbox-publisher';

/** One message of a relay call, as its log line shows it: what it is, its correlation id, and how it went. */
export interface RelayedMessage {
  readonly messageId: string;
  readonly groupKey: string;
  readonly sequence: number;
  /** The W3C trace context the message carries (absent for messages of older producers). */
  readonly traceparent?: string;
  readonly outcome: 'sent' | 'failed';
  /** Why it was not sent. */
  readonly error?: string;
}

/** What a log line shows of a relay call's messages: at most `limit` of them, failures first. */
export interface RelayedMessages {
  readonly messages: readonly RelayedMessage[];
  /** Messages left out to keep the line bounded (they are counted in the line's `sent` and `failed`). */
  readonly messagesNotShown: number;
}

/** A log line shows at most this many messages. */
export const MAX_LOGGED_MESSAGES = 50;

/**
 * The messages a relay call sent and failed, each with its `messageId` and `traceparent`, for one structured log
 * line: the failures first (in stream order, each with its error), then the sent ones (in send order), at most
 * `limit` in all.
 */
export function relayedMessages(
  result: Pick<RelayResult, 'sent' | 'failures'>,
  limit: number = MAX_LOGGED_MESSAGES,
): RelayedMessages {
  const all: RelayedMessage[] = [
    ...result.failures.map(({ candidate, error }) => ({
      ...identity(candidate.item),
      outcome: 'failed' as const,
      error,
    })),
    ...result.sent.map((candidate) => ({ ...identity(candidate.item), outcome: 'sent' as const })),
  ];
  const shown = all.slice(0, Math.max(0, limit));
  return { messages: shown, messagesNotShown: all.length - shown.length };
}

function identity(item: RelayResult['sent'][number]['item']) {
  return {
    messageId: item.messageId,
    groupKey: item.groupKey,
    sequence: item.sequence,
    ...(item.traceparent === undefined ? {} : { traceparent: item.traceparent }),
  };
}
