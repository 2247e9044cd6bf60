// The test-stack entry point (`reliable-messaging-serverless/testing`): the fault-injection kit's construct, for
// stacks that chaos-test an application built on the library. Never used in a production stack: functions built
// without it carry no fault code.
/**
 * For test stacks and integration tests of an app built with the library: the fault-injection construct, and the
 * local emulator kit (deploy a stack, invoke a function, wait until its messages settled).
 *
 * @module reliable-messaging-serverless/testing
 */

export type { FaultConfig } from '../functions/runtime/faults/fault-config';
export { faultConfigSchema, parseFaultConfig } from '../functions/runtime/faults/fault-config';
export { FaultInjection } from './constructs/fault-injection';

// Integration tests of an app built with the library, on a local emulator (MiniStack, or LocalStack through
// AWS_ENDPOINT_URL): start it, deploy a stack of the CDK app to it, invoke a function, wait until its messages settled.
export { CdkCommandError, type DeployStackOptions, deployStack } from './testing/deploy-stack';
export {
  type DeployedStack,
  describeStack,
  findResource,
  ResourceNotFoundError,
  type StackLocation,
  type StackResource,
} from './testing/deployed-stack';
export { emulatorEnvironment } from './testing/emulator-environment';
export { FunctionInvocationError, invokeFunction } from './testing/invoke-function';
export {
  DEFAULT_EMULATOR_PORT,
  EmulatorStartError,
  isEmulatorHealthy,
  type LocalEmulator,
  type LocalEmulatorOptions,
  MINISTACK_VERSION,
  startLocalEmulator,
  stopLocalEmulator,
} from './testing/local-emulator';
export {
  MessagesNotSettledError,
  type PipelineBacklog,
  pipelineBacklog,
  type WaitForMessagesSettledOptions,
  waitForMessagesSettled,
} from './testing/messages-settled';
