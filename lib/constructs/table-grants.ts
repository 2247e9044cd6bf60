import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';

/** The DynamoDB item actions a function's code may call, as IAM names them (without the `dynamodb:` prefix). */
export type ItemAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'Query'
  | 'Scan'
  | 'ConditionCheckItem'
  | 'PutItem'
  | 'UpdateItem'
  | 'DeleteItem'
  | 'BatchWriteItem';

const READ_ONLY: ReadonlySet<ItemAction> = new Set(['GetItem', 'BatchGetItem', 'Query', 'Scan']);

/**
 * Lets `grantee` call exactly `actions` on the table (and its indexes), and use the table's key as those actions
 * need: decrypt for reads, encrypt and decrypt once anything writes. Least privilege: grant what the code calls.
 */
export function grantItemActions(
  table: dynamodb.ITable,
  grantee: iam.IGrantable,
  ...actions: ItemAction[]
): iam.Grant {
  if (actions.length === 0) throw new Error('grantItemActions needs at least one action; got none');
  if (actions.every((action) => READ_ONLY.has(action))) table.encryptionKey?.grantDecrypt(grantee);
  else table.encryptionKey?.grantEncryptDecrypt(grantee);
  return table.grant(grantee, ...actions.map((action) => `dynamodb:${action}`));
}

/** Lets `grantee` query one index of the table, and nothing else: not the table, not its other indexes. */
export function grantIndexQuery(
  table: dynamodb.ITable,
  indexName: string,
  grantee: iam.IGrantable,
): iam.Grant {
  table.encryptionKey?.grantDecrypt(grantee);
  return iam.Grant.addToPrincipal({
    grantee,
    actions: ['dynamodb:Query'],
    resourceArns: [`${table.tableArn}/index/${indexName}`],
  });
}
