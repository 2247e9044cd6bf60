import type { FifoRecord } from './fifo-records';

/**
 * What ties a consumer's log line to one message and to the request that caused it: the message's id, key and
 * sequence, its W3C `traceparent` (when its envelope has one) and the consumer group (when the consumer belongs to
 * one). Search a trace id across the producer's and every group's logs to follow one request.
 */
export interface CorrelationFields {
  readonly messageId?: string;
  readonly groupKey?: string;
  readonly sequence?: number;
  readonly traceparent?: string;
  readonly group?: string;
}

/** The part of a message (or of a body that is no valid envelope) the correlation fields come from. */
export interface Correlated {
  readonly messageId?: unknown;
  readonly groupKey?: unknown;
  readonly sequence?: unknown;
  readonly traceparent?: unknown;
}

/** The correlation fields of a message, those it has of the right type (a body that is no envelope may lack some). */
export function messageCorrelation(message: Correlated, group?: string): CorrelationFields {
  return {
    ...(typeof message.messageId === 'string' ? { messageId: message.messageId } : {}),
    ...(typeof message.groupKey === 'string' ? { groupKey: message.groupKey } : {}),
    ...(typeof message.sequence === 'number' ? { sequence: message.sequence } : {}),
    ...(typeof message.traceparent === 'string' ? { traceparent: message.traceparent } : {}),
    ...(group === undefined ? {} : { group }),
  };
}

/**
 * The correlation fields of a queue record, read from its body as far as it can be read; the key is the record's
 * message group when the body has none.
 */
export function recordCorrelation(record: FifoRecord, group?: string): CorrelationFields {
  let body: Correlated = {};
  try {
    const json: unknown = JSON.parse(record.body);
    if (typeof json === 'object' && json !== null && !Array.isArray(json)) body = json as Correlated;
  } catch {
    // not JSON: the record's own attributes are all there is
  }
  const fields = messageCorrelation(body, group);
  const groupKey = record.attributes.MessageGroupId;
  return fields.groupKey === undefined && groupKey !== undefined ? { ...fields, groupKey } : fields;
}
