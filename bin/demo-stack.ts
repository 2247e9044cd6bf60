import type { Construct } from 'constructs';
import { addBenchFixtures } from '../bench/constructs/bench-fixtures';
import {
  ReliableMessagingDemoStack,
  type ReliableMessagingDemoStackProps,
} from '../reference/stacks/reliable-messaging-demo-stack';

/**
 * The reference application's stack as the CDK app deploys it: a stack built with unit accounting (a local one, for
 * `npm run bench`) also carries the bench's fixtures and their outputs. The reference stack does not import the
 * bench: the app composes the two (and the CDK tests build the stack through here, as the app does).
 */
export function demoStack(
  scope: Construct,
  id: string,
  props: ReliableMessagingDemoStackProps = {},
): ReliableMessagingDemoStack {
  const stack = new ReliableMessagingDemoStack(scope, id, props);
  if (props.unitAccounting) {
    addBenchFixtures(stack, { api: stack.api, encryptionKey: stack.dataKey, alertTopic: stack.alertTopic });
  }
  return stack;
}
