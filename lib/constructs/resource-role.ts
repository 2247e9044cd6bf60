import { CfnResource, type Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { GROUP_METADATA, RESOURCE_ROLE_METADATA, type ResourceRole } from './resource-roles';

export {
  CURSOR_TABLE_METADATA,
  type CursorTableAttributes,
  GROUP_METADATA,
  PRODUCER_TABLE_METADATA,
  type ProducerTableAttributes,
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  type ResourceRole,
} from './resource-roles';

/** Marks the CloudFormation resource of `construct` (a table, queue, topic or function) with its role. */
export function markRole(construct: IConstruct, role: ResourceRole): void {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to mark as ${role}`);
  }
  resource.addMetadata(RESOURCE_ROLE_METADATA, role);
}

/**
 * Marks the CloudFormation resource of `construct` (a group's queue, dead-letter queue, inbox table, consumer function
 * or cursor table) with the name of its consumer group ({@link GROUP_METADATA}).
 */
export function markGroup(construct: IConstruct, groupName: string): void {
  const resource = construct.node.defaultChild;
  if (!(resource instanceof CfnResource)) {
    throw new Error(`${construct.node.path} has no CloudFormation resource to mark as of group ${groupName}`);
  }
  resource.addMetadata(GROUP_METADATA, groupName);
}

/** The CloudFormation resources of `stack` marked with `role`. */
export function resourcesWithRole(stack: Stack, role: ResourceRole): CfnResource[] {
  return stack.node
    .findAll()
    .filter(
      (node): node is CfnResource =>
        node instanceof CfnResource && node.getMetadata(RESOURCE_ROLE_METADATA) === role,
    );
}
