import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

export interface ErrorDetail {
  readonly path: string;
  readonly message: string;
}

export function json(statusCode: number, body: unknown): APIGatewayProxyStructuredResultV2 {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}

export function errorResponse(
  statusCode: number,
  error: string,
  details?: readonly ErrorDetail[],
): APIGatewayProxyStructuredResultV2 {
  return json(statusCode, details === undefined ? { error } : { error, details });
}

/** The response with a `Retry-After` header (seconds): the client may retry the same request after it. */
export function retryAfter(
  response: APIGatewayProxyStructuredResultV2,
  seconds: number,
): APIGatewayProxyStructuredResultV2 {
  return { ...response, headers: { ...response.headers, 'retry-after': String(seconds) } };
}
