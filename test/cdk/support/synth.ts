import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { demoStack as appDemoStack } from '../../../bin/demo-stack';
import { emulatorStackProps, testStackProps } from '../../../reference/stacks/demo-stack-configurations';
import type {
  ReliableMessagingDemoStack,
  ReliableMessagingDemoStackProps,
} from '../../../reference/stacks/reliable-messaging-demo-stack';

/** An app that skips asset bundling: assertion tests look at the template, not at the code. */
export function testApp(): App {
  return new App({ context: { 'aws:cdk:bundling-stacks': [] } });
}

export function testStack(): Stack {
  return new Stack(testApp(), 'TestStack');
}

export const EMULATOR_ENDPOINT = 'http://127.0.0.1:4566';

/** The demo stack's props in each configuration bin/app.ts builds. */
export const stackConfigurations = {
  /** `cdk deploy`: to AWS, default props. */
  aws: (): ReliableMessagingDemoStackProps => ({}),
  /** `npm start`: to the emulator. */
  emulator: (): ReliableMessagingDemoStackProps => emulatorStackProps(EMULATOR_ENDPOINT),
  /** The integration tests (`-c faults=true`): to the emulator, with fault injection and short timings. */
  test: (): ReliableMessagingDemoStackProps => ({
    ...emulatorStackProps(EMULATOR_ENDPOINT),
    ...testStackProps(),
  }),
} as const;

/** The demo stack as bin/app.ts builds it (with the bench's fixtures when built with unit accounting). */
export function demoStack(props: ReliableMessagingDemoStackProps = {}): ReliableMessagingDemoStack {
  return appDemoStack(testApp(), 'ReliableMessagingDemo', props);
}

/** The demo stack as `cdk deploy` synthesizes it for AWS. */
export function awsTemplate(props: ReliableMessagingDemoStackProps = {}): Template {
  return Template.fromStack(demoStack(props));
}

/** The demo stack as `npm start` synthesizes it for the emulator. */
export function emulatorTemplate(): Template {
  return awsTemplate(stackConfigurations.emulator());
}
