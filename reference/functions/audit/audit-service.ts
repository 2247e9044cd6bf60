import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoEffect, MessageEnvelope, TransactItem } from 'reliable-messaging-serverless/runtime';

/** One entry of an order's audit trail, as `GET /orders/{id}/audit` shows it. */
export interface AuditEntry {
  readonly sequence: number;
  readonly type: string;
  /** 1, 2, 3, … in the order the audit consumer applied the messages (which is sequence order). */
  readonly position: number;
}

/** An audit item (partition key `orderId`, sort key `position`). */
interface AuditItem extends AuditEntry {
  readonly orderId: string;
  readonly messageId: string;
  readonly traceparent?: string;
  readonly appliedAt: string;
}

/**
 * The audit group's effect: an append-only trail per order, one item per message of every type, at positions
 * 1, 2, 3, … (the audit table: partition key `orderId`, sort key `position`).
 *
 * `entry` reads the order's last position (a Query, descending, Limit 1) and puts the message at the next one, on
 * condition that the position is free. It runs under the `transaction` strategy: the inbox mark and the put are one
 * transaction, so a redelivery (its answer lost, a crash before the acknowledgement) finds the mark and adds
 * nothing. Positions have no holes and no doubles because the consumer applies one key's messages one at a time, in
 * order; the condition turns any other writer of the same position into a failed (retried) attempt, never a
 * silent overwrite.
 */
export class AuditService {
  public readonly entry: DynamoEffect;

  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly auditTableName: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    this.entry = { name: 'audit', items: (message) => this.entryItems(message) };
  }

  /** An order's audit trail by position, every page of it. */
  async getEntries(orderId: string): Promise<AuditEntry[]> {
    const entries: AuditEntry[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.auditTableName,
          KeyConditionExpression: 'orderId = :orderId',
          ExpressionAttributeValues: { ':orderId': orderId },
          ConsistentRead: true,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const item of (response.Items ?? []) as AuditItem[]) {
        entries.push({ sequence: Number(item.sequence), type: item.type, position: Number(item.position) });
      }
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return entries.sort((a, b) => a.position - b.position);
  }

  /** The position of the order's last entry (0: none yet). */
  private async lastPosition(orderId: string): Promise<number> {
    const response = await this.dynamodb.send(
      new QueryCommand({
        TableName: this.auditTableName,
        KeyConditionExpression: 'orderId = :orderId',
        ExpressionAttributeValues: { ':orderId': orderId },
        ScanIndexForward: false,
        Limit: 1,
        ConsistentRead: true,
      }),
    );
    const last = response.Items?.[0];
    return last === undefined ? 0 : Number(last.position);
  }

  private async entryItems(message: MessageEnvelope): Promise<TransactItem[]> {
    const orderId = message.groupKey;
    const item: AuditItem = {
      orderId,
      position: (await this.lastPosition(orderId)) + 1,
      sequence: message.sequence,
      type: message.type,
      messageId: message.messageId,
      ...(message.traceparent === undefined ? {} : { traceparent: message.traceparent }),
      appliedAt: this.clock().toISOString(),
    };
    return [
      {
        Put: {
          TableName: this.auditTableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(orderId)',
        },
      },
    ];
  }
}
