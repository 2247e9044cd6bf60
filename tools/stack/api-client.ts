import type { RequestSigner } from './sigv4';

/**
 * A small client of the reference application's HTTP API, for the demo, the tests and the tools. Give it a `signer`
 * for an IAM-authorized API (the default on AWS; `SignedApiUrl` on the emulator).
 */
export interface ApiResponse<T = unknown> {
  readonly status: number;
  readonly body: T;
}

export class OrdersApiClient {
  private readonly base: string;

  constructor(
    apiUrl: string,
    private readonly signer?: RequestSigner,
  ) {
    this.base = apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`;
  }

  async request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    rawBody?: string,
    extraHeaders: Readonly<Record<string, string>> = {},
  ): Promise<ApiResponse<T>> {
    const url = new URL(path.replace(/^\//, ''), this.base);
    const init: RequestInit = { method, signal: AbortSignal.timeout(30_000) };
    if (rawBody !== undefined) init.body = rawBody;
    else if (body !== undefined) init.body = JSON.stringify(body);
    const headers: Record<string, string> = {
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...extraHeaders,
    };
    init.headers =
      this.signer === undefined
        ? headers
        : await this.signer(method, url, headers, typeof init.body === 'string' ? init.body : undefined);
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(url, init);
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        return { status: response.status, body: parsed as T };
      } catch (error) {
        // Connection-level failures only (no response): retry a few times.
        if (attempt >= 3) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  }

  placeOrder(input: { customerId: string; items: { sku: string; quantity: number }[]; orderId?: string }) {
    return this.request<{ orderId: string; version: number; messageId: string }>('POST', 'orders', input);
  }

  addNote(orderId: string, text: string) {
    return this.request<{ orderId: string; version: number; messageId: string }>(
      'POST',
      `orders/${encodeURIComponent(orderId)}/notes`,
      { text },
    );
  }

  cancel(orderId: string) {
    return this.request<{ orderId: string; version: number; messageId: string }>(
      'POST',
      `orders/${encodeURIComponent(orderId)}/cancel`,
    );
  }

  getOrder(orderId: string) {
    return this.request<Record<string, unknown>>('GET', `orders/${encodeURIComponent(orderId)}`);
  }

  getView(orderId: string) {
    return this.request<{ orderId: string; status: string; version: number; notes: string[]; paid: boolean }>(
      'GET',
      `orders/${encodeURIComponent(orderId)}/view`,
    );
  }

  /** The audit group's entries of an order, in applied order. */
  getAudit(orderId: string) {
    return this.request<{
      orderId: string;
      entries: { sequence: number; type: string; position: number }[];
    }>('GET', `orders/${encodeURIComponent(orderId)}/audit`);
  }

  /** The shipping group's state of an order. */
  getShipment(orderId: string) {
    return this.request<{ orderId: string; status: string; events: number }>(
      'GET',
      `orders/${encodeURIComponent(orderId)}/shipment`,
    );
  }

  getInventory(sku: string) {
    return this.request<{ sku: string; reserved: number }>('GET', `inventory/${encodeURIComponent(sku)}`);
  }
}
