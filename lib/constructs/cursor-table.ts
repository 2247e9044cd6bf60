import { CfnResource, Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';
import { validateKeySchema } from './producer-table';
import { markGroup, markRole, resourcesWithRole } from './resource-role';
import { CURSOR_TABLE_METADATA, type CursorTableAttributes, GROUP_METADATA } from './resource-roles';

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
 * or if the stack already declares another cursor table for the same consumer group (the ops CLI's reconcile reads
 * one per group; `groupName` undefined = the stack's one unnamed group), or this one with another key attribute or
 * of another group. A group's table is also marked with its group ({@link GROUP_METADATA}).
 */
export function declareCursorTable(consumer: IConstruct, cursor: CursorTable, groupName?: string): void {
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
    const otherGroup = other.getMetadata(GROUP_METADATA) as string | undefined;
    if (other !== resource && otherGroup !== groupName) continue;
    if (other === resource && otherGroup !== groupName) {
      throw new Error(
        `${table.node.path} is already the cursor table of ${otherGroup === undefined ? 'the unnamed group' : `group '${otherGroup}'`}; ` +
          `got it for ${groupName === undefined ? 'the unnamed group' : `group '${groupName}'`} too. Each group keeps its cursors in a table of its own.`,
      );
    }
    if (other !== resource) {
      throw new Error(
        `Stack ${stack.stackName} already declares ${other.node.scope?.node.path ?? other.node.path} as a ` +
          `consumer's cursor table${groupName === undefined ? '' : ` of group '${groupName}'`}; got ${table.node.path} too. ` +
          "A consumer group has one (the ops CLI's reconcile reads one per group).",
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
  if (groupName !== undefined) markGroup(table, groupName);
  resource.addMetadata(CURSOR_TABLE_METADATA, { keyAttribute } satisfies CursorTableAttributes);
}
