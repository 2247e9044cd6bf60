import { AsyncLocalStorage } from 'node:async_hooks';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { isTraceparent, traceparentFor } from 'reliable-messaging-serverless/runtime';

const current = new AsyncLocalStorage<string | undefined>();

/**
 * The request's W3C `traceparent` header when it is a valid one. An invalid header is ignored, not refused: as the
 * W3C trace context says, a receiver that cannot parse it starts a trace of its own (the outbox writer then derives
 * one from the function's X-Ray trace, or makes a new one).
 */
export function traceparentHeader(event: APIGatewayProxyEventV2): string | undefined {
  const headers = event.headers ?? {};
  const value = Object.entries(headers).find(([name]) => name.toLowerCase() === 'traceparent')?.[1];
  return value !== undefined && isTraceparent(value.trim()) ? value.trim() : undefined;
}

/**
 * The correlation id of a request: its valid `traceparent` header, else the function's X-Ray trace as a trace
 * context, else a new one. Decided once, at the edge, so the producer's log line and its messages carry the same.
 */
export function requestTraceparentOf(
  event: APIGatewayProxyEventV2,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return traceparentFor(traceparentHeader(event), env);
}

/** Runs `handle` with `traceparent` as the current request's correlation id (read by `requestTraceparent`). */
export function withRequestTraceparent<T>(
  traceparent: string | undefined,
  handle: () => Promise<T>,
): Promise<T> {
  return current.run(traceparent, handle);
}

/** The traceparent of the request being handled, as `{ traceparent }` to spread into an outbox message, or `{}`. */
export function requestTrace(): { readonly traceparent?: string } {
  const traceparent = current.getStore();
  return traceparent === undefined ? {} : { traceparent };
}
