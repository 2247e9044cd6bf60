import { Duration } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import type { Construct } from 'constructs';
import { HANDLER_BUNDLING } from './handler-bundling';

/**
 * How a `MessagingFunction` is bundled unless its `bundling` says otherwise (each field of the user's `bundling`
 * replaces the same field here; the others stay):
 * - `externalModules: []`: the AWS SDK (`@aws-sdk/*`) is bundled in, not taken from the Lambda runtime. The code runs
 *   with the SDK version the app's lockfile pins, on AWS and on emulators (MiniStack, LocalStack) whose workers have no
 *   SDK at all — `NodejsFunction` alone leaves it out and fails there with `Cannot find module '@aws-sdk/…'`;
 * - `target: 'node20'`: runs on the Lambda runtime and on an emulator that runs handlers on a Node 20 host;
 * - minified and tree-shaken, class and function names kept (errors are matched and logged by name);
 * - `sourceMap: true`, and `NODE_OPTIONS=--enable-source-maps` set (unless given): stack traces name the TypeScript
 *   sources.
 */
export const MESSAGING_FUNCTION_BUNDLING: nodejs.BundlingOptions = {
  minify: HANDLER_BUNDLING.minify,
  keepNames: HANDLER_BUNDLING.keepNames,
  target: HANDLER_BUNDLING.target,
  mainFields: [...HANDLER_BUNDLING.mainFields],
  externalModules: [],
  sourceMap: true,
};

/** The props of a `MessagingFunction`: those of `NodejsFunction`, with other defaults. */
export interface MessagingFunctionProps extends nodejs.NodejsFunctionProps {
  /**
   * @default lambda.Runtime.NODEJS_22_X
   */
  readonly runtime?: lambda.Runtime;
  /**
   * Keep it at most a sixth of the queue's visibility timeout for a consumer (the `FifoChannel` default of 3
   * minutes allows 30 seconds).
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /**
   * Merged over {@link MESSAGING_FUNCTION_BUNDLING}: a field given here replaces that field only.
   * @default MESSAGING_FUNCTION_BUNDLING
   */
  readonly bundling?: nodejs.BundlingOptions;
}

/**
 * A producer's or consumer's own Lambda function (a `NodejsFunction`) that runs the same on AWS and on the local
 * emulators: its bundle carries the AWS SDK and the runtime of this library, so nothing is taken from the Lambda
 * runtime's own copy. Node.js 22, 30 s, 512 MB, source maps on; see {@link MESSAGING_FUNCTION_BUNDLING}.
 *
 * Wire it with one call per side: `outbox.addProducer(fn)`, `channel.addConsumer(id, { handler: fn, … })` (or
 * `ReliableMessaging`'s `addProducer` / `addConsumer`).
 */
export class MessagingFunction extends nodejs.NodejsFunction {
  constructor(scope: Construct, id: string, props: MessagingFunctionProps = {}) {
    const bundling: nodejs.BundlingOptions = { ...MESSAGING_FUNCTION_BUNDLING, ...props.bundling };
    super(scope, id, {
      ...props,
      runtime: props.runtime ?? lambda.Runtime.NODEJS_22_X,
      timeout: props.timeout ?? Duration.seconds(30),
      memorySize: props.memorySize ?? 512,
      bundling,
      environment: {
        ...(bundling.sourceMap ? { NODE_OPTIONS: '--enable-source-maps' } : {}),
        ...props.environment,
      },
    });
  }
}
