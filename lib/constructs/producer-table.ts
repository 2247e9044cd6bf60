import { Annotations, CfnResource, Stack, Token } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type { IConstruct } from 'constructs';
import { markRole, resourcesWithRole } from './resource-role';
import { PRODUCER_TABLE_METADATA, type ProducerTableAttributes } from './resource-roles';

/** The producer's own table (its aggregates), as `reconcile` of the ops CLI reads it. */
export interface ProducerTable extends ProducerTableAttributes {
  /** A table of this stack (`new Table` / `new TableV2`), or an imported one (then only granted, see `addProducer`). */
  readonly table: dynamodb.ITable | dynamodb.ITableV2;
}

/** The id of the warning a producer table that cannot be declared for the ops CLI gets. */
export const PRODUCER_TABLE_UNDECLARED_WARNING = 'reliable-messaging:producerTableUndeclared';

/**
 * Declares `producer.table` for the ops CLI in the stack of `outbox` (the stack `--stack` names): marks its
 * CloudFormation resource with the role `producer-table` and the metadata {@link PRODUCER_TABLE_METADATA}
 * (`{ keyAttribute, sequenceAttribute }`). Fails if the attributes are empty or equal, if `keyAttribute` is not the
 * table's partition key or the table has a sort key (when its schema is known), and if the stack already declares
 * another producer table, or this one with other attributes. A table with no resource in that stack (imported, or
 * of another stack) cannot be declared: it gets a warning instead.
 */
export function declareProducerTable(outbox: IConstruct, producer: ProducerTable): void {
  const { table, keyAttribute, sequenceAttribute } = producer;
  for (const [name, value] of [
    ['keyAttribute', keyAttribute],
    ['sequenceAttribute', sequenceAttribute],
  ] as const) {
    if (value.trim() === '') throw new Error(`producerTable.${name} must name an attribute; got '${value}'`);
  }
  if (keyAttribute === sequenceAttribute) {
    throw new Error(
      `producerTable.keyAttribute and sequenceAttribute must be two attributes; got '${keyAttribute}' for both`,
    );
  }
  const resource = table.node.defaultChild;
  const stack = Stack.of(outbox);
  if (!(resource instanceof CfnResource) || Stack.of(resource) !== stack) {
    Annotations.of(outbox).addWarningV2(
      PRODUCER_TABLE_UNDECLARED_WARNING,
      `The producer table ${table.node.path} has no resource in stack ${stack.stackName}: it is granted, but ` +
        "the ops CLI's reconcile cannot find it there; give reconcile the table on its command line.",
    );
    return;
  }
  validateKeySchema('producerTable', table.node.path, resource, keyAttribute);

  const attributes: ProducerTableAttributes = { keyAttribute, sequenceAttribute };
  const declared = resourcesWithRole(stack, 'producer-table');
  for (const other of declared) {
    if (other !== resource) {
      throw new Error(
        `Stack ${stack.stackName} already declares ${other.node.scope?.node.path ?? other.node.path} as its ` +
          `producer table; got ${table.node.path} too. A stack has one producer table (the ops CLI's reconcile reads ` +
          'one): declare the others without producerTable.',
      );
    }
    const before = other.getMetadata(PRODUCER_TABLE_METADATA) as ProducerTableAttributes;
    if (before.keyAttribute !== keyAttribute || before.sequenceAttribute !== sequenceAttribute) {
      throw new Error(
        `${table.node.path} is already declared as the producer table with keyAttribute '${before.keyAttribute}' ` +
          `and sequenceAttribute '${before.sequenceAttribute}'; got '${keyAttribute}' and '${sequenceAttribute}'`,
      );
    }
    return;
  }
  markRole(table, 'producer-table');
  resource.addMetadata(PRODUCER_TABLE_METADATA, attributes);
}

/**
 * `reconcile` reads one item per key: the key attribute must be the whole primary key, when the schema is known.
 * `prop` names the prop in the messages (`producerTable`, `cursorTable`).
 */
export function validateKeySchema(
  prop: string,
  path: string,
  resource: CfnResource,
  keyAttribute: string,
): void {
  const schema =
    resource instanceof dynamodb.CfnTable || resource instanceof dynamodb.CfnGlobalTable
      ? resource.keySchema
      : undefined;
  if (schema === undefined || Token.isUnresolved(schema) || !Array.isArray(schema)) return;
  const keys: { attributeName: string; keyType: string }[] = [];
  for (const key of schema) {
    if (Token.isUnresolved(key)) return;
    keys.push(key as { attributeName: string; keyType: string });
  }
  const partitionKey = keys.filter((key) => key.keyType === 'HASH').map((key) => key.attributeName);
  if (partitionKey.length > 0 && (partitionKey.length > 1 || partitionKey[0] !== keyAttribute)) {
    throw new Error(
      `${prop}.keyAttribute must be the partition key of ${path} ('${partitionKey.join("', '")}'); ` +
        `got '${keyAttribute}'`,
    );
  }
  const sortKey = keys.filter((key) => key.keyType === 'RANGE').map((key) => key.attributeName);
  if (sortKey.length > 0) {
    throw new Error(
      `${prop} ${path} has a sort key ('${sortKey.join("', '")}'): reconcile reads one item per message ` +
        'key, so the table must be keyed by its partition key only',
    );
  }
}
