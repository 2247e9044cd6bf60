import {
  type CloudFormationClient,
  GetTemplateCommand,
  ListStackResourcesCommand,
  type StackResourceSummary,
} from '@aws-sdk/client-cloudformation';
import {
  CURSOR_TABLE_METADATA,
  type CursorTableAttributes,
  GROUP_METADATA,
  PRODUCER_TABLE_METADATA,
  type ProducerTableAttributes,
  RESOURCE_ROLE_METADATA,
  RESOURCE_ROLES,
  type ResourceRole,
} from '../constructs/resource-roles';
import type { PartialGroup } from './consumer-groups';
import { CursorTableAmbiguousError, cursorTableAttributes } from './cursor-table';
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

/** The roles a consumer group's resources have (they may carry `reliable-messaging:group` metadata). */
export const GROUP_ROLES = [
  'queue',
  'dead-letter-queue',
  'inbox-table',
  'consumer-function',
  'cursor-table',
] as const satisfies readonly ResourceRole[];
type GroupRole = (typeof GROUP_ROLES)[number];
const isGroupRole = (role: ResourceRole): role is GroupRole =>
  (GROUP_ROLES as readonly string[]).includes(role);

/** The logical IDs of each role's resources in a template (the resources of named consumer groups aside). */
export function rolesInTemplate(templateBody: string, where: string): Map<ResourceRole, string[]> {
  return rolesOf(parseTemplate(templateBody, where), where).roles;
}

/** Roles by logical IDs: the stack's (and its unnamed group's), and each named group's, in template order. */
function rolesOf(
  template: Template,
  where: string,
): { roles: Map<ResourceRole, string[]>; groups: Map<string, Map<GroupRole, string[]>> } {
  const roles = new Map<ResourceRole, string[]>();
  const groups = new Map<string, Map<GroupRole, string[]>>();
  for (const [logicalId, resource] of Object.entries(template.Resources ?? {})) {
    const role = resource.Metadata?.[RESOURCE_ROLE_METADATA];
    if (!isRole(role)) continue;
    const group = resource.Metadata?.[GROUP_METADATA];
    if (group === undefined || !isGroupRole(role)) {
      roles.set(role, [...(roles.get(role) ?? []), logicalId]);
      continue;
    }
    if (typeof group !== 'string' || group.trim() === '') {
      throw new OutputsNotFoundError(
        `${where}, resource ${logicalId}: its ${GROUP_METADATA} metadata must be a group name; got ${JSON.stringify(group)}`,
      );
    }
    const groupRoles = groups.get(group) ?? new Map<GroupRole, string[]>();
    groups.set(group, groupRoles);
    groupRoles.set(role, [...(groupRoles.get(role) ?? []), logicalId]);
  }
  return { roles, groups };
}

const GROUP_FIELDS = {
  queue: 'queueUrl',
  'dead-letter-queue': 'deadLetterQueueUrl',
  'inbox-table': 'inboxTableName',
  'consumer-function': 'consumerFunctionName',
} as const;

/** The named groups of a template by physical IDs, each resource role at most once per group (else an error). */
function declaredGroups(
  template: Template,
  groups: ReadonlyMap<string, ReadonlyMap<GroupRole, readonly string[]>>,
  physicalIds: ReadonlyMap<string | undefined, string | undefined>,
  where: string,
): PartialGroup[] {
  const physical = (logicalId: string) => {
    const id = physicalIds.get(logicalId);
    return id === undefined || id === '' ? undefined : id;
  };
  return [...groups].map(([name, roles]) => {
    const fields: Record<string, string> = {};
    for (const [role, logicalIds] of roles) {
      if (logicalIds.length > 1 && role !== 'cursor-table') {
        throw new OutputsNotFoundError(
          `${where} has ${logicalIds.length} resources marked ${role} in consumer group ${name} ` +
            `(${logicalIds.join(', ')}): a group has one`,
        );
      }
      const id = physical(logicalIds[0]!);
      if (role !== 'cursor-table' && id !== undefined) fields[GROUP_FIELDS[role]] = id;
    }
    const cursorTables = roles.get('cursor-table') ?? [];
    const cursorTable =
      cursorTables.length > 1
        ? new CursorTableAmbiguousError(`${where}, consumer group ${name},`, cursorTables)
        : cursorTables.length === 1 && physical(cursorTables[0]!) !== undefined
          ? {
              tableName: physical(cursorTables[0]!)!,
              ...cursorTableAttributes(
                metadataValue(template.Resources?.[cursorTables[0]!], CURSOR_TABLE_METADATA),
                `${where}, resource ${cursorTables[0]}`,
              ),
              source: `${where}: the table marked cursor-table in consumer group ${name}`,
            }
          : undefined;
    return { name, ...fields, cursorTable };
  });
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
  /**
   * The named consumer groups (`reliable-messaging:group` metadata), in template order; the resources without the
   * metadata (the unnamed group) are in `outputs` as before. @default none
   */
  readonly groups?: readonly PartialGroup[];
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
 * Outputs named in `known` are not looked for; a role of two resources is refused (outputs must say which) —
 * unless they belong to different consumer groups (`reliable-messaging:group` metadata: see `stackRoles`' groups).
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
  const { roles, groups } = rolesOf(template, where);
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
  if (wanted.size === 0 && groups.size === 0) return { outputs: {}, ...attributes };
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
  return {
    outputs,
    ...attributes,
    ...(groups.size === 0 ? {} : { groups: declaredGroups(template, groups, physicalIds, where) }),
  };
}
