import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import {
  type CommitOptions,
  type IdempotentRequest,
  newMessageId,
  type OutboxWriter,
  type TransactItem,
  TransactionConflictError,
} from 'reliable-messaging-serverless/runtime';
import { requestTrace } from '../http/request-trace';
import { OrderConflictError, OrderLimitError, OrderNotFoundError } from './order-errors';
import type { OrderCancelled, OrderNoteAdded, OrderPlaced } from './order-events';
import {
  type AddNoteInput,
  type CancelOrderInput,
  MAX_NOTES_BYTES,
  MAX_NOTES_PER_ORDER,
  type OrderLine,
  type PlaceOrderInput,
} from './order-schemas';

export type OrderStatus = 'PLACED' | 'CANCELLED';

/** The producer's order, as stored in the orders table (key `orderId`). */
export interface Order {
  readonly orderId: string;
  readonly customerId: string;
  readonly items: readonly OrderLine[];
  readonly status: OrderStatus;
  readonly version: number;
  readonly notes: readonly string[];
  /** Set when a payment's transactional message commits. */
  readonly paid?: boolean;
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface OrderChange {
  readonly orderId: string;
  readonly version: number;
  readonly messageId: string;
}

/** How often a note is retried when another change of the same order won the race for its version. */
const MAX_VERSION_RACES = 5;

/** Commits under the request's idempotency key, if it has one: the key stores the change's answer. */
function underKey(
  orderId: string,
  version: number,
  idempotency: IdempotentRequest<OrderChange> | undefined,
): CommitOptions {
  if (idempotency === undefined) return {};
  return {
    idempotency: {
      claim: idempotency.claim,
      response: (message) => idempotency.response({ orderId, version, messageId: message.messageId }),
    },
  };
}

/**
 * The reference producer. Every change writes the order (conditional on its old version) and the outbox
 * message announcing it (sequence = new version) in one transaction, and returns only after the commit. A change
 * made under an idempotency key completes the key in that same transaction.
 */
export class OrderService {
  constructor(
    private readonly dynamodb: DynamoDBDocumentClient,
    private readonly ordersTableName: string,
    private readonly outbox: OutboxWriter,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async placeOrder(
    input: PlaceOrderInput,
    idempotency?: IdempotentRequest<OrderChange>,
  ): Promise<OrderChange> {
    const orderId = input.orderId ?? newMessageId();
    const now = this.clock().toISOString();
    const order: Order = {
      orderId,
      customerId: input.customerId,
      items: input.items,
      status: 'PLACED',
      version: 1,
      notes: [],
      createdAt: now,
      updatedAt: now,
    };
    const payload: OrderPlaced = { orderId, customerId: input.customerId, items: input.items };
    try {
      const message = await this.outbox.commit(
        [
          {
            Put: {
              TableName: this.ordersTableName,
              Item: { ...order },
              ConditionExpression: 'attribute_not_exists(orderId)',
            },
          },
        ],
        { groupKey: orderId, sequence: 1, type: 'OrderPlaced', payload, ...requestTrace() },
        underKey(orderId, 1, idempotency),
      );
      return { orderId, version: 1, messageId: message.messageId };
    } catch (error) {
      if (error instanceof TransactionConflictError) {
        throw new OrderConflictError(`order ${orderId} already exists`, { cause: error });
      }
      throw error;
    }
  }

  /**
   * Adds a note (version + 1 and its message). The bound is checked on the order as read, and the write is
   * conditional on that version, so no race takes an order past it.
   * @throws OrderLimitError when the order holds MAX_NOTES_PER_ORDER notes, or the note would take its notes past
   *   MAX_NOTES_BYTES (nothing written)
   */
  async addNote(
    orderId: string,
    input: AddNoteInput,
    idempotency?: IdempotentRequest<OrderChange>,
  ): Promise<OrderChange> {
    for (let race = 1; ; race++) {
      const order = await this.requireOrder(orderId);
      if (input.expectedVersion !== undefined && input.expectedVersion !== order.version) {
        throw new OrderConflictError(
          `order ${orderId} is at version ${order.version}, not the expected version ${input.expectedVersion}`,
        );
      }
      checkNoteFits(order, input.text);
      const payload: OrderNoteAdded = { orderId, text: input.text };
      const update = this.versionedUpdate(order, 'SET notes = list_append(notes, :note)', {
        ':note': [input.text],
      });
      try {
        return await this.commitChange(order, update, 'OrderNoteAdded', payload, idempotency);
      } catch (error) {
        if (!(error instanceof TransactionConflictError)) throw error;
        if (input.expectedVersion !== undefined || race >= MAX_VERSION_RACES) {
          throw new OrderConflictError(`order ${orderId} changed concurrently; retry`, { cause: error });
        }
      }
    }
  }

  async cancelOrder(
    orderId: string,
    input: CancelOrderInput,
    idempotency?: IdempotentRequest<OrderChange>,
  ): Promise<OrderChange> {
    const order = await this.requireOrder(orderId);
    if (order.status === 'CANCELLED') throw new OrderConflictError(`order ${orderId} is already cancelled`);
    const payload: OrderCancelled = {
      orderId,
      items: order.items,
      ...(input.reason === undefined ? {} : { reason: input.reason }),
    };
    const update = this.versionedUpdate(order, 'SET #status = :cancelled', { ':cancelled': 'CANCELLED' });
    try {
      return await this.commitChange(order, update, 'OrderCancelled', payload, idempotency);
    } catch (error) {
      if (error instanceof TransactionConflictError) {
        throw new OrderConflictError(`order ${orderId} changed concurrently; retry`, { cause: error });
      }
      throw error;
    }
  }

  async getOrder(orderId: string): Promise<Order | undefined> {
    const response = await this.dynamodb.send(
      new GetCommand({ TableName: this.ordersTableName, Key: { orderId }, ConsistentRead: true }),
    );
    return response.Item as Order | undefined;
  }

  private async requireOrder(orderId: string): Promise<Order> {
    const order = await this.getOrder(orderId);
    if (order === undefined) throw new OrderNotFoundError(orderId);
    return order;
  }

  /** An update of the order to version + 1, conditional on the version we read. */
  private versionedUpdate(order: Order, set: string, values: Record<string, unknown>): TransactItem {
    return {
      Update: {
        TableName: this.ordersTableName,
        Key: { orderId: order.orderId },
        UpdateExpression: `${set}, version = :next, updatedAt = :now`,
        ConditionExpression: 'version = :current',
        ExpressionAttributeNames: set.includes('#status') ? { '#status': 'status' } : undefined,
        ExpressionAttributeValues: {
          ...values,
          ':next': order.version + 1,
          ':current': order.version,
          ':now': this.clock().toISOString(),
        },
      },
    };
  }

  private async commitChange(
    order: Order,
    update: TransactItem,
    type: string,
    payload: unknown,
    idempotency: IdempotentRequest<OrderChange> | undefined,
  ): Promise<OrderChange> {
    const version = order.version + 1;
    const message = await this.outbox.commit(
      [update],
      { groupKey: order.orderId, sequence: version, type, payload, ...requestTrace() },
      underKey(order.orderId, version, idempotency),
    );
    return { orderId: order.orderId, version, messageId: message.messageId };
  }
}

/** Refuses a note that would take the order past its bounds. */
function checkNoteFits(order: Order, text: string): void {
  const { notes } = order;
  if (notes.length >= MAX_NOTES_PER_ORDER) {
    throw new OrderLimitError(
      'text',
      `order ${order.orderId} has ${notes.length} notes: no more can be added`,
      `an order keeps at most ${MAX_NOTES_PER_ORDER} notes`,
    );
  }
  const bytes = [...notes, text].reduce((total, note) => total + Buffer.byteLength(note, 'utf8'), 0);
  if (bytes > MAX_NOTES_BYTES) {
    throw new OrderLimitError(
      'text',
      `order ${order.orderId}: this note would take its notes to ${bytes} bytes`,
      `an order keeps at most ${MAX_NOTES_BYTES} bytes of notes (UTF-8)`,
    );
  }
}
