import {
  type CloudFormationClient,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import {
  CURSOR_TABLE_METADATA,
  type CursorTableAttributes,
  PRODUCER_TABLE_METADATA,
  type ProducerTableAttributes,
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  type ResourceRole,
} from '../constructs/resource-roles';
import { cursorTableAttributes } from './cursor-table';
import { OutputsNotFoundError } from './errors';
import { producerTableAttributes } from './producer-table';

type RoleOutputs = Partial<Record<(typeof RESOURCE_ROLES)[ResourceRole], string>>;

interface TemplateResource {
  readonly Metadata?: Readonly<Record<string, unknown>>;
}

const isRole = (value: unknown): value is ResourceRole =>
  typeof value === 'string' && Object.hasOwn(RESOURCE_ROLES, value);

type Template = { readonly Resources?: Readonly<Record<string, TemplateResource>> };

function parseTemplate(templateBody: string, where: string): Template {
  try {
    return JSON.parse(templateBody) as Template;
  } catch (error) {
    throw new OutputsNotFoundError(`the template of ${where} is not JSON`, { cause: error });
  }
}

/** The logical IDs of each role's resources in a template. */
export function rolesInTemplate(templateBody: string, where: string): Map<ResourceRole, string[]> {
  return rolesOf(parseTemplate(templateBody, where));
}

function rolesOf(template: Template): Map<ResourceRole, string[]> {
  const roles = new Map<ResourceRole, string[]>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const role = resource.Metadata?.[RESOURCE_ROLE_METADATA];
    if (isRole(role)) roles.set(role, [...(roles.get(role) ?? []), logicalId]);
  }
  return roles;
}

/** A resource's metadata under `key`: an object, or the same as a JSON string (then parsed). */
function metadataValue(resource: TemplateResource | undefined, key: string): unknown {
  const value = resource?.Metadata?.[key];
  if (typeof value !== 'string') return value;
  try {
    return JSON.parse(value) as unknown;
  } catch {
    return value; // not JSON: the attributes' check says what it holds
  }
}

/** What a stack's template declares by role: the outputs its resources stand for, and the tables' attributes. */
export interface StackRoles {
  readonly outputs: RoleOutputs;
  /** The attributes of the resource marked `producer-table` (when there is one). */
  readonly producerTableAttributes?: ProducerTableAttributes;
  /** The attributes of the resource marked `cursor-table` (when there is exactly one). */
  readonly cursorTableAttributes?: CursorTableAttributes;
  /** The logical IDs of the resources marked `cursor-table`, when there are several (the command line says which). */
  readonly cursorTables?: readonly string[];
}

/** Every resource of a stack (ListStackResources, all pages). */
export async function stackResources(
  cloudFormation: CloudFormationClient,
  stackName: string,
): Promise<StackResourceSummary[]> {
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
  return (await stackRoles(cloudFormation, stackName, where, known)).outputs;
}

/**
 * `outputsFromResourceRoles`, and the attributes of the producer's table (`reliable-messaging:producer-table`
 * metadata) when the template marks one (`TransactionalOutbox.addProducer(fn, { producerTable })`), and of the
 * consumer's cursor table (`reliable-messaging:cursor-table` metadata, `IdempotentConsumer`'s `cursorTable`).
 */
export async function stackRoles(
  cloudFormation: CloudFormationClient,
  stackName: string,
  where = `stack ${stackName}`,
  known: ReadonlySet<string> = new Set(),
): Promise<StackRoles> {
  const response = await cloudFormation.send(
    new GetTemplateCommand({ StackName: stackName, TemplateStage: 'Processed' }),
  );
  const template = parseTemplate(response.TemplateBody ?? '{}', where);
  const roles = rolesOf(template);
  const [producerTableId, ...otherProducerTables] = roles.get('producer-table') ?? [];
  const [cursorTableId, ...otherCursorTables] = roles.get('cursor-table') ?? [];
  const attributes = {
    ...(producerTableId === undefined || otherProducerTables.length > 0
      ? {}
      : {
          producerTableAttributes: producerTableAttributes(
            metadataValue(template.Resources?.[producerTableId], PRODUCER_TABLE_METADATA),
            `${where}, resource ${producerTableId}`,
          ),
        }),
    ...(cursorTableId === undefined
      ? {}
      : otherCursorTables.length > 0
        ? { cursorTables: [cursorTableId, ...otherCursorTables] }
        : {
            cursorTableAttributes: cursorTableAttributes(
              metadataValue(template.Resources?.[cursorTableId], CURSOR_TABLE_METADATA),
              `${where}, resource ${cursorTableId}`,
            ),
          }),
  };
  const wanted = new Map<ResourceRole, string>();
  for (const [role, logicalIds] of roles) {
    if (known.has(RESOURCE_ROLES[role])) continue;
    const [logicalId, ...others] = logicalIds;
    if (logicalId === undefined) continue;
    if (others.length > 0 && (role === 'producer-table' || role === 'cursor-table')) continue; // the command line says which
    if (others.length > 0) {
      throw new OutputsNotFoundError(
        `${where} has ${logicalIds.length} resources marked ${role} (${logicalIds.join(', ')}): give the stack ` +
          `the output ${RESOURCE_ROLES[role]} to say which one ops acts on`,
      );
    }
    wanted.set(role, logicalId);
  }
  if (wanted.size === 0) return { outputs: {}, ...attributes };
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
  return { outputs, ...attributes };
}
