import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import type { ErrorDetail } from './http-response';

/** The largest request body the API accepts (design.md: over 256 KB → 400). */
export const MAX_BODY_BYTES = 256 * 1024;

/** A request that cannot be served as sent: answered 400 with its details, and nothing is written. */
export class BadRequestError extends Error {
  constructor(
    message: string,
    public readonly details: readonly ErrorDetail[],
  ) {
    super(message);
    this.name = 'BadRequestError';
  }
}

/** The body's text, decoded from base64 if API Gateway encoded it; undefined when there is none. */
function bodyText(event: APIGatewayProxyEventV2): string | undefined {
  if (event.body === undefined || event.body === null || event.body === '') return undefined;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
}

/**
 * Parses and validates a JSON body against `schema`.
 * @param optional when true, an absent or empty body validates as `{}`.
 * @throws BadRequestError for a body that is too large, not JSON, or not of the schema.
 */
export function parseBody<T extends z.ZodType>(
  event: APIGatewayProxyEventV2,
  schema: T,
  optional = false,
): z.infer<T> {
  const text = bodyText(event);
  if (text !== undefined && Buffer.byteLength(text, 'utf8') > MAX_BODY_BYTES) {
    throw new BadRequestError('request body too large', [
      {
        path: '',
        message: `body has ${Buffer.byteLength(text, 'utf8')} bytes; at most ${MAX_BODY_BYTES} are allowed`,
      },
    ]);
  }
  let value: unknown = {};
  if (text === undefined || text.trim() === '') {
    if (!optional)
      throw new BadRequestError('request body required', [
        { path: '', message: 'a JSON object is required' },
      ]);
  } else {
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new BadRequestError('malformed JSON', [
        { path: '', message: error instanceof Error ? error.message : String(error) },
      ]);
    }
  }
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new BadRequestError(
      'invalid request body',
      result.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.'),
        message: issue.message,
      })),
    );
  }
  return result.data;
}

/** Validates a path parameter. */
export function parsePathParameter<T extends z.ZodType>(name: string, raw: string, schema: T): z.infer<T> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new BadRequestError(`invalid ${name}`, [{ path: name, message: 'is not valid URL encoding' }]);
  }
  const result = schema.safeParse(decoded);
  if (!result.success) {
    throw new BadRequestError(
      `invalid ${name}`,
      result.error.issues.map((issue) => ({ path: name, message: issue.message })),
    );
  }
  return result.data;
}
