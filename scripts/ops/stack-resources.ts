import {
  type CloudFormationClient,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import {
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  type ResourceRole,
} from '../../lib/constructs/resource-role';
import { OutputsNotFoundError } from './errors';

type RoleOutputs = Partial<Record<(typeof RESOURCE_ROLES)[ResourceRole], string>>;

interface TemplateResource {
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

const isRole = (value: unknown): value is ResourceRole =>
  typeof value === 'string' && Object.hasOwn(RESOURCE_ROLES, value);

/** The logical ID of each role's resource in a template (roles given to two resources are refused). */
export function rolesInTemplate(templateBody: string, where: string): Map<ResourceRole, string> {
  let template: { Resources?: Record<string, TemplateResource> };
  try {
    template = JSON.parse(templateBody) as typeof template;
  } catch (error) {
    throw new OutputsNotFoundError(`the template of ${where} is not JSON`, { cause: error });
  }
  const roles = new Map<ResourceRole, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const role = resource.Metadata?.[RESOURCE_ROLE_METADATA];
    if (!isRole(role)) continue;
    const other = roles.get(role);
    if (other !== undefined) {
      throw new OutputsNotFoundError(
        `${where} has two resources marked ${role} (${other}, ${logicalId}): give the stack outputs ` +
          `${RESOURCE_ROLES[role]} etc. to say which one ops acts on`,
      );
    }
    roles.set(role, logicalId);
  }
  return roles;
}

async function stackResources(cloudFormation: CloudFormationClient, stackName: string) {
  const resources: StackResourceSummary[] = [];
  let token: string | undefined;
  do {
    const page = await cloudFormation.send(
      new ListStackResourcesCommand({ StackName: stackName, NextToken: token }),
    );
    resources.push(...(page.StackResourceSummaries ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return resources;
}

/**
 * The library's resources of a stack built with the constructs, whatever its outputs: the resources marked with a
 * role (`reliable-messaging:role` metadata) in its template, by the physical IDs CloudFormation gives them (a
 * table's name, a queue's URL, a topic's ARN, a function's name), under the names of the outputs they stand for.
 */
export async function outputsFromResourceRoles(
  cloudFormation: CloudFormationClient,
  stackName: string,
  where = `stack ${stackName}`,
): Promise<RoleOutputs> {
  const template = await cloudFormation.send(
    new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' }),
  );
  const roles = rolesInTemplate(template.TemplateBody ?? '{}', where);
  const physicalIds = new Map(
    (await stackResources(cloudFormation, stackName)).map((resource) => [
      resource.LogicalResourceId,
      resource.PhysicalResourceId,
    ]),
  );
  const outputs: RoleOutputs = {};
  for (const [role, logicalId] of roles) {
    const physicalId = physicalIds.get(logicalId);
    if (physicalId !== undefined && physicalId !== '') outputs[RESOURCE_ROLES[role]] = physicalId;
  }
  return outputs;
}
