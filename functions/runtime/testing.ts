// The runtime's test-stack entry point (`reliable-messaging-serverless/runtime/testing`): the fault-injection kit
// for an application's own Lambda functions in a stack built with `FaultInjection`. Everything here is inert
// unless the stack's fault parameter turns a fault on.
/**
 * The fault-injection kit for an application's own Lambda functions in a stack built with `FaultInjection`: inert
 * unless the stack's fault parameter turns a fault on.
 *
 * @module reliable-messaging-serverless/runtime/testing
 */
export { injectAmbiguousWrites } from './faults/ambiguous-writes';
export { failIfPoison, maybeCrashAfterEffect } from './faults/consumer-faults';
export type { FaultConfig } from './faults/fault-config';
export {
  chance,
  type FaultSource,
  faultSourceFromEnvironment,
  InjectedFaultError,
  NO_FAULTS,
  ParameterFaultSource,
} from './faults/fault-injector';
export {
  type FaultableClient,
  injectAmbiguousCommits,
  injectSendFaults,
  injectServiceFaults,
  injectThrottling,
} from './faults/service-faults';
