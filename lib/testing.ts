// The test-stack entry point (`reliable-messaging-serverless/testing`): the fault-injection kit's construct, for
// stacks that chaos-test an application built on the library. Never used in a production stack: functions built
// without it carry no fault code.

export type { FaultConfig } from '../functions/runtime/faults/fault-config';
export { faultConfigSchema, parseFaultConfig } from '../functions/runtime/faults/fault-config';
export * from './constructs/fault-injection';
