import { type DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { DynamoEffect, MessageEnvelope, TransactItem } from 'reliable-messaging-serverless/runtime';
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

const NOTIFICATIONS_SK = 'NOTIFICATIONS';

/** Entries of one item of an order's notifications log: about 40 bytes each, so an item stays under 10 KB. */
export const NOTIFICATIONS_PER_PAGE = 200;

/**
 * The item of an order's notifications log that holds the entry of `sequence`: the log is cut into pages of
 * NOTIFICATIONS_PER_PAGE entries, so no item grows without limit (DynamoDB refuses items over 400 KB, and an effect
 * that cannot be written parks its key). Page 0 (sequences 1 to 200, every order in practice) is `NOTIFICATIONS`,
 * page p `NOTIFICATIONS#<p, zero-padded>`: in sort-key order, which is the log's order.
 */
const notificationsKey = (orderId: string, sequence: number) => {
  const page = Math.floor((sequence - 1) / NOTIFICATIONS_PER_PAGE);
  return {
    pk: `ORDER#${orderId}`,
    sk: page === 0 ? NOTIFICATIONS_SK : `${NOTIFICATIONS_SK}#${String(page).padStart(10, '0')}`,
  };
};

export class UnknownMessageTypeError extends Error {
  constructor(type: string) {
    super(`no projection handles message type ${type}`);
    this.name = 'UnknownMessageTypeError';
  }
}

const KNOWN_TYPES = new Set(['OrderPlaced', 'OrderNoteAdded', 'OrderCancelled', 'PaymentCaptured']);

/**
 * The reference consumer's three effects, one per idempotency strategy it demonstrates:
 * - `view` — the order's projection; every write sets the view's version to the message's sequence, so it suits
 *   the `version` strategy (the write is conditional on the previous version);
 * - `inventory` — reservations per SKU, incremented and decremented (`ADD`): not idempotent by itself, so it uses the
 *   `transaction` strategy (inbox mark + increments in one transaction);
 * - `notifications` — a log of what the customer was told, appended to: the `unique` strategy (claim, then the append
 *   and the claim's mark in one transaction), so it runs end to end somewhere; `transaction` would guarantee the
 *   same for one write less. The log is kept in pages of NOTIFICATIONS_PER_PAGE entries, so no item outgrows
 *   DynamoDB's 400 KB.
 * Each effect's writes for one message are one transaction, so an effect is all-or-nothing.
 *
 * The view holds the order's notes, as the producer bounds them (100 notes of at most 1,000 characters: at most
 * 300 KB of UTF-8, three bytes per UTF-16 unit at worst), so it stays under 400 KB.
 */
export class ProjectionService {
  public readonly view: DynamoEffect;
  public readonly inventory: DynamoEffect;
  public readonly notifications: DynamoEffect;

  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly projectionTableName: string,
  ) {
    this.view = {
      name: 'view',
      items: (message) => this.viewItems(message),
      versionTarget: (message) => ({
        tableName: projectionTableName,
        key: viewKey((message.payload as { orderId: string }).orderId),
      }),
    };
    this.inventory = { name: 'inventory', items: (message) => this.inventoryItems(message) };
    this.notifications = { name: 'notifications', items: (message) => this.notificationItems(message) };
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

  /** The notifications log of an order: one entry per message, `<sequence>:<type>`, in applied order. */
  async getNotifications(orderId: string): Promise<string[]> {
    const entries: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const response = await this.dynamodb.send(
        new QueryCommand({
          TableName: this.projectionTableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :notifications)',
          ExpressionAttributeValues: { ':pk': `ORDER#${orderId}`, ':notifications': NOTIFICATIONS_SK },
          ConsistentRead: true,
          ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
        }),
      );
      for (const page of response.Items ?? [])
        entries.push(...((page.entries as string[] | undefined) ?? []));
      startKey = response.LastEvaluatedKey;
    } while (startKey !== undefined);
    return entries;
  }

  private viewItems(message: MessageEnvelope): TransactItem[] {
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
        ];
      }
      case 'OrderNoteAdded': {
        const note = message.payload as OrderNoteAdded;
        return [
          this.viewUpdate(
            note.orderId,
            message.sequence,
            'notes = list_append(if_not_exists(notes, :empty), :note)',
            {
              ':empty': [],
              ':note': [note.text],
            },
          ),
        ];
      }
      case 'OrderCancelled': {
        const cancelled = message.payload as OrderCancelled;
        return [
          this.viewUpdate(cancelled.orderId, message.sequence, '#status = :cancelled', {
            ':cancelled': 'CANCELLED',
          }),
        ];
      }
      case 'PaymentCaptured': {
        const payment = message.payload as PaymentCaptured;
        return [this.viewUpdate(payment.orderId, message.sequence, 'paid = :paid', { ':paid': true })];
      }
      default:
        throw new UnknownMessageTypeError(message.type);
    }
  }

  private viewUpdate(
    orderId: string,
    sequence: number,
    set: string,
    values: Record<string, unknown>,
  ): TransactItem {
    return {
      Update: {
        TableName: this.projectionTableName,
        Key: viewKey(orderId),
        UpdateExpression: `SET ${set}, version = :version`,
        ...(set.includes('#status') ? { ExpressionAttributeNames: { '#status': 'status' } } : {}),
        ExpressionAttributeValues: { ...values, ':version': sequence },
      },
    };
  }

  private inventoryItems(message: MessageEnvelope): TransactItem[] {
    switch (message.type) {
      case 'OrderPlaced':
        return this.reserve((message.payload as OrderPlaced).items, +1);
      case 'OrderCancelled':
        return this.reserve((message.payload as OrderCancelled).items, -1);
      default:
        if (!KNOWN_TYPES.has(message.type)) throw new UnknownMessageTypeError(message.type);
        return [];
    }
  }

  private notificationItems(message: MessageEnvelope): TransactItem[] {
    if (!KNOWN_TYPES.has(message.type)) throw new UnknownMessageTypeError(message.type);
    const orderId = (message.payload as { orderId: string }).orderId;
    return [
      {
        Update: {
          TableName: this.projectionTableName,
          Key: notificationsKey(orderId, message.sequence),
          UpdateExpression: 'SET entries = list_append(if_not_exists(entries, :empty), :entry)',
          ExpressionAttributeValues: { ':empty': [], ':entry': [`${message.sequence}:${message.type}`] },
        },
      },
    ];
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
