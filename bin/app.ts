#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { emulatorStackProps, testStackProps } from '../reference/stacks/demo-stack-configurations';
import { demoStack } from './demo-stack';

/**
 * The CDK app. `cdk deploy` deploys the reference application to the account and region of the current
 * credentials, with production durability and no fault code. Context switches what `npm start` and the tests use:
 * - `-c emulatorEndpoint=<url>`: deployed to a local emulator; the API URL output takes the emulator's form, the
 *   stateful resources are removable, so a local stack can be thrown away, and `ApiUrl` takes unsigned calls while
 *   `SignedApiUrl` requires SigV4;
 * - `-c faults=true`: a TEST stack with the fault-injection kit and short recovery timings;
 * - `-c alertEmail=ops@example.com`: the alert topic mails every alarm and alert there (AWS sends a confirmation
 *   link first; nothing arrives until it is clicked).
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
const alertEmail: unknown = app.node.tryGetContext('alertEmail');
if (
  alertEmail !== undefined &&
  (typeof alertEmail !== 'string' || !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alertEmail))
) {
  throw new Error(
    `context alertEmail must be an email address such as ops@example.com; got ${JSON.stringify(alertEmail)}`,
  );
}

demoStack(app, 'ReliableMessagingDemo', {
  description: 'Reliable messaging on AWS serverless: reference application',
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
  // On the emulator the API is open (see emulatorStackProps): the contract's tests call ApiUrl unsigned and MiniStack
  // rejects unsigned calls to IAM routes; SignedApiUrl keeps IAM. On AWS every route needs SigV4 (the default).
  ...(typeof emulatorEndpoint === 'string' ? emulatorStackProps(emulatorEndpoint) : {}),
  ...(faultInjection ? testStackProps() : {}),
  ...(typeof alertEmail === 'string' ? { alertSubscriptions: [new EmailSubscription(alertEmail)] } : {}),
});
