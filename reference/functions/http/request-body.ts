import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { z } from 'zod';
import type { ErrorDetail } from './http-response';

/**
 * The largest request body the API reads, in bytes of the decoded body (design.md: a body over 256 KB → 400).
 * It is checked on the raw body before anything is decoded or parsed. A compact valid body is far smaller (under
 * 16 KiB: 50 lines, or a 2000-character note in `\u` escapes), so the limit only bounds a request's work.
 */
export const MAX_BODY_BYTES = 256 * 1024;

/** A 400 lists at most this many problems (the last one says how many were left out). */
export const MAX_ERROR_DETAILS = 20;

/** A problem's message is cut to this many characters (an unknown-keys message repeats the keys sent). */
const MAX_DETAIL_MESSAGE_CHARS = 200;

/** Standard, padded base64, as API Gateway encodes a body. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** A request that cannot be served as sent: answered 400 with its details, and nothing is written. */
export class BadRequestError extends Error {
  public readonly details: readonly ErrorDetail[];

  constructor(message: string, details: readonly ErrorDetail[], options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BadRequestError';
    this.details = boundedDetails(details);
  }
}

function boundedDetails(details: readonly ErrorDetail[]): ErrorDetail[] {
  const cut = (text: string) =>
    text.length <= MAX_DETAIL_MESSAGE_CHARS ? text : `${text.slice(0, MAX_DETAIL_MESSAGE_CHARS - 1)}…`;
  const listed = details.slice(0, MAX_ERROR_DETAILS - (details.length > MAX_ERROR_DETAILS ? 1 : 0));
  const bounded = listed.map((detail) => ({ path: cut(detail.path), message: cut(detail.message) }));
  if (listed.length < details.length) {
    bounded.push({ path: '', message: `and ${details.length - listed.length} more problems` });
  }
  return bounded;
}

/** How many bytes `body` stands for: decoded from base64 if API Gateway encoded it (computed, not decoded). */
function bodyBytes(body: string, isBase64Encoded: boolean): number {
  if (!isBase64Encoded) return Buffer.byteLength(body, 'utf8');
  const padding = body.endsWith('==') ? 2 : body.endsWith('=') ? 1 : 0;
  return Math.floor((body.length * 3) / 4) - padding;
}

/**
 * The body's text, decoded from base64 if API Gateway encoded it; undefined when there is none.
 * @throws BadRequestError for a body over MAX_BODY_BYTES (checked first), invalid base64, or bytes that are not
 *   UTF-8 (they would otherwise become U+FFFD and be stored).
 */
function bodyText(event: APIGatewayProxyEventV2): string | undefined {
  const raw = event.body;
  if (raw === undefined || raw === null || raw === '') return undefined;
  const encoded = event.isBase64Encoded === true;
  const bytes = bodyBytes(raw, encoded);
  if (bytes > MAX_BODY_BYTES) {
    throw new BadRequestError('request body too large', [
      { path: '', message: `body has ${bytes} bytes; at most ${MAX_BODY_BYTES} are allowed` },
    ]);
  }
  if (!encoded) return raw;
  if (!BASE64.test(raw)) {
    throw new BadRequestError('malformed body', [
      { path: '', message: 'the body is marked base64-encoded but is not valid base64' },
    ]);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(raw, 'base64'));
  } catch (error) {
    throw new BadRequestError('malformed body', [{ path: '', message: 'the body is not valid UTF-8' }], {
      cause: error,
    });
  }
}

/**
 * Parses and validates a JSON body against `schema`. The content type is not consulted: every body is read as
 * JSON, so clients that send none (or `text/plain`, or curl's form type) are served alike.
 * @param optional when true, an absent or blank body validates as `{}`.
 * @throws BadRequestError for a body that is too large, not UTF-8 JSON, or not of the schema.
 */
export function parseBody<T extends z.ZodType>(
  event: APIGatewayProxyEventV2,
  schema: T,
  optional = false,
): z.infer<T> {
  const text = bodyText(event);
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
      throw new BadRequestError(
        'malformed JSON',
        [{ path: '', message: error instanceof Error ? error.message : String(error) }],
        { cause: error },
      );
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
      { cause: result.error },
    );
  }
  return result.data;
}

/** Validates a path parameter (as sent: still URL-encoded). */
export function parsePathParameter<T extends z.ZodType>(name: string, raw: string, schema: T): z.infer<T> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch (error) {
    throw new BadRequestError(`invalid ${name}`, [{ path: name, message: 'is not valid URL encoding' }], {
      cause: error,
    });
  }
  const result = schema.safeParse(decoded);
  if (!result.success) {
    throw new BadRequestError(
      `invalid ${name}`,
      result.error.issues.map((issue) => ({ path: name, message: issue.message })),
      { cause: result.error },
    );
  }
  return result.data;
}
