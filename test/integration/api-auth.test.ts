import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { OrdersApiClient } from '../../tools/stack/api-client';
import { executeApiSigner } from '../../tools/stack/sigv4';
import { type Stack, stack, uniquePrefix } from './support/aws';

describe('IAM authorization of the orders API on the emulator (SignedApiUrl)', () => {
  let s: Stack;
  let unsigned: OrdersApiClient;
  let signed: OrdersApiClient;
  let prefix: string;

  beforeAll(() => {
    s = stack();
    const signedApiUrl = s.outputs.SignedApiUrl;
    if (signedApiUrl === undefined) throw new Error('the deployed stack has no SignedApiUrl output');
    const { region, credentials } = s.config;
    if (region === undefined || credentials === undefined)
      throw new Error('the connection has no region or keys');
    unsigned = new OrdersApiClient(signedApiUrl);
    signed = new OrdersApiClient(signedApiUrl, executeApiSigner(region, credentials));
    prefix = uniquePrefix('auth');
  });

  const order = (orderId: string) => ({
    customerId: 'c-auth',
    items: [{ sku: `${prefix}-sku`, quantity: 1 }],
    orderId,
  });

  async function storedOrder(orderId: string): Promise<unknown> {
    const result = await s.dynamodb.send(
      new GetCommand({ TableName: s.outputs.OrdersTableName, Key: { orderId }, ConsistentRead: true }),
    );
    return result.Item;
  }

  it('answers 403 to an unsigned POST /orders and writes nothing', async () => {
    // GIVEN
    const orderId = `${prefix}-unsigned`;
    // WHEN
    const response = await unsigned.placeOrder(order(orderId));
    // THEN
    expect(response.status).toBe(403);
    expect(await storedOrder(orderId)).toBeUndefined();
    expect((await s.api.getOrder(orderId)).status).toBe(404);
  });

  it('answers 403 to an unsigned GET too', async () => {
    const response = await unsigned.getOrder(`${prefix}-unsigned`);
    expect(response.status).toBe(403);
  });

  it('places an order from a SigV4-signed POST /orders: 201, and the order is stored', async () => {
    // GIVEN
    const orderId = `${prefix}-signed`;
    // WHEN
    const response = await signed.placeOrder(order(orderId));
    // THEN
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ orderId, version: 1 });
    expect(await storedOrder(orderId)).toMatchObject({ orderId, customerId: 'c-auth', version: 1 });
    const read = await signed.getOrder(orderId);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ orderId, version: 1 });
  });

  it('keeps ApiUrl callable unsigned for the contract', async () => {
    const response = await s.api.placeOrder(order(`${prefix}-open`));
    expect(response.status).toBe(201);
  });
});
