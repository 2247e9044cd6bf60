import { randomBytes } from 'node:crypto';

/**
 * The W3C trace context (`traceparent`) a message carries from the producer's request to every consumer group's
 * effect: `00-<trace-id: 32 hex>-<parent-id: 16 hex>-<flags: 2 hex>`, lower case, neither id all zeros.
 * See https://www.w3.org/TR/trace-context/#traceparent-header.
 */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/;
/** The Lambda runtime's X-Ray trace header, in the environment of a traced invocation. */
export const XRAY_TRACE_ENV = '_X_AMZN_TRACE_ID';
/** `Root=1-<8 hex epoch>-<24 hex>`: X-Ray's trace id; its 32 hex digits are the W3C trace id. */
const XRAY_ROOT = /^1-([0-9a-fA-F]{8})-([0-9a-fA-F]{24})$/;
const HEX16 = /^[0-9a-fA-F]{16}$/;
const ALL_ZEROS = /^0+$/;

/** True when `value` is a W3C `traceparent` of version 00 whose trace id and parent id are not all zeros. */
export function isTraceparent(value: unknown): boolean {
  if (typeof value !== 'string') return false;
  const match = TRACEPARENT.exec(value);
  return match !== null && !ALL_ZEROS.test(match[1] ?? '') && !ALL_ZEROS.test(match[2] ?? '');
}

/** `bytes` random bytes in lower-case hex, never all zeros (W3C: an all-zero id is invalid). */
function randomHex(bytes: number): string {
  for (;;) {
    const hex = randomBytes(bytes).toString('hex');
    if (!ALL_ZEROS.test(hex)) return hex;
  }
}

/** A fresh `traceparent`: a new random trace id and parent id, sampled. */
export function newTraceparent(): string {
  return `00-${randomHex(16)}-${randomHex(8)}-01`;
}

/**
 * The `traceparent` of the X-Ray trace the function runs in (`_X_AMZN_TRACE_ID`, set by Lambda:
 * `Root=1-<8 hex>-<24 hex>;Parent=<16 hex>;Sampled=<0|1>`): the trace id is the root's 32 hex digits, the parent id
 * the segment's (a random one when there is none), the flags `01` when sampled, else `00`. Undefined when the
 * variable is unset or holds no X-Ray root.
 */
export function traceparentFromXRay(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string | undefined {
  const header = env[XRAY_TRACE_ENV];
  if (header === undefined || header === '') return undefined;
  const fields = new Map(
    header.split(';').map((field) => {
      const at = field.indexOf('=');
      return [field.slice(0, at).trim(), field.slice(at + 1).trim()] as const;
    }),
  );
  const root = XRAY_ROOT.exec(fields.get('Root') ?? '');
  if (root === null) return undefined;
  const traceId = `${root[1]}${root[2]}`.toLowerCase();
  if (ALL_ZEROS.test(traceId)) return undefined;
  const parent = fields.get('Parent') ?? '';
  const parentId = HEX16.test(parent) && !ALL_ZEROS.test(parent) ? parent.toLowerCase() : randomHex(8);
  return `00-${traceId}-${parentId}-${fields.get('Sampled') === '1' ? '01' : '00'}`;
}

/**
 * The `traceparent` a new message carries: the one given (check it with {@link isTraceparent} first), else the
 * X-Ray trace's the function runs in, else a fresh one.
 */
export function traceparentFor(
  given: string | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  return given ?? traceparentFromXRay(env) ?? newTraceparent();
}
