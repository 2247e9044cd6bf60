import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Aspects, Duration, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledgeCfnLint } from './cfn-lint-acknowledgment';
import { ExplicitKmsActions } from './explicit-kms-actions';
import type { FaultInjection } from './fault-injection';
import { HANDLER_BUNDLING } from './handler-bundling';
import { publishLibraryMetrics } from './library-metric';

export interface BundledFunctionProps {
  /** Path of the handler's TypeScript entry file. */
  readonly entry: string;
  /**
   * Directory of the same handler pre-bundled (`index.js`, by `npm run build`), used when `entry` does not exist:
   * the installed package ships these bundles, not the TypeScript sources.
   * @default none: `entry` must exist
   */
  readonly prebuiltBundle?: string;
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
 * A Node.js Lambda function bundled by esbuild with this library's defaults:
 * - the AWS SDK bundled in (not taken from the runtime, so the code runs with the SDK version it was tested with —
 *   and on emulators that run handlers on the host), minified and tree-shaken, ES2022 code that runs on Node 20 and
 *   later;
 * - Node.js 24 (the latest Lambda runtime) on arm64, 512 MB, 30 s timeout;
 * - active X-Ray tracing;
 * - JSON logs in its own log group, kept for a month;
 * - its own execution role, allowed to write to that log group only (no `AWSLambdaBasicExecutionRole`, which may
 *   create and write any log group); grants add what the function needs.
 */
export class BundledFunction extends Construct {
  public readonly function: lambda.Function;
  /** The function's execution role. */
  public readonly role: iam.Role;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: BundledFunctionProps) {
    super(scope, id);
    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    });
    this.role = new iam.Role(this, 'ServiceRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'Execution role of a reliable messaging function: its own log group, then what grants add',
    });
    // The function's log group exists (above), so writing its streams is all it needs: no logs:CreateLogGroup.
    this.logGroup.grantWrite(this.role);
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only for xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing): X-Ray has no resource-level permissions',
    });
    // CDK's grants on KMS-encrypted tables, queues and topics write `kms:GenerateDataKey*` and `kms:ReEncrypt*`:
    // the role's policies get the explicit actions instead (no wildcard action anywhere).
    Aspects.of(this.role).add(new ExplicitKmsActions());
    const common = {
      // cdk-nag AwsSolutions-L1 asks for the latest runtime. MiniStack accepts nodejs24.x like any nodejs* runtime
      // and runs the handler on the host's Node (20): the bundle targets node20, so it runs there and on Lambda.
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      tracing: lambda.Tracing.ACTIVE,
      loggingFormat: lambda.LoggingFormat.JSON,
      logGroup: this.logGroup,
      role: this.role,
      environment: props.environment,
    };
    const handler = props.handler ?? 'handler';
    if (props.prebuiltBundle !== undefined && !existsSync(props.entry)) {
      if (!existsSync(join(props.prebuiltBundle, 'index.js'))) {
        throw new Error(
          `${this.node.path}: neither the handler's source ${props.entry} nor its bundle ` +
            `${join(props.prebuiltBundle, 'index.js')} exists (in a clone of the repository, run \`npm run build\`)`,
        );
      }
      if (props.faultInjection !== undefined) {
        throw new Error(
          `${this.node.path}: faultInjection needs the handler's TypeScript source (${props.entry}); ` +
            'the pre-built bundles have no fault code',
        );
      }
      this.function = new lambda.Function(this, 'Function', {
        ...common,
        code: lambda.Code.fromAsset(props.prebuiltBundle),
        handler: `index.${handler}`,
      });
    } else {
      this.function = new nodejs.NodejsFunction(this, 'Function', {
        ...common,
        entry: props.entry,
        handler,
        bundling: {
          ...HANDLER_BUNDLING,
          mainFields: [...HANDLER_BUNDLING.mainFields],
          format: nodejs.OutputFormat.CJS,
          externalModules: [],
          sourceMap: false,
          define: { FAULT_INJECTION_ENABLED: props.faultInjection === undefined ? 'false' : 'true' },
        },
      });
    }
    publishLibraryMetrics(this.function);
    const cfnFunction = this.function.node.defaultChild as lambda.CfnFunction;
    acknowledgeCfnLint(
      cfnFunction,
      'WS1004',
      'Its log group is its own LogGroup with a retention, attached by LoggingConfig.LogGroup; the rule looks for one named /aws/lambda/<function> only',
    );
    acknowledgeCfnLint(
      cfnFunction,
      'W3005',
      "CDK makes the function depend on its role and the role's policy; the role dependency is also implied by Fn::GetAtt: redundant, harmless",
    );
    props.faultInjection?.configure(this.function);
  }
}
