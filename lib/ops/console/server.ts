import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BadRequestError, ConsoleHttpError, ForbiddenError, NotFoundError } from './http-errors';
import { parseJsonBody } from './repair-requests';
import { newRepairToken } from './repair-token';
import { type ConsoleIdentity, checkHost, checkRepair, consoleIdentity } from './request-guard';
import { type ConsoleContext, handleApi } from './routes';
import { staticAsset } from './static-assets';

/** A repair's body is a few fields: anything larger is refused unread. */
export const MAX_BODY_BYTES = 16 * 1024;

/**
 * Sent with every answer: the page may load only the console's own files and talk only to the console; it may not
 * be framed; nothing is cached. No Access-Control-* header is ever sent: no other origin may read an answer.
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

export interface RunningConsole {
  /** `http://127.0.0.1:<port>/` (or the host it was started on) */
  readonly url: string;
  readonly port: number;
  /** The repair token (also in the URL's fragment, which the browser never sends). */
  readonly token: string;
  readonly close: () => Promise<void>;
}

export interface ConsoleServerOptions {
  /** 0 = any free port. */
  readonly port: number;
  /**
   * The interface it listens on, and the only Host it answers (`localhost` binds to the loopback address it
   * resolves to). @default '127.0.0.1'
   */
  readonly host?: string;
  /** @default a fresh random token */
  readonly token?: string;
  /** Called with an unexpected error (a 500), for the terminal. @default none */
  readonly onError?: (error: unknown) => void;
}

function send(response: ServerResponse, status: number, contentType: string, body: string | Buffer): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'content-type': contentType });
  response.end(body);
}

const sendJson = (response: ServerResponse, status: number, body: object) =>
  send(response, status, 'application/json; charset=utf-8', JSON.stringify(body));

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError(`the request body is over ${MAX_BODY_BYTES} bytes`);
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

async function answer(
  context: ConsoleContext,
  identity: ConsoleIdentity,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  checkHost(request.headers, identity);
  const url = new URL(request.url ?? '/', identity.origin);
  if (!url.pathname.startsWith('/api/')) {
    if (request.method !== 'GET' && request.method !== 'HEAD')
      throw new NotFoundError(`no page ${url.pathname}`);
    const asset = await staticAsset(url.pathname);
    if (asset === undefined) throw new NotFoundError(`no page ${url.pathname}`);
    send(response, 200, asset.contentType, request.method === 'HEAD' ? '' : asset.body);
    return;
  }
  let body: unknown;
  if (request.method === 'POST') {
    if (context.readOnly) throw new ForbiddenError('this console runs with --read-only: repairs are off');
    checkRepair(request.headers, identity);
    const contentType = request.headers['content-type'] ?? '';
    if (!/^application\/json(;|$)/.test(contentType)) {
      throw new BadRequestError(
        `a repair's body must be application/json; got ${JSON.stringify(contentType)}`,
      );
    }
    body = parseJsonBody(await readBody(request));
  }
  sendJson(
    response,
    200,
    await handleApi(context, request.method ?? 'GET', url.pathname, url.searchParams, body),
  );
}

/**
 * Starts the console on `options.host` (127.0.0.1 unless told otherwise; never every interface) and answers the page
 * and its API, to requests naming that host only.
 */
export async function startConsoleServer(
  context: ConsoleContext,
  options: ConsoleServerOptions,
): Promise<RunningConsole> {
  const token = options.token ?? newRepairToken();
  let identity: ConsoleIdentity | undefined;
  const server = createServer((request, response) => {
    answer(context, identity!, request, response).catch((error: unknown) => {
      if (error instanceof ConsoleHttpError) {
        sendJson(response, error.status, { error: error.message });
        return;
      }
      options.onError?.(error);
      sendJson(response, 500, {
        error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  identity = consoleIdentity(port, token, options.host);
  return {
    url: `${identity.origin}/`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error === undefined ? resolve() : reject(error)));
      }),
  };
}
