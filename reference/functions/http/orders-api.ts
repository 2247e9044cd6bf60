import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import {
  IdempotencyKeyInProgressError,
  IdempotencyKeyReusedError,
  type IdempotencyStore,
  type IdempotentRequest,
  InvalidIdempotencyKeyError,
  isOutcomeUnknown,
  isTransientError,
  OutboxCommitError,
  OutboxOutcomeUnknownError,
  requestFingerprint,
  validateIdempotencyKey,
} from 'reliable-messaging-serverless/runtime';
import type { AuditService } from '../audit/audit-service';
import { OrderConflictError, OrderLimitError, OrderNotFoundError } from '../orders/order-errors';
import {
  addNoteSchema,
  cancelOrderSchema,
  capturePaymentSchema,
  orderIdSchema,
  placeOrderSchema,
  skuSchema,
} from '../orders/order-schemas';
import type { OrderService } from '../orders/order-service';
import { PaymentNotRecordedError, PaymentOutcomeUnknownError } from '../payments/payment-errors';
import type { PaymentService } from '../payments/payment-service';
import type { ProjectionService } from '../projection/projection-service';
import type { ShippingService } from '../shipping/shipping-service';
import { errorResponse, json, retryAfter } from './http-response';
import { BadRequestError, parseBody, parsePathParameter } from './request-body';
import { requestTraceparentOf, withRequestTraceparent } from './request-trace';

export interface OrdersApiDependencies {
  readonly orders: OrderService;
  readonly projection: ProjectionService;
  readonly payments: PaymentService;
  /** The audit group's trails (`GET /orders/{id}/audit`). */
  readonly audit: AuditService;
  /** The shipping group's state (`GET /orders/{id}/shipment`). */
  readonly shipping: ShippingService;
  /** Where the `Idempotency-Key`s of POST requests are kept. */
  readonly idempotency: IdempotencyStore;
  /** Told of every unexpected error (answered 5xx). */
  readonly onError?: (error: unknown) => void;
}

/** The change of a POST made under an `Idempotency-Key`: it answers `statusCode` with its result as the body. */
type UnderKey = <T>(statusCode: number) => IdempotentRequest<T>;

type Route = {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handle: (
    event: APIGatewayProxyEventV2,
    params: readonly string[],
    underKey: UnderKey | undefined,
  ) => Promise<APIGatewayProxyStructuredResultV2>;
};

/** Seconds a client is told to wait before retrying a transient failure, an unknown outcome or a key in progress. */
const RETRY_AFTER_SECONDS = 1;

/**
 * The reference application's HTTP contract (design.md, "Reference application contract"). Routes are matched
 * on the request path, so the same code serves explicit API Gateway routes and a catch-all route. A route checks
 * its path parameters and its whole body before it reads or writes anything: bad input is a 400 that wrote
 * nothing (see request-body.ts for the body limit and the checks every body gets).
 */
export class OrdersApi {
  private readonly routes: readonly Route[];

  constructor(private readonly deps: OrdersApiDependencies) {
    const { orders, projection, payments, audit, shipping } = deps;
    const orderId = (raw: string) => parsePathParameter('orderId', raw, orderIdSchema);
    this.routes = [
      {
        method: 'POST',
        pattern: /^\/orders$/,
        handle: async (event, _, underKey) =>
          json(201, await orders.placeOrder(parseBody(event, placeOrderSchema), underKey?.(201))),
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]*)\/notes$/,
        handle: async (event, [id], underKey) => {
          const key = orderId(id!);
          return json(201, await orders.addNote(key, parseBody(event, addNoteSchema), underKey?.(201)));
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]*)\/cancel$/,
        handle: async (event, [id], underKey) => {
          const key = orderId(id!);
          const input = parseBody(event, cancelOrderSchema, true);
          return json(200, await orders.cancelOrder(key, input, underKey?.(200)));
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]*)\/payments$/,
        handle: async (event, [id], underKey) => {
          const key = orderId(id!);
          const { amount } = parseBody(event, capturePaymentSchema);
          return json(202, await payments.capture(key, amount, underKey?.(202)));
        },
      },
      {
        method: 'GET',
        pattern: /^\/orders\/([^/]*)$/,
        handle: async (_event, [id]) => {
          const key = orderId(id!);
          const order = await orders.getOrder(key);
          return order === undefined ? errorResponse(404, `order ${key} not found`) : json(200, order);
        },
      },
      {
        method: 'GET',
        pattern: /^\/orders\/([^/]*)\/view$/,
        handle: async (_event, [id]) => {
          const key = orderId(id!);
          const view = await projection.getView(key);
          return view === undefined ? errorResponse(404, `no view of order ${key} yet`) : json(200, view);
        },
      },
      {
        method: 'GET',
        pattern: /^\/orders\/([^/]*)\/audit$/,
        handle: async (_event, [id]) => {
          const key = orderId(id!);
          if ((await orders.getOrder(key)) === undefined) return errorResponse(404, `order ${key} not found`);
          const entries = await audit.getEntries(key);
          return json(200, {
            orderId: key,
            entries: entries.map(({ sequence, type, position }) => ({ sequence, type, position })),
          });
        },
      },
      {
        method: 'GET',
        pattern: /^\/orders\/([^/]*)\/shipment$/,
        handle: async (_event, [id]) => {
          const key = orderId(id!);
          const shipment = await shipping.getShipment(key);
          return shipment === undefined
            ? errorResponse(404, `no shipment of order ${key} yet`)
            : json(200, shipment);
        },
      },
      {
        method: 'GET',
        pattern: /^\/inventory\/([^/]*)$/,
        handle: async (_event, [sku]) =>
          json(200, await projection.getInventory(parsePathParameter('sku', sku!, skuSchema))),
      },
    ];
  }

  /**
   * Answers one request; its messages carry `traceparent` as their correlation id.
   * @param traceparent the request's correlation id (default: its `traceparent` header, else one of its own)
   */
  handle(
    event: APIGatewayProxyEventV2,
    traceparent: string = requestTraceparentOf(event),
  ): Promise<APIGatewayProxyStructuredResultV2> {
    return withRequestTraceparent(traceparent, () => this.route(event));
  }

  private async route(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
    const method = event.requestContext.http.method.toUpperCase();
    const path = requestPath(event);
    const matching = this.routes
      .map((route) => ({ route, match: route.pattern.exec(path) }))
      .filter((candidate) => candidate.match !== null);
    if (matching.length === 0) return errorResponse(404, `no route for ${path}`);
    const chosen = matching.find((candidate) => candidate.route.method === method);
    if (chosen === undefined) {
      return errorResponse(
        405,
        `${method} is not allowed on ${path}; allowed: ${matching.map((c) => c.route.method).join(', ')}`,
      );
    }
    const params = chosen.match!.slice(1);
    const header = idempotencyKeyHeader(event);
    if (method === 'POST' && header !== undefined)
      return this.handleUnderKey(event, path, header, chosen.route, params);
    try {
      return await chosen.route.handle(event, params, undefined);
    } catch (error) {
      return this.toResponse(error);
    }
  }

  /**
   * A POST with an `Idempotency-Key` (design.md "Retries"): the key is checked (400), claimed (422 for another
   * request's key, 409 while its first request runs, or the first response replayed), and the change commits the
   * key's answer in its own transaction. A request that ends without committing gives the key up.
   */
  private async handleUnderKey(
    event: APIGatewayProxyEventV2,
    path: string,
    header: string,
    route: Route,
    params: readonly string[],
  ): Promise<APIGatewayProxyStructuredResultV2> {
    let claimed: Awaited<ReturnType<IdempotencyStore['claim']>>;
    try {
      const key = validateIdempotencyKey(header);
      const body = `${event.isBase64Encoded === true ? 'base64:' : ''}${event.body ?? ''}`;
      claimed = await this.deps.idempotency.claim(key, requestFingerprint('POST', path, body));
    } catch (error) {
      // The claim settles its own lost answers; a failure left over means the request was not processed (at worst
      // an unused claim holds the key until its lease ends): never "outcome unknown", nothing was changed.
      if (isTransientError(error)) {
        this.deps.onError?.(error);
        return retryAfter(
          errorResponse(503, 'temporarily unavailable; the request was not processed; retry'),
          RETRY_AFTER_SECONDS,
        );
      }
      return this.toResponse(error);
    }
    if (claimed.kind === 'replay') {
      return {
        statusCode: claimed.response.statusCode,
        headers: { 'content-type': 'application/json', 'idempotent-replayed': 'true' },
        body: claimed.response.body,
      };
    }
    const { claim } = claimed;
    const underKey: UnderKey = (statusCode) => ({
      claim,
      response: (result) => ({ statusCode, body: JSON.stringify(result) }),
    });
    try {
      return await route.handle(event, params, underKey);
    } catch (error) {
      // Safe whatever the outcome: a transaction of this claim commits only while the key is this claim's or free,
      // and a later claim's record makes it cancel; one that did commit has completed the key (release skips it).
      await this.deps.idempotency.release(claim);
      return this.toResponse(error);
    }
  }

  private toResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
    if (error instanceof BadRequestError) return errorResponse(400, error.message, error.details);
    if (error instanceof InvalidIdempotencyKeyError) {
      return errorResponse(400, 'invalid Idempotency-Key', [
        { path: 'Idempotency-Key', message: error.message },
      ]);
    }
    if (error instanceof IdempotencyKeyReusedError) {
      return errorResponse(422, 'Idempotency-Key reused for another request', [
        { path: 'Idempotency-Key', message: error.message },
      ]);
    }
    if (error instanceof IdempotencyKeyInProgressError) {
      return retryAfter(errorResponse(409, error.message), RETRY_AFTER_SECONDS);
    }
    if (error instanceof OrderNotFoundError) return errorResponse(404, error.message);
    if (error instanceof OrderConflictError) return errorResponse(409, error.message);
    if (error instanceof OrderLimitError) {
      return errorResponse(409, error.message, [{ path: error.path, message: error.detail }]);
    }
    this.deps.onError?.(error);
    if (
      error instanceof OutboxOutcomeUnknownError ||
      error instanceof PaymentOutcomeUnknownError ||
      (!(error instanceof OutboxCommitError) &&
        !(error instanceof PaymentNotRecordedError) &&
        isOutcomeUnknown(error))
    ) {
      return retryAfter(
        json(503, {
          error: 'outcome unknown',
          message:
            'the change may or may not have been committed; retry with the same Idempotency-Key to get its outcome',
        }),
        RETRY_AFTER_SECONDS,
      );
    }
    if (error instanceof PaymentNotRecordedError) {
      return retryAfter(
        errorResponse(
          503,
          'the payment was not recorded (its transaction was rolled back); nothing was written; retry',
        ),
        RETRY_AFTER_SECONDS,
      );
    }
    if (error instanceof OutboxCommitError) {
      const response = errorResponse(503, 'the change was not committed; nothing was written; retry');
      return error.transient ? retryAfter(response, RETRY_AFTER_SECONDS) : response;
    }
    if (isTransientError(error)) {
      return retryAfter(
        errorResponse(503, 'temporarily unavailable; nothing was written; retry'),
        RETRY_AFTER_SECONDS,
      );
    }
    return errorResponse(500, 'internal error');
  }
}

/** The `Idempotency-Key` header's value (header names are case-insensitive), or undefined when absent. */
function idempotencyKeyHeader(event: APIGatewayProxyEventV2): string | undefined {
  const headers = event.headers ?? {};
  const name = Object.keys(headers).find((header) => header.toLowerCase() === 'idempotency-key');
  return name === undefined ? undefined : (headers[name] ?? '');
}

/** The request path without the stage prefix API Gateway puts in front of it for a named stage. */
function requestPath(event: APIGatewayProxyEventV2): string {
  let path = event.rawPath || '/';
  const stage = event.requestContext.stage;
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) path = path.slice(stage.length + 1);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
