import { describe, expect, it } from 'vitest';
import type { OutboxItem } from '../../../../functions/runtime/outbox/outbox-message';
import { MAX_LOGGED_MESSAGES, relayedMessages } from '../../../../functions/runtime/relay/relayed-messages';
import type { RelayCandidate } from '../../../../functions/runtime/relay/stream-records';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

function candidate(groupKey: string, sequence: number, traceparent?: string): RelayCandidate {
  const item: OutboxItem = {
    groupKey,
    sequence,
    messageId: `msg-${groupKey}-${sequence}`,
    type: 'OrderPlaced',
    payload: '{}',
    status: 'PENDING',
    attempts: 0,
    createdAt: '2026-03-01T12:00:00.000Z',
    ...(traceparent === undefined ? {} : { traceparent }),
  };
  return { recordId: `record-${groupKey}-${sequence}`, item };
}

describe('relayedMessages', () => {
  it('names each message with its messageId and traceparent, the failures first with their error', () => {
    // GIVEN
    const result = {
      sent: [candidate('a', 1, TRACEPARENT)],
      failures: [{ candidate: candidate('b', 1), error: 'InternalError: no' }],
    };

    // WHEN
    const shown = relayedMessages(result);

    // THEN the message of an older producer has no traceparent
    expect(shown).toEqual({
      messages: [
        { messageId: 'msg-b-1', groupKey: 'b', sequence: 1, outcome: 'failed', error: 'InternalError: no' },
        { messageId: 'msg-a-1', groupKey: 'a', sequence: 1, traceparent: TRACEPARENT, outcome: 'sent' },
      ],
      messagesNotShown: 0,
    });
  });

  it('shows at most the limit, failures first, and counts the others', () => {
    // GIVEN
    const result = {
      sent: Array.from({ length: 5 }, (_, index) => candidate('a', index + 1, TRACEPARENT)),
      failures: [{ candidate: candidate('b', 1, TRACEPARENT), error: 'e' }],
    };

    // WHEN
    const shown = relayedMessages(result, 3);

    // THEN
    expect(shown.messages.map((message) => message.messageId)).toEqual(['msg-b-1', 'msg-a-1', 'msg-a-2']);
    expect(shown.messagesNotShown).toBe(3);
  });

  it(`shows ${MAX_LOGGED_MESSAGES} messages by default`, () => {
    const result = {
      sent: Array.from({ length: MAX_LOGGED_MESSAGES + 2 }, (_, index) => candidate('a', index + 1)),
      failures: [],
    };
    expect(relayedMessages(result)).toMatchObject({ messagesNotShown: 2 });
    expect(relayedMessages(result).messages).toHaveLength(MAX_LOGGED_MESSAGES);
  });
});
