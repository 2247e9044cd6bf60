import { type DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import type { MessageEnvelope } from '../../runtime/outbox/outbox-message';
import type { TransactItem } from '../../runtime/outbox/outbox-writer';
import type { OrderCancelled, OrderNoteAdded, OrderPlaced } from '../orders/order-events';
import type { OrderLine } from '../orders/order-schemas';
import type { PaymentCaptured } from '../payments/payment-service';

/** The consumer's projection of an order (what `GET /orders/{id}/view` answers). */
export interface OrderView {
  readonly orderId: string;
  readonly status: 'PLACED' | 'CANCELLED';
  readonly version: number;
  readonly notes: readonly string[];
  readonly paid: boolean;
}

export interface InventoryLevel {
  readonly sku: string;
  readonly reserved: number;
}

/** Items of the projection table (keys `pk`, `sk`). */
const viewKey = (orderId: string) => ({ pk: `ORDER#${orderId}`, sk: 'VIEW' });
const inventoryKey = (sku: string) => ({ pk: `SKU#${sku}`, sk: 'INVENTORY' });

export class UnknownMessageTypeError extends Error {
  constructor(type: string) {
    super(`no projection handles message type ${type}`);
    this.name = 'UnknownMessageTypeError';
  }
}

/**
 * The reference consumer's effects: an order view and inventory reservations. Each message's effect is
 * ONE DynamoDB transaction (view + every SKU it touches), so it is all-or-nothing and durable when it resolves.
 */
export class ProjectionService {
  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly projectionTableName: string,
  ) {}

  /** Applies a message's effect. */
  async apply(message: MessageEnvelope): Promise<void> {
    const items = this.effectOf(message);
    await this.dynamodb.send(new TransactWriteCommand({ TransactItems: items }));
  }

  async getView(orderId: string): Promise<OrderView | undefined> {
    const response = await this.dynamodb.send(
      new GetCommand({ TableName: this.projectionTableName, Key: viewKey(orderId), ConsistentRead: true }),
    );
    if (response.Item === undefined) return undefined;
    const { orderId: id, status, version, notes, paid } = response.Item as OrderView;
    return { orderId: id, status, version, notes: notes ?? [], paid: paid ?? false };
  }

  async getInventory(sku: string): Promise<InventoryLevel> {
    const response = await this.dynamodb.send(
      new GetCommand({ TableName: this.projectionTableName, Key: inventoryKey(sku), ConsistentRead: true }),
    );
    return { sku, reserved: Number(response.Item?.reserved ?? 0) };
  }

  private effectOf(message: MessageEnvelope): TransactItem[] {
    const table = this.projectionTableName;
    switch (message.type) {
      case 'OrderPlaced': {
        const placed = message.payload as OrderPlaced;
        return [
          {
            Put: {
              TableName: table,
              Item: {
                ...viewKey(placed.orderId),
                orderId: placed.orderId,
                status: 'PLACED',
                version: message.sequence,
                notes: [],
                paid: false,
              },
            },
          },
          ...this.reserve(placed.items, +1),
        ];
      }
      case 'OrderNoteAdded': {
        const note = message.payload as OrderNoteAdded;
        return [
          {
            Update: {
              TableName: table,
              Key: viewKey(note.orderId),
              UpdateExpression:
                'SET notes = list_append(if_not_exists(notes, :empty), :note), version = :version',
              ExpressionAttributeValues: { ':empty': [], ':note': [note.text], ':version': message.sequence },
            },
          },
        ];
      }
      case 'OrderCancelled': {
        const cancelled = message.payload as OrderCancelled;
        return [
          {
            Update: {
              TableName: table,
              Key: viewKey(cancelled.orderId),
              UpdateExpression: 'SET #status = :cancelled, version = :version',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':cancelled': 'CANCELLED', ':version': message.sequence },
            },
          },
          ...this.reserve(cancelled.items, -1),
        ];
      }
      case 'PaymentCaptured': {
        const payment = message.payload as PaymentCaptured;
        return [
          {
            Update: {
              TableName: table,
              Key: viewKey(payment.orderId),
              UpdateExpression: 'SET paid = :paid, version = :version',
              ExpressionAttributeValues: { ':paid': true, ':version': message.sequence },
            },
          },
        ];
      }
      default:
        throw new UnknownMessageTypeError(message.type);
    }
  }

  /** One update per SKU (quantities of repeated SKUs are summed: a transaction may touch an item once). */
  private reserve(lines: readonly OrderLine[], sign: 1 | -1): TransactItem[] {
    const bySku = new Map<string, number>();
    for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
    return [...bySku].map(([sku, quantity]) => ({
      Update: {
        TableName: this.projectionTableName,
        Key: inventoryKey(sku),
        UpdateExpression: 'SET sku = :sku ADD reserved :delta',
        ExpressionAttributeValues: { ':sku': sku, ':delta': sign * quantity },
      },
    }));
  }
}
