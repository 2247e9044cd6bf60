import { afterEach, describe, expect, it, vi } from 'vitest';
import { OrdersApiClient } from '../../../tools/stack/api-client';
import { executeApiSigner } from '../../../tools/stack/sigv4';

const credentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const url = new URL('https://abc123.execute-api.eu-west-1.amazonaws.com/orders');

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('executeApiSigner', () => {
  it('signs for execute-api in the region, over host and content type, and leaves host to fetch', async () => {
    // GIVEN a fixed clock
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-29T12:00:00Z'));
    const sign = executeApiSigner('eu-west-1', credentials);

    // WHEN a POST is signed
    const headers = await sign('POST', url, { 'content-type': 'application/json' }, '{"a":1}');

    // THEN the Authorization header names the scope and the signed headers, and host is not among those to send
    expect(headers.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/20261129\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(headers['x-amz-date']).toBe('20261129T120000Z');
    expect(headers.host).toBeUndefined();
  });

  it('gives a different signature for a different body (the body is signed)', async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-11-29T12:00:00Z'));
    const sign = executeApiSigner('eu-west-1', credentials);
    const one = await sign('POST', url, {}, '{"a":1}');
    const same = await sign('POST', url, {}, '{"a":1}');
    const other = await sign('POST', url, {}, '{"a":2}');
    expect(same.authorization).toBe(one.authorization);
    expect(other.authorization).not.toBe(one.authorization);
  });
});

describe('OrdersApiClient with a signer', () => {
  it('sends the signed headers with the request', async () => {
    // GIVEN a fetch that records what it was given
    const calls: Array<{ url: string; init: RequestInit }> = [];
    vi.stubGlobal('fetch', async (input: URL, init: RequestInit) => {
      calls.push({ url: String(input), init });
      return new Response('{"orderId":"o-1","version":1,"messageId":"m-1"}', { status: 201 });
    });
    const client = new OrdersApiClient(
      'https://abc123.execute-api.eu-west-1.amazonaws.com/',
      executeApiSigner('eu-west-1', credentials),
    );

    // WHEN an order is placed
    const response = await client.placeOrder({ customerId: 'c', items: [{ sku: 's', quantity: 1 }] });

    // THEN the request carried a SigV4 Authorization header and the JSON body that was signed
    expect(response.status).toBe(201);
    const headers = calls[0]?.init.headers as Record<string, string>;
    expect(headers.authorization).toContain('/execute-api/aws4_request');
    expect(headers['content-type']).toBe('application/json');
    expect(calls[0]?.init.body).toBe('{"customerId":"c","items":[{"sku":"s","quantity":1}]}');
  });

  it('sends no Authorization header without a signer (the emulator ApiUrl)', async () => {
    const calls: RequestInit[] = [];
    vi.stubGlobal('fetch', async (_input: URL, init: RequestInit) => {
      calls.push(init);
      return new Response('{}', { status: 200 });
    });
    await new OrdersApiClient('http://127.0.0.1:4566/_aws/execute-api/x/').getOrder('o-1');
    expect(((calls[0]?.headers ?? {}) as Record<string, string>).authorization).toBeUndefined();
  });
});
