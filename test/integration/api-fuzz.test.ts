import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENDPOINTS,
  type Endpoint,
  invalidBodies,
  invalidPathOrderIds,
  pathOf,
  validBody,
} from '../unit/reference/support/orders-api-arbitraries';
import { type Stack, stack, uniquePrefix } from './support/aws';

// The deployed API under generated bad input (the unit fuzz test's generators, sampled with a fixed seed): every
// request is a 400 `{error, details}` from the handler, and the orders, outbox and payments tables hold as many
// items afterwards as before. (The relay, sweeper and check-back may update outbox items meanwhile; they create
// none.)
const SEED = 20_260_802;
/** At least this many bad bodies per route, spread evenly over its classes. */
const BODIES_PER_ROUTE = 36;
/** Bad path ids per class and route. */
const IDS_PER_CLASS = 3;
/** Requests in flight at once. */
const CONCURRENCY = 4;
/** Through HTTP these classes never reach the handler as such: `/orders//notes` matches no API Gateway route. */
const PATH_CLASSES_NOT_ROUTABLE = ['the orderId in the path is empty'];
/** Content types a client may send a JSON body with (undefined: none at all). */
const CONTENT_TYPES = ['application/json', 'text/plain', undefined] as const;

interface Sent {
  readonly what: string;
  readonly path: string;
  readonly body: string | undefined;
  readonly contentType: string | undefined;
}

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

async function send(s: Stack, request: Sent): Promise<Answer> {
  const base = s.outputs.ApiUrl.endsWith('/') ? s.outputs.ApiUrl : `${s.outputs.ApiUrl}/`;
  const init: RequestInit = { method: 'POST', signal: AbortSignal.timeout(30_000) };
  if (request.body !== undefined) {
    // Bytes, not a string: fetch would add `text/plain` to a string body sent without a content type.
    init.body = new TextEncoder().encode(request.body);
    if (request.contentType !== undefined) init.headers = { 'content-type': request.contentType };
  }
  const response = await fetch(new URL(request.path.slice(1), base), init);
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) };
  } catch {
    return { status: response.status, body: text };
  }
}

/** Items in `tableName`, by a consistent, paged COUNT scan. */
async function itemCount(s: Stack, tableName: string): Promise<number> {
  let total = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await s.dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        Select: 'COUNT',
        ConsistentRead: true,
        ExclusiveStartKey: start,
      }),
    );
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return total;
}

async function itemCounts(s: Stack): Promise<Record<string, number>> {
  const { OrdersTableName, OutboxTableName, PaymentsTableName } = s.outputs;
  return {
    orders: await itemCount(s, OrdersTableName),
    outbox: await itemCount(s, OutboxTableName),
    payments: await itemCount(s, PaymentsTableName),
  };
}

/** The seeded bad requests of `endpoint` against `orderId`: every body class, and (order routes) every path class. */
function badRequests(endpoint: Endpoint, orderId: string): Sent[] {
  const requests: Sent[] = [];
  const contentType = () => CONTENT_TYPES[requests.length % CONTENT_TYPES.length];
  const bodyClasses = Object.entries(invalidBodies(endpoint));
  const perClass = Math.max(2, Math.ceil(BODIES_PER_ROUTE / bodyClasses.length));
  bodyClasses.forEach(([what, bodies], index) => {
    for (const body of fc.sample(bodies, { seed: SEED + index, numRuns: perClass })) {
      requests.push({ what, path: pathOf(endpoint, orderId), body, contentType: contentType() });
    }
  });
  if (endpoint === 'POST /orders') return requests;
  Object.entries(invalidPathOrderIds)
    .filter(([what]) => !PATH_CLASSES_NOT_ROUTABLE.includes(what))
    .forEach(([what, ids], index) => {
      const samples = fc.sample(fc.tuple(ids, validBody(endpoint)), {
        seed: SEED + index,
        numRuns: IDS_PER_CLASS,
      });
      for (const [id, body] of samples) {
        requests.push({ what, path: pathOf(endpoint, id), body, contentType: contentType() });
      }
    });
  return requests;
}

/** Sends every request (CONCURRENCY at a time) and returns those not answered with the handler's 400. */
async function notRefused(s: Stack, requests: readonly Sent[]): Promise<Array<Sent & { answer: Answer }>> {
  const failures: Array<Sent & { answer: Answer }> = [];
  let next = 0;
  const worker = async () => {
    while (next < requests.length) {
      const request = requests[next++]!;
      const answer = await send(s, request);
      const body = answer.body as { error?: unknown; details?: unknown };
      const refused =
        answer.status === 400 &&
        typeof body?.error === 'string' &&
        Array.isArray(body.details) &&
        body.details.length > 0;
      if (!refused) {
        failures.push({ ...request, body: request.body?.slice(0, 200), answer });
      }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return failures;
}

describe('the deployed API under generated bad input', () => {
  let s: Stack;
  let orderId: string;

  beforeAll(async () => {
    s = stack();
    orderId = uniquePrefix('fuzz');
    const placed = await s.api.placeOrder({
      customerId: 'c',
      items: [{ sku: `${orderId}-sku`, quantity: 1 }],
      orderId,
    });
    expect(placed.status).toBe(201);
  });

  it.each(ENDPOINTS)(
    '%s: fails with 400 for every generated bad request, and writes nothing',
    async (endpoint) => {
      // GIVEN
      const requests = badRequests(endpoint, orderId);
      expect(requests.length).toBeGreaterThanOrEqual(BODIES_PER_ROUTE);
      const before = await itemCounts(s);

      // WHEN
      const failures = await notRefused(s, requests);

      // THEN
      const after = await itemCounts(s);
      expect(failures).toEqual([]);
      expect(after).toEqual(before);
      expect((await s.api.getOrder(orderId)).body).toMatchObject({ version: 1, status: 'PLACED', notes: [] });
    },
  );

  it('serves valid bodies sent the same ways, so the 400s above are verdicts on the input', async () => {
    // GIVEN a valid order sent with each content type, and with none
    const requests: Sent[] = CONTENT_TYPES.map((contentType, index) => ({
      what: 'a valid order',
      path: '/orders',
      body: JSON.stringify({
        customerId: 'c',
        items: [{ sku: 'sku-1', quantity: 1 }],
        orderId: `${orderId}-${index}`,
      }),
      contentType,
    }));

    // WHEN
    const answers = await Promise.all(requests.map((request) => send(s, request)));

    // THEN
    expect(answers.map((answer) => answer.status)).toEqual(CONTENT_TYPES.map(() => 201));
  });
});
