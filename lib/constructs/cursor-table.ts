import { CfnResource, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';
import { validateKeySchema } from './producer-table';
import { markRole, resourcesWithRole } from './resource-role';
import { CURSOR_TABLE_METADATA, type CursorTableAttributes } from './resource-roles';

/**
 * The consumer's own table that keeps its cursors: one item per key, `{ [keyAttribute]: groupKey }`, whose
 * `lastSequence` is the last sequence applied (a per-key view that moves with its cursor, in one write).
 */
export interface CursorTable extends CursorTableAttributes {
  /** A table of this stack (`new Table` / `new TableV2`). */
  readonly table: dynamodb.ITable | dynamodb.ITableV2;
}

/**
 * Declares `cursor.table` for the ops CLI in the stack of `consumer`: marks its CloudFormation resource with the role
 * `cursor-table` and the metadata {@link CURSOR_TABLE_METADATA} (`{ keyAttribute }`). Fails if the attribute is
 * empty or not the table's partition key (when its schema is known), if the table is not in the consumer's stack,
 * or if the stack already declares another cursor table (the ops CLI's reconcile reads one), or this one with
 * another key attribute.
 */
export function declareCursorTable(consumer: IConstruct, cursor: CursorTable): void {
  const { table, keyAttribute } = cursor;
  if (keyAttribute.trim() === '') {
    throw new Error(`cursorTable.keyAttribute must name an attribute; got '${keyAttribute}'`);
  }
  const resource = table.node.defaultChild;
  const stack = Stack.of(consumer);
  if (!(resource instanceof CfnResource) || Stack.of(resource) !== stack) {
    throw new Error(
      `cursorTable ${table.node.path} has no resource in stack ${stack.stackName}: the consumer's cursor table ` +
        'must be a table of its own stack (new Table or new TableV2), so the ops CLI finds it there',
    );
  }
  validateKeySchema('cursorTable', table.node.path, resource, keyAttribute);
  const declared = resourcesWithRole(stack, 'cursor-table');
  for (const other of declared) {
    if (other !== resource) {
      throw new Error(
        `Stack ${stack.stackName} already declares ${other.node.scope?.node.path ?? other.node.path} as a ` +
          `consumer's cursor table; got ${table.node.path} too. A stack has one (the ops CLI's reconcile reads one).`,
      );
    }
    const before = other.getMetadata(CURSOR_TABLE_METADATA) as CursorTableAttributes;
    if (before.keyAttribute !== keyAttribute) {
      throw new Error(
        `${table.node.path} is already declared as a cursor table with keyAttribute '${before.keyAttribute}'; ` +
          `got '${keyAttribute}'`,
      );
    }
    return;
  }
  markRole(table, 'cursor-table');
  resource.addMetadata(CURSOR_TABLE_METADATA, { keyAttribute } satisfies CursorTableAttributes);
}
