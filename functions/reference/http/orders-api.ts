import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { OutboxCommitError } from '../../runtime/outbox/outbox-writer';
import { OrderConflictError, OrderNotFoundError } from '../orders/order-errors';
import {
  addNoteSchema,
  cancelOrderSchema,
  capturePaymentSchema,
  orderIdSchema,
  placeOrderSchema,
  skuSchema,
} from '../orders/order-schemas';
import type { OrderService } from '../orders/order-service';
import type { PaymentService } from '../payments/payment-service';
import type { ProjectionService } from '../projection/projection-service';
import { errorResponse, json } from './http-response';
import { BadRequestError, parseBody, parsePathParameter } from './request-body';

export interface OrdersApiDependencies {
  readonly orders: OrderService;
  readonly projection: ProjectionService;
  readonly payments: PaymentService;
  /** Told of every unexpected error (answered 5xx). */
  readonly onError?: (error: unknown) => void;
}

type Route = {
  readonly method: string;
  readonly pattern: RegExp;
  readonly handle: (
    event: APIGatewayProxyEventV2,
    params: readonly string[],
  ) => Promise<APIGatewayProxyStructuredResultV2>;
};

/**
 * The reference application's HTTP contract (design.md, "Reference application contract"). Routes are matched
 * on the request path, so the same code serves explicit API Gateway routes and a catch-all route. A route checks
 * its path parameters and its whole body before it reads or writes anything: bad input is a 400 that wrote
 * nothing (see request-body.ts for the body limit and the checks every body gets).
 */
export class OrdersApi {
  private readonly routes: readonly Route[];

  constructor(private readonly deps: OrdersApiDependencies) {
    const { orders, projection, payments } = deps;
    const orderId = (raw: string) => parsePathParameter('orderId', raw, orderIdSchema);
    this.routes = [
      {
        method: 'POST',
        pattern: /^\/orders$/,
        handle: async (event) => json(201, await orders.placeOrder(parseBody(event, placeOrderSchema))),
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]*)\/notes$/,
        handle: async (event, [id]) => {
          const key = orderId(id!);
          return json(201, await orders.addNote(key, parseBody(event, addNoteSchema)));
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]*)\/cancel$/,
        handle: async (event, [id]) => {
          const key = orderId(id!);
          return json(200, await orders.cancelOrder(key, parseBody(event, cancelOrderSchema, true)));
        },
      },
      {
        method: 'POST',
        pattern: /^\/orders\/([^/]*)\/payments$/,
        handle: async (event, [id]) => {
          const key = orderId(id!);
          const { amount } = parseBody(event, capturePaymentSchema);
          return json(202, await payments.capture(key, amount));
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
        pattern: /^\/inventory\/([^/]*)$/,
        handle: async (_event, [sku]) =>
          json(200, await projection.getInventory(parsePathParameter('sku', sku!, skuSchema))),
      },
    ];
  }

  async handle(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
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
    try {
      return await chosen.route.handle(event, chosen.match!.slice(1));
    } catch (error) {
      return this.toResponse(error);
    }
  }

  private toResponse(error: unknown): APIGatewayProxyStructuredResultV2 {
    if (error instanceof BadRequestError) return errorResponse(400, error.message, error.details);
    if (error instanceof OrderNotFoundError) return errorResponse(404, error.message);
    if (error instanceof OrderConflictError) return errorResponse(409, error.message);
    this.deps.onError?.(error);
    if (error instanceof OutboxCommitError)
      return errorResponse(503, 'the change was not committed; nothing was written; retry');
    return errorResponse(500, 'internal error');
  }
}

/** The request path without the stage prefix API Gateway puts in front of it for a named stage. */
function requestPath(event: APIGatewayProxyEventV2): string {
  let path = event.rawPath || '/';
  const stage = event.requestContext.stage;
  if (stage && stage !== '$default' && path.startsWith(`/${stage}/`)) path = path.slice(stage.length + 1);
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}
