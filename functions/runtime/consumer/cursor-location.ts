import { ReliableMessagingError } from '../errors';
import type { MessageEnvelope } from '../outbox/outbox-message';
import { inboxKeys } from './inbox-keys';

/** Where a key's cursor (last applied sequence, held count, parked flag) is kept: one item per key. */
export interface CursorLocation {
  readonly tableName: string;
  readonly key: (groupKey: string) => Record<string, string | number>;
}

/** The default: the inbox table's `KEY#<groupKey>` / `CURSOR` item. */
export function inboxCursor(inboxTableName: string): CursorLocation {
  return { tableName: inboxTableName, key: inboxKeys.cursor };
}

/**
 * An effect that rides on the cursor's own write: the attributes it returns are SET on the cursor's item in the
 * same conditional write that moves the cursor, so it is applied once and in order with no idempotency record —
 * the `version` strategy with the cursor as the version. Suits a per-key view (the latest state of an order).
 */
export interface CursorEffect<TPayload = unknown> {
  readonly name: string;
  /** The attributes to set for a message; none (or `{}`) means the message only moves the cursor. */
  readonly attributes: (message: MessageEnvelope<TPayload>) => Record<string, unknown> | undefined;
}

/** Attributes the cursor itself uses: a cursor effect may not set them. */
export const CURSOR_ATTRIBUTES: readonly string[] = [
  'lastSequence',
  'updatedAt',
  'heldCount',
  'parked',
  'parkedAt',
  'parkedSequence',
  'parkedReason',
  'parkAlerted',
];

/** A cursor effect tried to set an attribute the cursor owns, or one of the item's key attributes. */
export class CursorEffectAttributeError extends ReliableMessagingError {
  constructor(effect: string, attribute: string, allowed: string) {
    super(`cursor effect ${effect} may not set attribute ${JSON.stringify(attribute)}: ${allowed}`);
    this.name = 'CursorEffectAttributeError';
  }
}

/** The SET clause fragment (`, #c0 = :c0, …`), names and values a cursor effect adds to the cursor's update. */
export interface CursorEffectUpdate {
  readonly set: string;
  readonly names: Record<string, string> | undefined;
  readonly values: Record<string, unknown>;
}

export function cursorEffectUpdate(
  effect: CursorEffect | undefined,
  message: MessageEnvelope,
  keyAttributes: readonly string[] = [],
): CursorEffectUpdate {
  const attributes = effect?.attributes(message) ?? {};
  const entries = Object.entries(attributes).filter(([, value]) => value !== undefined);
  if (effect === undefined || entries.length === 0) return { set: '', names: undefined, values: {} };
  const names: Record<string, string> = {};
  const values: Record<string, unknown> = {};
  const assignments = entries.map(([attribute, value], index) => {
    if (CURSOR_ATTRIBUTES.includes(attribute)) {
      throw new CursorEffectAttributeError(
        effect.name,
        attribute,
        `the cursor owns ${CURSOR_ATTRIBUTES.join(', ')}`,
      );
    }
    if (keyAttributes.includes(attribute)) {
      throw new CursorEffectAttributeError(
        effect.name,
        attribute,
        'it is a key attribute of the cursor item',
      );
    }
    names[`#c${index}`] = attribute;
    values[`:c${index}`] = value;
    return `#c${index} = :c${index}`;
  });
  return { set: `, ${assignments.join(', ')}`, names, values };
}
