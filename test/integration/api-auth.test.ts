import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { beforeAll, describe, expect, it } from 'vitest';
import type { StackOutputs } from '../../scripts/local/deploy';
import { type Stack, stack, uniquePrefix } from './support/aws';

/** SHA-256 (HMAC-SHA-256 with a secret) over node:crypto, as SignatureV4 wants it. */
class Sha256 implements Checksum {
  private hash: Hash | Hmac;

  constructor(private readonly secret?: SourceData) {
    this.hash = this.fresh();
  }

  private fresh(): Hash | Hmac {
    return this.secret === undefined ? createHash('sha256') : createHmac('sha256', toBytes(this.secret));
  }

  update(data: Uint8Array): void {
    this.hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }

  reset(): void {
    this.hash = this.fresh();
  }
}

function toBytes(data: SourceData): Uint8Array {
  if (typeof data === 'string') return new TextEncoder().encode(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

interface Response {
  readonly status: number;
  readonly body: unknown;
}

/** Sends a JSON request to `baseUrl` + `path`, signed with SigV4 for execute-api when `signer` is given. */
async function send(
  baseUrl: string,
  method: string,
  path: string,
  body: unknown,
  signer?: SignatureV4,
): Promise<Response> {
  const url = new URL(path, baseUrl);
  const text = body === undefined ? undefined : JSON.stringify(body);
  let headers: Record<string, string> = {
    host: url.host,
    ...(text === undefined ? {} : { 'content-type': 'application/json' }),
  };
  if (signer !== undefined) {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      port: url.port === '' ? undefined : Number(url.port),
      path: url.pathname,
      query: {},
      headers,
      body: text,
    });
    headers = signed.headers;
  }
  // fetch sets Host itself (to the same value that was signed).
  const { host: _host, ...sent } = headers;
  const response = await fetch(url, {
    method,
    headers: sent,
    body: text,
    signal: AbortSignal.timeout(30_000),
  });
  const answer = await response.text();
  let parsed: unknown = answer;
  try {
    parsed = answer === '' ? undefined : JSON.parse(answer);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: parsed };
}

describe('IAM authorization of the orders API on the emulator (SignedApiUrl)', () => {
  let s: Stack;
  let signedApiUrl: string;
  let signer: SignatureV4;
  let prefix: string;

  beforeAll(() => {
    s = stack();
    const outputs: StackOutputs & { readonly SignedApiUrl?: string } = s.outputs;
    if (outputs.SignedApiUrl === undefined) throw new Error('the deployed stack has no SignedApiUrl output');
    signedApiUrl = outputs.SignedApiUrl;
    const { region, credentials } = s.config;
    if (region === undefined || credentials === undefined)
      throw new Error('the connection has no region or keys');
    signer = new SignatureV4({ service: 'execute-api', region, credentials, sha256: Sha256 });
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
    const response = await send(signedApiUrl, 'POST', 'orders', order(orderId));
    // THEN
    expect(response.status).toBe(403);
    expect(await storedOrder(orderId)).toBeUndefined();
    expect((await s.api.getOrder(orderId)).status).toBe(404);
  });

  it('answers 403 to an unsigned GET too', async () => {
    const response = await send(signedApiUrl, 'GET', `orders/${prefix}-unsigned`, undefined);
    expect(response.status).toBe(403);
  });

  it('places an order from a SigV4-signed POST /orders: 201, and the order is stored', async () => {
    // GIVEN
    const orderId = `${prefix}-signed`;
    // WHEN
    const response = await send(signedApiUrl, 'POST', 'orders', order(orderId), signer);
    // THEN
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ orderId, version: 1 });
    expect(await storedOrder(orderId)).toMatchObject({ orderId, customerId: 'c-auth', version: 1 });
    const read = await send(signedApiUrl, 'GET', `orders/${encodeURIComponent(orderId)}`, undefined, signer);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ orderId, version: 1 });
  });

  it('keeps ApiUrl callable unsigned for the contract', async () => {
    const response = await s.api.placeOrder(order(`${prefix}-open`));
    expect(response.status).toBe(201);
  });
});
