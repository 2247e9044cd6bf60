import { type DynamoDBDocumentClient, ScanCommand, type ScanCommandOutput } from '@aws-sdk/lib-dynamodb';

/** Items as a Scan returns them. */
export type ScannedItems = NonNullable<ScanCommandOutput['Items']>;

/** Every item of a table: a consistent Scan, page after page. */
export async function scanTable(dynamodb: DynamoDBDocumentClient, tableName: string): Promise<ScannedItems> {
  const items: ScannedItems = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({ TableName: tableName, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}
