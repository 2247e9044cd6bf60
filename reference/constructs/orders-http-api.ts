import { Stack, Token } from 'aws-cdk-lib';
import * as apigateway from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** Rate limits of the API's default stage (every route). */
export interface HttpApiThrottling {
  /**
   * Steady-state requests per second (more than 0, at most 10,000: the account's default limit).
   * @default 100
   */
  readonly rateLimit?: number;
  /**
   * Requests that may arrive at once above the steady rate (an integer from 1 to 5,000: the account's default limit).
   * @default 200
   */
  readonly burstLimit?: number;
}

export interface OrdersHttpApiProps {
  /** The function that serves every route (the reference application's API handler). */
  readonly handler: lambda.IFunction;
  /**
   * Who may call the routes. With the default, callers sign their requests with SigV4 (service `execute-api`) and
   * need `execute-api:Invoke` on the routes: see `grantInvoke`.
   * @default IAM (SigV4): `new HttpIamAuthorizer()`
   */
  readonly authorizer?: apigwv2.IHttpRouteAuthorizer;
  /**
   * Rate limits of the default stage; excess requests get 429.
   * @default rateLimit 100 per second, burstLimit 200
   */
  readonly throttling?: HttpApiThrottling;
  /**
   * How long the access logs are kept.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly accessLogRetention?: logs.RetentionDays;
  /** @default 'Reliable messaging reference application' */
  readonly description?: string;
  /**
   * The API's name, as the console and `aws apigatewayv2 get-apis` show it (API names need not be unique).
   * @default `<stack name>-<construct id>`, e.g. `ReliableMessagingDemo-HttpApi`
   */
  readonly apiName?: string;
}

/** The routes of the reference application's contract (design.md), all served by one function. */
export const ORDERS_API_ROUTES: ReadonlyArray<readonly [apigwv2.HttpMethod, string]> = [
  [apigwv2.HttpMethod.POST, '/orders'],
  [apigwv2.HttpMethod.GET, '/orders/{orderId}'],
  [apigwv2.HttpMethod.POST, '/orders/{orderId}/notes'],
  [apigwv2.HttpMethod.POST, '/orders/{orderId}/cancel'],
  [apigwv2.HttpMethod.POST, '/orders/{orderId}/payments'],
  [apigwv2.HttpMethod.GET, '/orders/{orderId}/view'],
  [apigwv2.HttpMethod.GET, '/orders/{orderId}/audit'],
  [apigwv2.HttpMethod.GET, '/orders/{orderId}/shipment'],
  [apigwv2.HttpMethod.GET, '/inventory/{sku}'],
];

const DEFAULT_RATE_LIMIT = 100;
const DEFAULT_BURST_LIMIT = 200;

/**
 * The reference application's HTTP API (API Gateway v2) with these defaults:
 * - every route of the contract, on the `$default` stage, proxied to `handler`;
 * - IAM (SigV4) authorization on every route (`authorizer` changes it; `grantInvoke` lets an IAM principal call);
 * - throttling on the stage: 100 requests per second, bursts of 200;
 * - JSON access logs (request id, source IP, caller, route, status, latencies, errors) in their own log group,
 *   kept for a month.
 * The request body limit is the handler's: it answers 400 above 256 KB.
 */
export class OrdersHttpApi extends Construct {
  public readonly httpApi: apigwv2.HttpApi;
  /** The `$default` stage, throttled and access-logged. */
  public readonly stage: apigwv2.HttpStage;
  public readonly accessLogs: logs.LogGroup;
  public readonly routes: readonly apigwv2.HttpRoute[];
  /** `AWS_IAM` with the default authorizer; `NONE`, `JWT` or `CUSTOM` with others. */
  public readonly authorizationType: string;

  constructor(scope: Construct, id: string, props: OrdersHttpApiProps) {
    super(scope, id);
    const rateLimit = props.throttling?.rateLimit ?? DEFAULT_RATE_LIMIT;
    const burstLimit = props.throttling?.burstLimit ?? DEFAULT_BURST_LIMIT;
    validateThrottling(rateLimit, burstLimit);

    // The id `Default` keeps the API's resources where they were before this construct wrapped it (same logical ids).
    this.httpApi = new apigwv2.HttpApi(this, 'Default', {
      // Without a name, CDK would name the API after its construct id: `Default`.
      apiName: props.apiName ?? `${Stack.of(this).stackName}-${id}`,
      description: props.description ?? 'Reliable messaging reference application',
      createDefaultStage: false,
    });
    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', {
      retention: props.accessLogRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.stage = this.httpApi.addStage('DefaultStage', {
      stageName: '$default',
      autoDeploy: true,
      throttle: { rateLimit, burstLimit },
      accessLogSettings: {
        destination: new apigwv2.LogGroupLogDestination(this.accessLogs),
        format: apigateway.AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    const authorizer = props.authorizer ?? new HttpIamAuthorizer();
    const integration = new HttpLambdaIntegration('OrdersIntegration', props.handler);
    this.routes = ORDERS_API_ROUTES.flatMap(([method, path]) =>
      this.httpApi.addRoutes({ path, methods: [method], integration, authorizer }),
    );
    const types = new Set(
      this.routes.map((route) => (route.node.defaultChild as apigwv2.CfnRoute).authorizationType),
    );
    this.authorizationType = [...types].join(',') || 'NONE';
  }

  /**
   * Lets `grantee` call every route: `execute-api:Invoke` on the routes' ARNs, in every stage. (CDK's route ARNs end
   * at the first path parameter: `POST /orders/{orderId}/notes` is granted as `POST/orders/*`.) Only with IAM
   * authorization: throws otherwise.
   */
  grantInvoke(grantee: iam.IGrantable): iam.Grant[] {
    if (this.authorizationType !== 'AWS_IAM') {
      throw new Error(
        `grantInvoke needs IAM authorization on the routes; this API's routes use ${this.authorizationType}`,
      );
    }
    return this.routes.map((route) => route.grantInvoke(grantee));
  }
}

/** One JSON object per request: who called what, the answer, how long it took, and why it failed. */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  ip: '$context.identity.sourceIp',
  caller: '$context.identity.userArn',
  requestTime: '$context.requestTime',
  httpMethod: '$context.httpMethod',
  routeKey: '$context.routeKey',
  path: '$context.path',
  status: '$context.status',
  protocol: '$context.protocol',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationLatency: '$context.integrationLatency',
  integrationStatus: '$context.integrationStatus',
  error: '$context.error.message',
  integrationError: '$context.integrationErrorMessage',
  authorizerError: '$context.authorizer.error',
};

function validateThrottling(rateLimit: number, burstLimit: number): void {
  if (
    !Token.isUnresolved(rateLimit) &&
    !(Number.isFinite(rateLimit) && rateLimit > 0 && rateLimit <= 10_000)
  ) {
    throw new Error(
      `throttling.rateLimit must be a number of requests per second above 0 and at most 10000; got ${rateLimit}`,
    );
  }
  if (
    !Token.isUnresolved(burstLimit) &&
    !(Number.isInteger(burstLimit) && burstLimit >= 1 && burstLimit <= 5_000)
  ) {
    throw new Error(`throttling.burstLimit must be an integer from 1 to 5000; got ${burstLimit}`);
  }
}
