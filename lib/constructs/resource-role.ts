import { CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * The contract between the constructs and `reliable-messaging-ops`: each construct marks the resources an operator
 * needs with the CloudFormation metadata key `reliable-messaging:role`, whatever the stack and its logical IDs.
 * The ops CLI reads a stack's template and resources and finds them by role (a stack's outputs of the same names
 * still win). Each role, with the name of the output it stands for.
 */
export const RESOURCE_ROLES = {
  'outbox-table': 'OutboxTableName',
  queue: 'QueueUrl',
  'dead-letter-queue': 'DeadLetterQueueUrl',
  'inbox-table': 'InboxTableName',
  'alert-topic': 'AlertTopicArn',
  'relay-function': 'RelayFunctionName',
  'relay-failure-queue': 'RelayFailureQueueUrl',
  'sweeper-function': 'SweeperFunctionName',
  'consumer-function': 'ConsumerFunctionName',
  'check-back-function': 'CheckBackFunctionName',
} as const;

export type ResourceRole = keyof typeof RESOURCE_ROLES;

/** The CloudFormation metadata key of a resource's role. */
export const RESOURCE_ROLE_METADATA = 'reliable-messaging:role';

/** Marks the CloudFormation resource of `construct` (a table, queue, topic or function) with its role. */
export function markRole(construct: IConstruct, role: ResourceRole): void {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to mark as ${role}`);
  }
  resource.addMetadata(RESOURCE_ROLE_METADATA, role);
}
