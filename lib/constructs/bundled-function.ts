import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { FaultInjection } from './fault-injection';

export interface BundledFunctionProps {
  /** Path of the handler's TypeScript entry file. */
  readonly entry: string;
  /** @default 'handler' */
  readonly handler?: string;
  /** @default Duration.seconds(30) */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default no extra environment */
  readonly environment?: Record<string, string>;
  /** @default logs.RetentionDays.ONE_MONTH */
  readonly logRetention?: logs.RetentionDays;
  /**
   * Builds the function with its fault-injection code and lets it read the faults to inject. For test stacks only.
   * @default no fault injection: the fault code is not even in the bundle
   */
  readonly faultInjection?: FaultInjection;
}

/**
 * A Node.js Lambda function bundled by esbuild with this library's defaults: the AWS SDK bundled in
 * (not taken from the runtime, so the code runs with the SDK version it was tested with — and on emulators
 * that run handlers on the host), minified and tree-shaken, ES2022 code that runs on Node 20 and later,
 * Node.js 22 on arm64, active tracing, JSON logs kept for a month.
 */
export class BundledFunction extends Construct {
  public readonly function: nodejs.NodejsFunction;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: props.handler ?? 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup,
      environment: props.environment,
      bundling: {
        minify: true,
        target: 'node20',
        format: nodejs.OutputFormat.CJS,
        mainFields: ['module', 'main'],
        externalModules: [],
        sourceMap: false,
        // Keep class and function names: errors are matched and logged by name.
        keepNames: true,
        define: { FAULT_INJECTION_ENABLED: props.faultInjection === undefined ? 'false' : 'true' },
      },
    });
    props.faultInjection?.configure(this.function);
  }
}
