import { Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/** The ops CLI the package ships (its `bin`): what every alarm and operator-facing text tells an operator to run. */
export const OPS_CLI = 'reliable-messaging-ops';

/**
 * The command line that runs `command` of the shipped ops CLI against the stack of `scope`:
 * `npx reliable-messaging-ops <command> --stack <stack name>` (the stack's name may be a token: it resolves in the
 * template).
 */
export function opsCommand(scope: IConstruct, command: string): string {
  return `npx ${OPS_CLI} ${command} --stack ${Stack.of(scope).stackName}`;
}
