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
} from '../../lib/constructs/resource-roles';
import { OutputsNotFoundError } from './errors';

type RoleOutputs = Partial<Record<(typeof RESOURCE_ROLES)[ResourceRole], string>>;

interface TemplateResource {
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

const isRole = (value: unknown): value is ResourceRole =>
  typeof value === 'string' && Object.hasOwn(RESOURCE_ROLES, value);

/** The logical IDs of each role's resources in a template. */
export function rolesInTemplate(templateBody: string, where: string): Map<ResourceRole, string[]> {
  let template: { Resources?: Record<string, TemplateResource> };
  try {
    template = JSON.parse(templateBody) as typeof template;
  } catch (error) {
    throw new OutputsNotFoundError(`the template of ${where} is not JSON`, { cause: error });
  }
  const roles = new Map<ResourceRole, string[]>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const role = resource.Metadata?.[RESOURCE_ROLE_METADATA];
    if (isRole(role)) roles.set(role, [...(roles.get(role) ?? []), logicalId]);
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
 * Outputs named in `known` are not looked for; a role of two resources is refused (outputs must say which).
 */
export async function outputsFromResourceRoles(
  cloudFormation: CloudFormationClient,
  stackName: string,
  where = `stack ${stackName}`,
  known: ReadonlySet<string> = new Set(),
): Promise<RoleOutputs> {
  const template = await cloudFormation.send(
    new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' }),
  );
  const wanted = new Map<ResourceRole, string>();
  for (const [role, logicalIds] of rolesInTemplate(template.TemplateBody ?? '{}', where)) {
    if (known.has(RESOURCE_ROLES[role])) continue;
    const [logicalId, ...others] = logicalIds;
    if (logicalId === undefined) continue;
    if (others.length > 0) {
      throw new OutputsNotFoundError(
        `${where} has ${logicalIds.length} resources marked ${role} (${logicalIds.join(', ')}): give the stack ` +
          `the output ${RESOURCE_ROLES[role]} to say which one ops acts on`,
      );
    }
    wanted.set(role, logicalId);
  }
  if (wanted.size === 0) return {};
  const physicalIds = new Map(
    (await stackResources(cloudFormation, stackName)).map((resource) => [
      resource.LogicalResourceId,
      resource.PhysicalResourceId,
    ]),
  );
  const outputs: RoleOutputs = {};
  for (const [role, logicalId] of wanted) {
    const physicalId = physicalIds.get(logicalId);
    if (physicalId !== undefined && physicalId !== '') outputs[RESOURCE_ROLES[role]] = physicalId;
  }
  return outputs;
}
