import { CURSOR_ATTRIBUTES, type CursorLocation } from '../../functions/runtime/consumer/cursor-location';
import { inboxKeys } from '../../functions/runtime/consumer/inbox-keys';
import type { CursorTableAttributes } from '../constructs/resource-roles';
import { OpsError, OutputsNotFoundError } from './errors';
import { attributesFromMetadata, type FoundTable, firstFound } from './table-metadata';

/**
 * The consumer's own table that holds its cursors (runtime option `cursor: { tableName, key }`): one item per key,
 * `{ [keyAttribute]: groupKey }`, its `lastSequence` the last sequence applied (and `heldCount`, `parked`, … as the
 * inbox's cursor item has them). Undefined where a table is asked for: the cursors are the inbox table's.
 */
export interface CursorTable extends CursorTableAttributes, FoundTable {}

/**
 * Several tables of a stack are marked `cursor-table` and the command line names none: the commands that read
 * cursors (reconcile, wait, replay, the console's key view) fail with this; the others run.
 */
export class CursorTableAmbiguousError extends OpsError {
  constructor(where: string, logicalIds: readonly string[]) {
    super(
      `${where} has ${logicalIds.length} resources marked cursor-table (${logicalIds.join(', ')}): name the one ` +
        'that holds the consumer cursors with --cursor-table NAME --cursor-key-attribute A',
    );
    this.name = 'CursorTableAmbiguousError';
  }
}

/** Where the commands read the cursors: a table, the inbox's cursor items (undefined), or no telling (an error). */
export type CursorTableChoice = CursorTable | CursorTableAmbiguousError | undefined;

/**
 * The `reliable-messaging:cursor-table` metadata's value, checked: an object with a non-empty `keyAttribute` that is
 * not one of the attributes the cursor itself writes (`lastSequence`, `parked`, …). Throws OutputsNotFoundError
 * naming the resource and what it holds.
 */
export function cursorTableAttributes(value: unknown, where: string): CursorTableAttributes {
  const { keyAttribute } = attributesFromMetadata(value, where, 'cursor-table', ['keyAttribute']);
  if (CURSOR_ATTRIBUTES.includes(keyAttribute)) {
    throw new OutputsNotFoundError(
      `${where}: its cursor-table keyAttribute ${JSON.stringify(keyAttribute)} is an attribute the cursor itself ` +
        `writes (${CURSOR_ATTRIBUTES.join(', ')}); it must be the table's partition key, whose value is the groupKey`,
    );
  }
  return { keyAttribute };
}

/** Which cursor table, by precedence: the command line's, then the one the template marks `cursor-table`. */
export function chooseCursorTable(sources: {
  readonly commandLine?: CursorTable | undefined;
  readonly declared?: CursorTableChoice;
}): CursorTableChoice {
  return firstFound<CursorTable | CursorTableAmbiguousError>(sources.commandLine, sources.declared);
}

/** How the cursor items are read: their table, each key's item key, and the key back from an item. */
export interface CursorItems extends CursorLocation {
  /** The attribute whose value tells an item's key (`groupKeyOf` reads it: a read must project it). */
  readonly groupKeyAttribute: string;
  readonly groupKeyOf: (item: Readonly<Record<string, unknown>>) => string;
}

/**
 * The cursor items of a connection's consumer: `{ [keyAttribute]: groupKey }` in the cursor table, or the inbox
 * table's `KEY#<groupKey>` / `CURSOR` items when there is none. Throws the ambiguity error when there is no telling.
 */
export function cursorItems(cursorTable: CursorTableChoice, inboxTableName: string): CursorItems {
  if (cursorTable instanceof CursorTableAmbiguousError) throw cursorTable;
  if (cursorTable === undefined) {
    return {
      tableName: inboxTableName,
      key: inboxKeys.cursor,
      groupKeyAttribute: 'pk',
      groupKeyOf: (item) => String(item.pk).replace(/^KEY#/, ''),
    };
  }
  const { tableName, keyAttribute } = cursorTable;
  return {
    tableName,
    key: (groupKey) => ({ [keyAttribute]: groupKey }),
    groupKeyAttribute: keyAttribute,
    groupKeyOf: (item) => String(item[keyAttribute]),
  };
}
