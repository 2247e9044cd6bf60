import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { OutboxItem } from '../outbox/outbox-message';
import { unsentMessageAttributes } from '../outbox/unsent-index';
import { updateWithToken } from '../token-update';

export interface RetryFailedFilter {
  /** Only this key's messages. */
  readonly groupKey?: string;
  /** Only this message. */
  readonly messageId?: string;
}

/** Every FAILED outbox message (optionally of one key or one message), in key and sequence order; not half messages. */
export async function listFailed(
  dynamodb: DynamoDBDocumentClient,
  outboxTableName: string,
  filter: RetryFailedFilter = {},
): Promise<OutboxItem[]> {
  const items: OutboxItem[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: outboxTableName,
        ConsistentRead: true,
        FilterExpression: '#status = :failed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':failed': 'FAILED' },
        ExclusiveStartKey: start,
      }),
    );
    items.push(...((page.Items ?? []) as OutboxItem[]));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items
    .filter((item) => !('transactionId' in item)) // a FAILED half message is resolved with commit/rollback, not retried
    .filter((item) => filter.groupKey === undefined || item.groupKey === filter.groupKey)
    .filter((item) => filter.messageId === undefined || item.messageId === filter.messageId)
    .sort((a, b) => (a.groupKey === b.groupKey ? a.sequence - b.sequence : a.groupKey < b.groupKey ? -1 : 1));
}

/**
 * Puts FAILED messages back to PENDING with a fresh attempt budget, so the next compensation sweep re-sends
 * them (same messageId, so a copy that did get through is absorbed by deduplication); their maximum age counts
 * afresh from `now`. Returns the messages it put back. The operator's repair after fixing whatever made them
 * fail (`ops retry-failed`).
 */
export async function retryFailed(
  dynamodb: DynamoDBDocumentClient,
  outboxTableName: string,
  filter: RetryFailedFilter = {},
  now: Date = new Date(),
): Promise<OutboxItem[]> {
  const failed = await listFailed(dynamodb, outboxTableName, filter);
  const retried: OutboxItem[] = [];
  for (const item of failed) {
    const index = unsentMessageAttributes(item.groupKey, item.sequence);
    // With a token: an update whose answer was lost (the SDK's retry failing against its own write) is still
    // reported as put back; one that failed against someone else's change is not ours to report.
    const putBack = await updateWithToken(
      dynamodb,
      {
        TableName: outboxTableName,
        Key: { groupKey: item.groupKey, sequence: item.sequence },
        // (Re)sets the sweep's index keys too, so a message written before the index existed is swept as well.
        UpdateExpression:
          'SET #status = :pending, attempts = :zero, retriedAt = :now, sweepShard = :shard, sweepOrder = :order REMOVE failedAt, lastAttemptAt, leaseUntil',
        ConditionExpression: '#status = :failed',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: {
          ':pending': 'PENDING',
          ':failed': 'FAILED',
          ':zero': 0,
          ':now': now.toISOString(),
          ':shard': index.sweepShard,
          ':order': index.sweepOrder,
        },
      },
      (operation) => operation(),
    );
    if (putBack !== undefined) retried.push(item);
  }
  return retried;
}
