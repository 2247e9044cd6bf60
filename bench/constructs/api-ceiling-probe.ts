import { fileURLToPath } from 'node:url';
import { Duration, Validations } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { BundledFunction } from 'reliable-messaging-serverless';

export interface ApiCeilingProbeProps {
  /** The API the orders API is served by: the probe gets a route on the same gateway. */
  readonly api: apigwv2.HttpApi;
}

/** The probe's route, relative to the API's URL. */
export const API_CEILING_PATH = 'bench/ceiling';

/**
 * FOR BENCHMARKS ONLY: a trivial function behind the orders API's own gateway (`POST /bench/ceiling`), so
 * `npm run bench` can measure the honest ceiling of anything that enters through the API on this machine — the
 * gateway's and Lambda's cost per request, with no DynamoDB, SQS or library code. Deployed only in local stacks
 * built with unit accounting, like the naive baseline.
 */
export class ApiCeilingProbe extends Construct {
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: ApiCeilingProbeProps) {
    super(scope, id);
    this.function = new BundledFunction(this, 'Handler', {
      entry: fileURLToPath(new URL('../functions/api-ceiling/handler.ts', import.meta.url)),
      timeout: Duration.seconds(10),
      environment: { POWERTOOLS_SERVICE_NAME: 'api-ceiling' },
    }).function;
    const [route] = props.api.addRoutes({
      path: `/${API_CEILING_PATH}`,
      methods: [apigwv2.HttpMethod.POST],
      integration: new HttpLambdaIntegration('CeilingIntegration', this.function),
    });
    if (route !== undefined) {
      Validations.of(route).acknowledge({
        id: 'AwsSolutions-APIG4',
        reason: 'Bench-only probe in throw-away local stacks: it answers a constant and touches no data',
      });
    }
  }
}
