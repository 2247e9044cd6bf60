import { forEachConcurrently } from 'reliable-messaging-serverless/runtime/bench-support';
import type { Connection } from '../../tools/stack/stack-control';
import { API_CEILING_PATH } from '../constructs/api-ceiling-probe';

/**
 * `rawApiPerSecond`: `requests` POSTs to the bench-only trivial function behind the orders API's own gateway
 * (ApiCeilingProbe), with the same client and concurrency as the bench's traffic — the ceiling of anything that
 * enters through the API on this machine.
 */
export async function rawApiRate(c: Connection, requests: number, concurrency: number): Promise<number> {
  const started = Date.now();
  await forEachConcurrently(
    Array.from({ length: requests }, (_, n) => n),
    concurrency,
    async (n) => {
      const response = await c.api.request('POST', API_CEILING_PATH, { customerId: 'bench', n });
      if (response.status !== 201) {
        throw new Error(
          `the API ceiling probe answered ${response.status}: deploy the bench stack with \`npm start\``,
        );
      }
    },
  );
  return requests / ((Date.now() - started) / 1000);
}
