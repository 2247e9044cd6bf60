import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { MessageEnvelope } from '../../../functions/runtime/outbox/outbox-message';
import type { PaymentCaptured } from '../../../reference/functions/payments/payment-service';
import { ProjectionService } from '../../../reference/functions/projection/projection-service';
import { InMemoryDynamoDb, type Item } from '../../../tools/dynamodb/in-memory-dynamodb';

const PROJECTION_TABLE = 'projection-table';

const ddb = mockClient(DynamoDBDocumentClient);
const dynamodb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));

let db: InMemoryDynamoDb;
let projection: ProjectionService;

function paymentCaptured(sequence: number, orderId = 'order-1'): MessageEnvelope<PaymentCaptured> {
  return {
    messageId: `msg-${orderId}-${sequence}`,
    groupKey: orderId,
    sequence,
    type: 'PaymentCaptured',
    payload: { orderId, transactionId: 'tx-1', amount: 30 },
    createdAt: '2026-03-01T12:00:00.000Z',
  };
}

function placedView(orderId: string, version: number, changes: Item = {}): Item {
  return {
    pk: `ORDER#${orderId}`,
    sk: 'VIEW',
    orderId,
    status: 'PLACED',
    version,
    notes: ['leave at the door'],
    paid: false,
    ...changes,
  };
}

/** Writes an effect's items the way every strategy ends up writing them: one transaction. */
async function write(items: ReturnType<ProjectionService['view']['items']>): Promise<void> {
  await dynamodb.send(new TransactWriteCommand({ TransactItems: await items }));
}

beforeEach(() => {
  ddb.reset();
  db = new InMemoryDynamoDb({ [PROJECTION_TABLE]: ['pk', 'sk'] });
  db.install(ddb);
  projection = new ProjectionService(dynamodb, PROJECTION_TABLE);
});

describe('ProjectionService: the PaymentCaptured effect', () => {
  describe('on the view', () => {
    it('is one update of the order’s view that sets paid and the message’s sequence as its version', async () => {
      // WHEN
      const items = await projection.view.items(paymentCaptured(3));

      // THEN
      expect(items).toHaveLength(1);
      const update = items[0]?.Update;
      expect(update?.TableName).toBe(PROJECTION_TABLE);
      expect(update?.Key).toEqual({ pk: 'ORDER#order-1', sk: 'VIEW' });
      expect(update?.ExpressionAttributeValues).toEqual({ ':paid': true, ':version': 3 });
      expect(update?.UpdateExpression).toBe('SET paid = :paid, version = :version');
    });

    it('marks the view paid at the message’s version and keeps the rest of it', async () => {
      // GIVEN the view of a placed order with a note, at version 2
      db.seed(PROJECTION_TABLE, placedView('order-1', 2));

      // WHEN
      await write(projection.view.items(paymentCaptured(3)));

      // THEN
      expect(await projection.getView('order-1')).toEqual({
        orderId: 'order-1',
        status: 'PLACED',
        version: 3,
        notes: ['leave at the door'],
        paid: true,
      });
    });

    it('leaves a cancelled order cancelled', async () => {
      // GIVEN
      db.seed(PROJECTION_TABLE, placedView('order-1', 4, { status: 'CANCELLED' }));

      // WHEN
      await write(projection.view.items(paymentCaptured(5)));

      // THEN
      expect(await projection.getView('order-1')).toMatchObject({
        status: 'CANCELLED',
        version: 5,
        paid: true,
      });
    });

    it('touches only the view of the order the payment is for', async () => {
      // GIVEN
      db.seed(PROJECTION_TABLE, placedView('order-1', 2), placedView('order-2', 7));

      // WHEN
      await write(projection.view.items(paymentCaptured(8, 'order-2')));

      // THEN
      expect(await projection.getView('order-2')).toMatchObject({ version: 8, paid: true });
      expect(await projection.getView('order-1')).toMatchObject({ version: 2, paid: false });
    });

    it('ends in the same view when written twice (a redelivery)', async () => {
      // GIVEN
      db.seed(PROJECTION_TABLE, placedView('order-1', 2));
      await write(projection.view.items(paymentCaptured(3)));
      const once = db.all(PROJECTION_TABLE);

      // WHEN
      await write(projection.view.items(paymentCaptured(3)));

      // THEN
      expect(db.all(PROJECTION_TABLE)).toEqual(once);
    });

    it('names the order’s view as the item whose version the `version` strategy checks', () => {
      // WHEN
      const target = projection.view.versionTarget?.(paymentCaptured(3, 'order-9'));

      // THEN
      expect(target).toEqual({ tableName: PROJECTION_TABLE, key: { pk: 'ORDER#order-9', sk: 'VIEW' } });
    });
  });

  describe('on the other effects', () => {
    it('reserves and releases no inventory', async () => {
      expect(await projection.inventory.items(paymentCaptured(3))).toEqual([]);
    });

    it('adds one `<sequence>:PaymentCaptured` entry to the order’s notifications', async () => {
      // WHEN
      const items = await projection.notifications.items(paymentCaptured(3));

      // THEN
      expect(items).toHaveLength(1);
      expect(items[0]?.Update).toMatchObject({
        TableName: PROJECTION_TABLE,
        Key: { pk: 'ORDER#order-1', sk: 'NOTIFICATIONS' },
        ExpressionAttributeValues: { ':entry': ['3:PaymentCaptured'] },
      });
    });
  });
});
