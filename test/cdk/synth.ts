import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import {
  ReliableMessagingDemoStack,
  type ReliableMessagingDemoStackProps,
} from '../../lib/stacks/reliable-messaging-demo-stack';

/** An app that skips asset bundling: assertion tests look at the template, not at the code. */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

export function testStack(): Stack {
  return new Stack(testApp(), 'TestStack');
}

/** The demo stack as `cdk deploy` synthesizes it for AWS. */
export function awsTemplate(props: ReliableMessagingDemoStackProps = {}): Template {
  return Template.fromStack(new ReliableMessagingDemoStack(testApp(), 'ReliableMessagingDemo', props));
}

/** The demo stack as `npm start` synthesizes it for the emulator. */
export function emulatorTemplate(): Template {
  return awsTemplate({
    emulatorEndpoint: 'http://127.0.0.1:4566',
    durability: {
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      pointInTimeRecovery: false,
    },
  });
}
