import { type Stack, Token } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { HttpNoneAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpJwtAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { describe, expect, it } from 'vitest';
import {
  ORDERS_API_ROUTES,
  OrdersHttpApi,
  type OrdersHttpApiProps,
} from '../../../reference/constructs/orders-http-api';
import { awsTemplate, emulatorTemplate, testStack } from '../support/synth';

function handler(stack: Stack): lambda.IFunction {
  return lambda.Function.fromFunctionArn(
    stack,
    'Handler',
    'arn:aws:lambda:us-east-1:123456789012:function:orders',
  );
}

function api(props: Partial<OrdersHttpApiProps> = {}): { stack: Stack; api: OrdersHttpApi } {
  const stack = testStack();
  return { stack, api: new OrdersHttpApi(stack, 'Api', { handler: handler(stack), ...props }) };
}

/** AuthorizationType of each route of the API that output `outputName` points at. */
function routeAuthorizationTypes(template: Template, outputName: string): string[] {
  const output = JSON.stringify(template.findOutputs(outputName));
  const apiIds = Object.keys(template.findResources('AWS::ApiGatewayV2::Api')).filter((id) =>
    output.includes(`"${id}"`),
  );
  expect(apiIds, `the API of ${outputName}`).toHaveLength(1);
  const routes = template.findResources('AWS::ApiGatewayV2::Route', {
    Properties: { ApiId: { Ref: apiIds[0] } },
  });
  return Object.values(routes).map((route) => route.Properties.AuthorizationType);
}

describe('OrdersHttpApi', () => {
  it('requires IAM (SigV4) on every route by default', () => {
    // GIVEN
    const { stack } = api();
    // WHEN
    const template = Template.fromStack(stack);
    // THEN
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    expect(routes).toHaveLength(ORDERS_API_ROUTES.length);
    for (const route of routes) expect(route.Properties.AuthorizationType).toBe('AWS_IAM');
  });

  it('uses the authorizer it is given', () => {
    // GIVEN
    const authorizer = new HttpJwtAuthorizer('Jwt', 'https://issuer.example.com', {
      jwtAudience: ['orders'],
    });
    // WHEN
    const template = Template.fromStack(api({ authorizer }).stack);
    // THEN
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    for (const route of routes) {
      expect(route.Properties).toMatchObject({
        AuthorizationType: 'JWT',
        AuthorizerId: { Ref: expect.any(String) },
      });
    }
  });

  it('throttles the $default stage (100 per second, bursts of 200) and writes JSON access logs kept a month', () => {
    // GIVEN
    const { stack } = api();
    // WHEN
    const template = Template.fromStack(stack);
    // THEN
    template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 100, ThrottlingBurstLimit: 200 },
      AccessLogSettings: {
        DestinationArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ApiAccessLogs'), 'Arn'] },
        Format: Match.anyValue(),
      },
    });
    const stage = Object.values(template.findResources('AWS::ApiGatewayV2::Stage'))[0];
    const format = JSON.parse(stage?.Properties.AccessLogSettings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      routeKey: '$context.routeKey',
      status: '$context.status',
      responseLatency: '$context.responseLatency',
      integrationLatency: '$context.integrationLatency',
      error: '$context.error.message',
      integrationError: '$context.integrationErrorMessage',
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('takes other throttling limits and log retention', () => {
    // GIVEN
    const { stack } = api({
      throttling: { rateLimit: 12.5, burstLimit: 25 },
      accessLogRetention: logs.RetentionDays.ONE_YEAR,
    });
    // WHEN
    const template = Template.fromStack(stack);
    // THEN
    template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 12.5, ThrottlingBurstLimit: 25 },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 365 });
  });

  it.each([
    [
      { rateLimit: 0 },
      /throttling\.rateLimit must be a number of requests per second above 0 and at most 10000; got 0/,
    ],
    [{ rateLimit: -5 }, /throttling\.rateLimit .*; got -5/],
    [{ rateLimit: 20_000 }, /throttling\.rateLimit .*; got 20000/],
    [{ rateLimit: Number.NaN }, /throttling\.rateLimit .*; got NaN/],
    [{ burstLimit: 0 }, /throttling\.burstLimit must be an integer from 1 to 5000; got 0/],
    [{ burstLimit: 2.5 }, /throttling\.burstLimit must be an integer from 1 to 5000; got 2\.5/],
    [{ burstLimit: 6000 }, /throttling\.burstLimit must be an integer from 1 to 5000; got 6000/],
  ])('fails if throttling is %o', (throttling, message) => {
    expect(() => api({ throttling })).toThrow(message);
  });

  it('leaves limits given as tokens to deployment', () => {
    expect(() => api({ throttling: { rateLimit: Token.asNumber({ Ref: 'Rate' }) } })).not.toThrow();
  });

  it('grants execute-api:Invoke on each route to an IAM principal', () => {
    // GIVEN
    const { stack, api: ordersApi } = api();
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    // WHEN
    ordersApi.grantInvoke(caller);
    // THEN
    const template = Template.fromStack(stack);
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (policy) => policy.Properties.PolicyDocument.Statement,
    );
    for (const statement of statements) {
      expect(statement).toMatchObject({ Action: 'execute-api:Invoke', Effect: 'Allow' });
    }
    // CDK's route ARNs end at the first path parameter (`/orders/{orderId}/notes` → `/orders/*`): 4 distinct ones
    const routeArns = statements
      .flatMap((statement) => [statement.Resource].flat())
      .map((arn) => JSON.stringify(arn));
    expect(routeArns.map((arn) => arn.replace(/^.*\/\*\/(\w+)(\/[^"]*)".*$/, '$1 $2')).sort()).toEqual([
      'GET /inventory/*',
      'GET /orders/*',
      'POST /orders',
      'POST /orders/*',
    ]);
  });

  it('fails if grantInvoke is asked of an API without IAM authorization', () => {
    // GIVEN
    const { stack, api: open } = api({ authorizer: new HttpNoneAuthorizer() });
    const caller = new iam.Role(stack, 'Caller', { assumedBy: new iam.AccountRootPrincipal() });
    // THEN
    expect(() => open.grantInvoke(caller)).toThrow(
      /grantInvoke needs IAM authorization on the routes; this API's routes use NONE/,
    );
  });
});

describe('the demo stack API', () => {
  it('requires IAM on every route of the AWS stack, and has no SignedApiUrl there', () => {
    // GIVEN
    const template = awsTemplate();
    // THEN
    const types = routeAuthorizationTypes(template, 'ApiUrl');
    expect(types).toHaveLength(ORDERS_API_ROUTES.length);
    expect(new Set(types)).toEqual(new Set(['AWS_IAM']));
    expect(Object.values(template.findResources('AWS::ApiGatewayV2::Route')).length).toBe(
      ORDERS_API_ROUTES.length,
    );
    expect(template.findOutputs('SignedApiUrl')).toEqual({});
  });

  it('honours apiAuthorizer', () => {
    // GIVEN
    const template = awsTemplate({ apiAuthorizer: new HttpNoneAuthorizer() });
    // THEN
    expect(new Set(routeAuthorizationTypes(template, 'ApiUrl'))).toEqual(new Set(['NONE']));
  });

  it('opens ApiUrl on the emulator and requires IAM at SignedApiUrl, both in the /_aws/execute-api/ form', () => {
    // GIVEN
    const template = emulatorTemplate();
    // THEN
    expect(new Set(routeAuthorizationTypes(template, 'ApiUrl'))).toEqual(new Set(['NONE']));
    const signed = routeAuthorizationTypes(template, 'SignedApiUrl');
    expect(signed).toHaveLength(ORDERS_API_ROUTES.length);
    expect(new Set(signed)).toEqual(new Set(['AWS_IAM']));
    expect(JSON.stringify(template.findOutputs('SignedApiUrl'))).toContain(
      'http://127.0.0.1:4566/_aws/execute-api/',
    );
  });

  it('serves both emulator APIs with the one orders function', () => {
    // GIVEN
    const template = emulatorTemplate();
    // THEN
    const uris = Object.values(template.findResources('AWS::ApiGatewayV2::Integration')).map((integration) =>
      JSON.stringify(integration.Properties.IntegrationUri),
    );
    const orders = uris.filter((uri) => /OrdersApiFunction/.test(uri));
    expect(orders).toHaveLength(2);
    expect(new Set(orders).size).toBe(1);
    // the only other one: the bench-only API ceiling probe (stacks built with unit accounting)
    expect(uris.filter((uri) => !orders.includes(uri)).every((uri) => /ApiCeilingProbe/.test(uri))).toBe(
      true,
    );
  });
});

describe('OrdersHttpApi name', () => {
  it("is named after its stack and construct id (not CDK's `Default`)", () => {
    // GIVEN
    const { stack } = api();
    // WHEN / THEN
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'TestStack-Api' });
  });

  it('takes the name it is given', () => {
    // GIVEN
    const { stack } = api({ apiName: 'orders' });
    // WHEN / THEN
    Template.fromStack(stack).hasResourceProperties('AWS::ApiGatewayV2::Api', { Name: 'orders' });
  });
});
