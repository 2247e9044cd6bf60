import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type CursorEffect,
  type CursorLocation,
  cursorIncrement,
  cursorValueOr,
} from 'reliable-messaging-serverless/runtime';

/** The message types the shipping group applies (the construct's `messageTypes`); every other one is skipped. */
export const SHIPPING_MESSAGE_TYPES: readonly string[] = ['OrderPlaced', 'PaymentCaptured', 'OrderCancelled'];

export type ShipmentStatus = 'awaiting-payment' | 'ready' | 'cancelled';

/** An order's shipment, as `GET /orders/{id}/shipment` shows it. */
export interface Shipment {
  readonly orderId: string;
  readonly status: ShipmentStatus;
  /** Messages of the shipping types applied to it. */
  readonly events: number;
}

/** The attribute only a cancellation sets (to `'cancelled'`): a later message's status falls back to it. */
const CANCELLED = 'cancelled';

/**
 * The shipping group's state: one item per order in the shipping table (partition key `orderId`), which is also the
 * consumer's cursor table (`cursorTable`, key attribute `orderId`). Its `cursorEffect` writes the status and the
 * count in the same conditional write that moves the order's cursor, so it is applied once and in order with no
 * idempotency record and no read:
 * - OrderPlaced → `awaiting-payment`; PaymentCaptured → `ready`; OrderCancelled → `cancelled`, for good: a later
 *   message keeps it (`cursorValueOr('cancelled', …)`: the status a cancellation left, else the new one);
 * - `events` counts the applied messages of those types (`cursorIncrement()`). Notes and any other type never get
 *   here: the consumer skips them (`messageTypes`), moving the cursor only.
 */
export class ShippingService {
  public readonly cursor: CursorLocation;
  public readonly status: CursorEffect;

  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly shippingTableName: string,
  ) {
    this.cursor = { tableName: shippingTableName, key: (orderId) => ({ orderId }) };
    this.status = { name: 'shipping-status', attributes: (message) => statusAttributes(message.type) };
  }

  /** The order's shipment, or undefined while no message of the shipping types has been applied to it. */
  async getShipment(orderId: string): Promise<Shipment | undefined> {
    const response = await this.dynamodb.send(
      new GetCommand({ TableName: this.shippingTableName, Key: { orderId }, ConsistentRead: true }),
    );
    const item = response.Item;
    if (item?.status === undefined) return undefined;
    return { orderId, status: item.status as ShipmentStatus, events: Number(item.events ?? 0) };
  }
}

/** What a message of a shipping type sets on the order's shipping item (other types never reach the effect). */
function statusAttributes(type: string): Record<string, unknown> | undefined {
  switch (type) {
    case 'OrderPlaced':
      return { status: cursorValueOr(CANCELLED, 'awaiting-payment'), events: cursorIncrement() };
    case 'PaymentCaptured':
      return { status: cursorValueOr(CANCELLED, 'ready'), events: cursorIncrement() };
    case 'OrderCancelled':
      return { status: 'cancelled', [CANCELLED]: 'cancelled', events: cursorIncrement() };
    default:
      return undefined;
  }
}
