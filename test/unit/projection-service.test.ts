import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type {
  OrderCancelled,
  OrderNoteAdded,
  OrderPlaced,
} from '../../functions/reference/orders/order-events';
import {
  ProjectionService,
  UnknownMessageTypeError,
} from '../../functions/reference/projection/projection-service';
import type { MessageEnvelope } from '../../functions/runtime/outbox/outbox-message';
import type { TransactItem } from '../../functions/runtime/outbox/outbox-writer';

const PROJECTION_TABLE = 'projection-table';

const ddb = mockClient(DynamoDBDocumentClient);

function newProjection(): ProjectionService {
  return new ProjectionService(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    PROJECTION_TABLE,
  );
}

function envelope<T>(type: string, sequence: number, payload: T): MessageEnvelope<T> {
  return {
    messageId: `msg-${sequence}`,
    groupKey: 'order-1',
    sequence,
    type,
    payload,
    createdAt: '2026-03-01T12:00:00.000Z',
  };
}

function inventoryUpdate(sku: string, delta: number): TransactItem {
  return {
    Update: {
      TableName: PROJECTION_TABLE,
      Key: { pk: `SKU#${sku}`, sk: 'INVENTORY' },
      UpdateExpression: 'SET sku = :sku ADD reserved :delta',
      ExpressionAttributeValues: { ':sku': sku, ':delta': delta },
    },
  };
}

function theTransaction(): TransactItem[] {
  const calls = ddb.commandCalls(TransactWriteCommand);
  expect(calls).toHaveLength(1);
  return calls[0]!.args[0].input.TransactItems ?? [];
}

beforeEach(() => {
  ddb.reset();
  ddb.on(TransactWriteCommand).resolves({});
});

describe('ProjectionService.apply', () => {
  describe('OrderPlaced', () => {
    it('creates the PLACED view at the message sequence and reserves each SKU, in one transaction', async () => {
      // GIVEN
      const placed: OrderPlaced = {
        orderId: 'order-1',
        customerId: 'customer-1',
        items: [
          { sku: 'sku-a', quantity: 2 },
          { sku: 'sku-b', quantity: 5 },
        ],
      };

      // WHEN
      await newProjection().apply(envelope('OrderPlaced', 1, placed));

      // THEN
      expect(theTransaction()).toEqual([
        {
          Put: {
            TableName: PROJECTION_TABLE,
            Item: {
              pk: 'ORDER#order-1',
              sk: 'VIEW',
              orderId: 'order-1',
              status: 'PLACED',
              version: 1,
              notes: [],
              paid: false,
            },
          },
        },
        inventoryUpdate('sku-a', 2),
        inventoryUpdate('sku-b', 5),
      ]);
    });

    it('sums the quantities of a SKU that appears on several lines into one update', async () => {
      // GIVEN
      const placed: OrderPlaced = {
        orderId: 'order-1',
        customerId: 'customer-1',
        items: [
          { sku: 'sku-a', quantity: 2 },
          { sku: 'sku-b', quantity: 1 },
          { sku: 'sku-a', quantity: 3 },
          { sku: 'sku-a', quantity: 4 },
        ],
      };

      // WHEN
      await newProjection().apply(envelope('OrderPlaced', 1, placed));

      // THEN
      const inventory = theTransaction().slice(1);
      expect(inventory).toEqual([inventoryUpdate('sku-a', 9), inventoryUpdate('sku-b', 1)]);
    });
  });

  describe('OrderNoteAdded', () => {
    it('appends the note to the view and sets its version, touching no inventory', async () => {
      // GIVEN
      const note: OrderNoteAdded = { orderId: 'order-1', text: 'leave at the door' };

      // WHEN
      await newProjection().apply(envelope('OrderNoteAdded', 4, note));

      // THEN
      expect(theTransaction()).toEqual([
        {
          Update: {
            TableName: PROJECTION_TABLE,
            Key: { pk: 'ORDER#order-1', sk: 'VIEW' },
            UpdateExpression:
              'SET notes = list_append(if_not_exists(notes, :empty), :note), version = :version',
            ExpressionAttributeValues: { ':empty': [], ':note': ['leave at the door'], ':version': 4 },
          },
        },
      ]);
    });
  });

  describe('OrderCancelled', () => {
    it('marks the view CANCELLED at the message sequence and releases the summed reservations', async () => {
      // GIVEN
      const cancelled: OrderCancelled = {
        orderId: 'order-1',
        items: [
          { sku: 'sku-a', quantity: 2 },
          { sku: 'sku-b', quantity: 5 },
          { sku: 'sku-a', quantity: 1 },
        ],
        reason: 'changed my mind',
      };

      // WHEN
      await newProjection().apply(envelope('OrderCancelled', 3, cancelled));

      // THEN
      expect(theTransaction()).toEqual([
        {
          Update: {
            TableName: PROJECTION_TABLE,
            Key: { pk: 'ORDER#order-1', sk: 'VIEW' },
            UpdateExpression: 'SET #status = :cancelled, version = :version',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: { ':cancelled': 'CANCELLED', ':version': 3 },
          },
        },
        inventoryUpdate('sku-a', -3),
        inventoryUpdate('sku-b', -5),
      ]);
    });

    it('only updates the view when the cancelled order had no lines', async () => {
      // GIVEN
      const cancelled: OrderCancelled = { orderId: 'order-1', items: [] };

      // WHEN
      await newProjection().apply(envelope('OrderCancelled', 2, cancelled));

      // THEN
      expect(theTransaction()).toHaveLength(1);
    });
  });

  describe('failures', () => {
    it('throws UnknownMessageTypeError for a type it does not know, writing nothing', async () => {
      // GIVEN
      const message = envelope('OrderShipped', 5, { orderId: 'order-1' });

      // WHEN
      const applying = newProjection().apply(message);

      // THEN
      await expect(applying).rejects.toBeInstanceOf(UnknownMessageTypeError);
      await expect(applying).rejects.toThrow('OrderShipped');
      expect(ddb.calls()).toHaveLength(0);
    });

    it('rejects when the transaction fails, so the message is retried', async () => {
      // GIVEN
      const failure = new Error('throttled');
      ddb.on(TransactWriteCommand).rejects(failure);
      const note: OrderNoteAdded = { orderId: 'order-1', text: 'x' };

      // WHEN
      const applying = newProjection().apply(envelope('OrderNoteAdded', 2, note));

      // THEN
      await expect(applying).rejects.toBe(failure);
    });
  });
});

describe('ProjectionService reads', () => {
  it('answers the view of an order, with notes and paid defaulted when absent', async () => {
    // GIVEN
    ddb.on(GetCommand, { Key: { pk: 'ORDER#order-1', sk: 'VIEW' } }).resolves({
      Item: { pk: 'ORDER#order-1', sk: 'VIEW', orderId: 'order-1', status: 'PLACED', version: 2 },
    });

    // WHEN
    const view = await newProjection().getView('order-1');

    // THEN
    expect(view).toEqual({ orderId: 'order-1', status: 'PLACED', version: 2, notes: [], paid: false });
    expect(ddb.commandCalls(GetCommand)[0]?.args[0].input).toEqual({
      TableName: PROJECTION_TABLE,
      Key: { pk: 'ORDER#order-1', sk: 'VIEW' },
      ConsistentRead: true,
    });
  });

  it('answers undefined for an order it has no view of', async () => {
    // GIVEN
    ddb.on(GetCommand).resolves({});

    // WHEN
    const view = await newProjection().getView('order-2');

    // THEN
    expect(view).toBeUndefined();
  });

  it('answers the reserved quantity of a SKU, 0 when it was never reserved', async () => {
    // GIVEN
    ddb
      .on(GetCommand, { Key: { pk: 'SKU#sku-a', sk: 'INVENTORY' } })
      .resolves({ Item: { sku: 'sku-a', reserved: 7 } });
    ddb.on(GetCommand, { Key: { pk: 'SKU#sku-z', sk: 'INVENTORY' } }).resolves({});
    const projection = newProjection();

    // WHEN
    const reserved = await projection.getInventory('sku-a');
    const never = await projection.getInventory('sku-z');

    // THEN
    expect(reserved).toEqual({ sku: 'sku-a', reserved: 7 });
    expect(never).toEqual({ sku: 'sku-z', reserved: 0 });
  });
});
