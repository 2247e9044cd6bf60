import type { IncomingHttpHeaders } from 'node:http';
import { ForbiddenError } from './http-errors';
import { REPAIR_TOKEN_HEADER, tokenMatches } from './repair-token';

/** The console's own address: the only Host and Origin it answers, and the repair token. */
export interface ConsoleIdentity {
  /** `127.0.0.1:<port>` (or the host it was started on) */
  readonly host: string;
  /** `http://127.0.0.1:<port>` */
  readonly origin: string;
  readonly token: string;
}

export function consoleIdentity(port: number, token: string, hostName = '127.0.0.1'): ConsoleIdentity {
  return { host: `${hostName}:${port}`, origin: `http://${hostName}:${port}`, token };
}

const single = (value: string | string[] | undefined): string | undefined =>
  Array.isArray(value) ? (value.length === 1 ? value[0] : undefined) : value;

/**
 * Every request: its Host must be the console's own `<host>:<port>` (`127.0.0.1:<port>` by default). A page on another site whose name was
 * re-pointed at 127.0.0.1 (DNS rebinding) sends its own name as Host, and is refused.
 */
export function checkHost(headers: IncomingHttpHeaders, identity: ConsoleIdentity): void {
  const host = single(headers.host);
  if (host !== identity.host) {
    throw new ForbiddenError(
      `Host ${JSON.stringify(host ?? null)} is not this console's ${identity.host}: open ${identity.origin}/`,
    );
  }
}

/**
 * A repair (POST): its Origin must be the console's page, and it must carry the repair token printed at start in the
 * `X-Console-Token` header. Another page in the browser has another Origin and cannot read the token.
 */
export function checkRepair(headers: IncomingHttpHeaders, identity: ConsoleIdentity): void {
  const origin = single(headers.origin);
  if (origin !== identity.origin) {
    throw new ForbiddenError(
      `a repair must come from the console's page (Origin ${identity.origin}); got Origin ${JSON.stringify(origin ?? null)}`,
    );
  }
  const token = single(headers[REPAIR_TOKEN_HEADER]);
  if (token === undefined || token === '') {
    throw new ForbiddenError(
      'a repair needs the token the console printed at start, in the X-Console-Token header',
    );
  }
  if (!tokenMatches(token, identity.token)) {
    throw new ForbiddenError('wrong repair token: use the one this console printed at start');
  }
}
