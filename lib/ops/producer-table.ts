import type { ProducerTableAttributes } from '../constructs/resource-roles';
import { OpsError } from './errors';
import { attributesFromMetadata, type FoundTable, firstFound } from './table-metadata';

/** The producer's table `reconcile` reads what was committed from: one item per key, its last sequence in it. */
export interface ProducerTable extends ProducerTableAttributes, FoundTable {}

/** The reference application's producer table (output `OrdersTableName`): an order's id and version. */
export const ORDERS_TABLE_ATTRIBUTES: ProducerTableAttributes = {
  keyAttribute: 'orderId',
  sequenceAttribute: 'version',
};

/** A stack with no producer table known: `reconcile` (and `wait`) cannot tell what was committed. */
export class ProducerTableNotDeclaredError extends OpsError {
  constructor(stackName: string) {
    super(
      `reconcile compares the outbox with the producer's table, and ${stackName} declares none. Either declare it ` +
        'in the CDK app — outbox.addProducer(fn, { producerTable: { table, keyAttribute, sequenceAttribute } }) — ' +
        'and deploy, or give it on the command line: --producer-table NAME --key-attribute A --sequence-attribute A',
    );
    this.name = 'ProducerTableNotDeclaredError';
  }
}

/** The reference application's orders table, when the outputs name it. */
export function producerTableFromOutputs(outputs: {
  readonly OrdersTableName?: string;
}): ProducerTable | undefined {
  return outputs.OrdersTableName === undefined || outputs.OrdersTableName === ''
    ? undefined
    : { tableName: outputs.OrdersTableName, ...ORDERS_TABLE_ATTRIBUTES, source: 'output OrdersTableName' };
}

/**
 * The `reliable-messaging:producer-table` metadata's value, checked: an object with a non-empty `keyAttribute` and
 * `sequenceAttribute`. Throws OutputsNotFoundError naming the resource and what it holds.
 */
export function producerTableAttributes(value: unknown, where: string): ProducerTableAttributes {
  return attributesFromMetadata(value, where, 'producer-table', ['keyAttribute', 'sequenceAttribute']);
}

/**
 * Which producer table, by precedence: the command line's, then the reference application's `OrdersTableName`
 * output, then the table the template marks with the `producer-table` role (and its attributes' metadata).
 */
export function chooseProducerTable(sources: {
  readonly commandLine?: ProducerTable | undefined;
  readonly outputs: { readonly OrdersTableName?: string };
  readonly declared?: ProducerTable | undefined;
}): ProducerTable | undefined {
  return firstFound(sources.commandLine, producerTableFromOutputs(sources.outputs), sources.declared);
}
