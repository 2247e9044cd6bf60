#!/usr/bin/env node
import { App, RemovalPolicy } from 'aws-cdk-lib';
import { ReliableMessagingDemoStack } from '../lib/stacks/reliable-messaging-demo-stack';

/**
 * The CDK app. `cdk deploy` deploys the reference application to the account and region of the current
 * credentials, with production durability. Only when synthesized with `-c emulatorEndpoint=<url>` (what
 * `npm start` and the integration tests do) does it target a local emulator: the API URL output takes the
 * emulator's form and the stateful resources are removable, so a local stack can be thrown away.
 */
const app = new App();
const emulatorEndpoint: unknown = app.node.tryGetContext('emulatorEndpoint');
if (
  emulatorEndpoint !== undefined &&
  (typeof emulatorEndpoint !== 'string' || !/^https?:\/\//.test(emulatorEndpoint))
) {
  throw new Error(`context emulatorEndpoint must be an http(s) URL; got ${JSON.stringify(emulatorEndpoint)}`);
}

new ReliableMessagingDemoStack(app, 'ReliableMessagingDemo', {
  description: 'Reliable messaging on AWS serverless: reference application',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  ...(typeof emulatorEndpoint === 'string'
    ? {
        emulatorEndpoint,
        durability: {
          removalPolicy: RemovalPolicy.DESTROY,
          deletionProtection: false,
          pointInTimeRecovery: false,
        },
      }
    : {}),
});
