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
  /**
   * The attributes to set for a message; none (or `{}`) means the message only moves the cursor. A value may be
   * computed by DynamoDB from the item as it is, in the same write: {@link cursorIncrement} (a counter),
   * {@link cursorValueOr} (another attribute's value, or a fallback).
   */
  readonly attributes: (message: MessageEnvelope<TPayload>) => Record<string, unknown> | undefined;
}

/** A cursor effect's attribute raised by `by` (from 0 when absent): `SET a = if_not_exists(a, 0) + by`. */
export class CursorIncrement {
  constructor(public readonly by: number) {}
}

/**
 * A cursor effect's attribute set to another attribute's value when the item has it, else to `fallback`:
 * `SET a = if_not_exists(other, fallback)`. Say, a status that a terminal state keeps: the cancelling message sets
 * `cancelled: 'cancelled'` and `status: 'cancelled'`, a later one `status: cursorValueOr('cancelled', 'ready')`.
 */
export class CursorValueOr {
  constructor(
    public readonly attribute: string,
    public readonly fallback: unknown,
  ) {}
}

/** A counter on the cursor's item, raised in the cursor's own write (`by` a finite number, default 1). */
export function cursorIncrement(by = 1): CursorIncrement {
  if (!Number.isFinite(by)) throw new RangeError(`cursorIncrement needs a finite number; got ${by}`);
  return new CursorIncrement(by);
}

/** `attribute`'s value on the cursor's item when it has one, else `fallback`, in the cursor's own write. */
export function cursorValueOr(attribute: string, fallback: unknown): CursorValueOr {
  if (attribute === '') throw new RangeError('cursorValueOr needs an attribute name');
  return new CursorValueOr(attribute, fallback);
}

/** Attributes the cursor itself uses: a cursor effect may not set them. */
export const CURSOR_ATTRIBUTES: readonly string[] = [
  'lastSequence',
  'lastMessageId',
  'lastTraceparent',
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
    if (value instanceof CursorIncrement) {
      values[`:c${index}`] = value.by;
      values[`:c${index}z`] = 0;
      return `#c${index} = if_not_exists(#c${index}, :c${index}z) + :c${index}`;
    }
    if (value instanceof CursorValueOr) {
      names[`#c${index}s`] = value.attribute;
      values[`:c${index}`] = value.fallback;
      return `#c${index} = if_not_exists(#c${index}s, :c${index})`;
    }
    values[`:c${index}`] = value;
    return `#c${index} = :c${index}`;
  });
  return { set: `, ${assignments.join(', ')}`, names, values };
}
