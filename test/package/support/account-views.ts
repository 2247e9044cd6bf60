import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { DeployedStack } from 'reliable-messaging-serverless/testing';

/** An item of the shop's view table (examples/shop: the consumer's cursor, in the view). */
export interface AccountView {
  readonly pk: string;
  readonly lastSequence: number;
  readonly latestType?: string;
}

export function documentClient(stack: DeployedStack): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.endpoint,
      region: stack.region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
}

/** Every item of a table (small tables of a test run). */
export async function scanAll<T>(dynamodb: DynamoDBDocumentClient, tableName: string): Promise<T[]> {
  const items: T[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...((page.Items ?? []) as T[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}

/**
 * Watches the view table while the messages flow: every `lastSequence` seen of each of `accounts`, in the order seen
 * (a value is recorded when it differs from the one seen before). `stop()` ends the watch and returns the histories.
 */
export function watchViews(dynamodb: DynamoDBDocumentClient, tableName: string, accounts: readonly string[]) {
  const histories = new Map<string, number[]>(accounts.map((account) => [account, []]));
  let watching = true;
  const loop = (async () => {
    while (watching) {
      for (const view of await scanAll<AccountView>(dynamodb, tableName)) {
        const history = histories.get(view.pk);
        if (history !== undefined && history.at(-1) !== view.lastSequence) history.push(view.lastSequence);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    stop: async () => {
      watching = false;
      await loop;
      return histories;
    },
  };
}
