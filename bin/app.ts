#!/usr/bin/env node
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { ReliableMessagingDemoStack } from '../lib/stacks/reliable-messaging-demo-stack';

/**
 * The CDK app. `cdk deploy` deploys the reference application to the account and region of the current
 * credentials, with production durability and no fault code. Context switches what `npm start` and the tests use:
 * - `-c emulatorEndpoint=<url>`: deployed to a local emulator; the API URL output takes the emulator's form and the
 *   stateful resources are removable, so a local stack can be thrown away;
 * - `-c faults=true`: a TEST stack with the fault-injection kit and short recovery timings.
 */
const app = new App();
const emulatorEndpoint: unknown = app.node.tryGetContext('emulatorEndpoint');
if (
  emulatorEndpoint !== undefined &&
  (typeof emulatorEndpoint !== 'string' || !/^https?:\/\//.test(emulatorEndpoint))
) {
  throw new Error(`context emulatorEndpoint must be an http(s) URL; got ${JSON.stringify(emulatorEndpoint)}`);
}
const faults: unknown = app.node.tryGetContext('faults');
if (faults !== undefined && faults !== 'true' && faults !== 'false' && typeof faults !== 'boolean') {
  throw new Error(`context faults must be true or false; got ${JSON.stringify(faults)}`);
}
const faultInjection = faults === true || faults === 'true';

new ReliableMessagingDemoStack(app, 'ReliableMessagingDemo', {
  description: 'Reliable messaging on AWS serverless: reference application',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...(typeof emulatorEndpoint === 'string'
    ? {
        emulatorEndpoint,
        // Local stacks count their billable units, for `npm run bench`.
        unitAccounting: true,
        durability: {
          removalPolicy: RemovalPolicy.DESTROY,
          deletionProtection: false,
          pointInTimeRecovery: false,
        },
      }
    : {}),
  ...(faultInjection
    ? {
        faultInjection: true,
        timing: {
          sweeper: {
            gracePeriod: Duration.seconds(10),
            maxAttempts: 4,
            backoff: Duration.seconds(1),
            maxBackoff: Duration.seconds(2),
          },
          checkBack: {
            checkInterval: Duration.seconds(10),
            maxChecks: 3,
            checkerTimeout: Duration.seconds(3),
          },
          queueVisibilityTimeout: Duration.seconds(20),
          parkAfterFailures: 2,
          consumerTimeout: Duration.seconds(15),
        },
      }
    : {}),
});
