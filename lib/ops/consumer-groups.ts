import type { OpsConnection, OpsOutputs } from './connection';
import type { CursorTableChoice } from './cursor-table';
import { UsageError } from './errors';

/**
 * A stack's consumer groups as the ops commands see them: the resources of one group (`reliable-messaging:group`
 * metadata, or stack outputs) — its queue, dead-letter queue, inbox, consumer and where the consumer keeps its
 * cursors. A stack with a single queue has one group, unnamed ({@link UNNAMED_GROUP}).
 */
export interface ConsumerGroupTarget {
  /** The group's name (its `reliable-messaging:group` metadata, or an output prefix); {@link UNNAMED_GROUP} else. */
  readonly name: string;
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  readonly inboxTableName: string;
  readonly consumerFunctionName?: string;
  /** Where the group's consumer keeps its cursors; undefined: its inbox table's cursor items. */
  readonly cursorTable: CursorTableChoice;
}

/** The name ops gives the group of resources without group metadata (a stack with a single queue). */
export const UNNAMED_GROUP = 'default';

/** What is known of a group before it is checked complete (from the template, or from outputs). */
export interface PartialGroup {
  readonly name: string;
  readonly queueUrl?: string;
  readonly deadLetterQueueUrl?: string;
  readonly inboxTableName?: string;
  readonly consumerFunctionName?: string;
  readonly cursorTable?: CursorTableChoice;
}

const GROUP_OUTPUT_SUFFIXES = {
  queueUrl: 'QueueUrl',
  deadLetterQueueUrl: 'DeadLetterQueueUrl',
  inboxTableName: 'InboxTableName',
  consumerFunctionName: 'ConsumerFunctionName',
} as const;

/** `AuditTrail` → `audit-trail`. */
export function kebabCase(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z])([A-Z][a-z])/g, '$1-$2')
    .toLowerCase();
}

const outputText = (outputs: object, name: string): string | undefined => {
  const value: unknown = (outputs as Readonly<Record<string, unknown>>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
};

/** The group of the outputs named `<prefix>QueueUrl`, `<prefix>DeadLetterQueueUrl`, … */
function groupOfPrefix(outputs: object, prefix: string, name: string): PartialGroup {
  const fields: Record<string, string> = {};
  for (const [field, suffix] of Object.entries(GROUP_OUTPUT_SUFFIXES)) {
    const value = outputText(outputs, `${prefix}${suffix}`);
    if (value !== undefined) fields[field] = value;
  }
  return { name, ...fields };
}

/** The group the unprefixed outputs name (`QueueUrl`, `DeadLetterQueueUrl`, `InboxTableName`), if any. */
export function firstGroupOfOutputs(outputs: object, name: string = UNNAMED_GROUP): PartialGroup | undefined {
  return outputText(outputs, 'QueueUrl') !== undefined || outputText(outputs, 'InboxTableName') !== undefined
    ? groupOfPrefix(outputs, '', name)
    : undefined;
}

/**
 * The groups outputs name by a prefix P, with all three of `<P>QueueUrl`, `<P>DeadLetterQueueUrl`,
 * `<P>InboxTableName` (and `<P>ConsumerFunctionName`), e.g. `AuditQueueUrl`…: a group named P in kebab case (`audit`).
 */
export function prefixedGroupsOfOutputs(outputs: object): PartialGroup[] {
  return Object.keys(outputs)
    .filter((name) => name.endsWith('QueueUrl') && !name.endsWith('DeadLetterQueueUrl'))
    .map((name) => name.slice(0, -'QueueUrl'.length))
    .filter(
      (prefix) =>
        /^[A-Z][A-Za-z0-9]*$/.test(prefix) &&
        prefix !== 'RelayFailure' &&
        outputText(outputs, `${prefix}DeadLetterQueueUrl`) !== undefined &&
        outputText(outputs, `${prefix}InboxTableName`) !== undefined,
    )
    .map((prefix) => groupOfPrefix(outputs, prefix, kebabCase(prefix)));
}

/** Every group outputs name: the unprefixed outputs' first (named `firstName`), then the prefixed ones'. */
export function groupsFromOutputs(outputs: object, firstName: string = UNNAMED_GROUP): PartialGroup[] {
  const first = firstGroupOfOutputs(outputs, firstName);
  return [...(first === undefined ? [] : [first]), ...prefixedGroupsOfOutputs(outputs)];
}

const sharesAResource = (a: PartialGroup, b: PartialGroup): boolean =>
  (Object.keys(GROUP_OUTPUT_SUFFIXES) as Array<keyof typeof GROUP_OUTPUT_SUFFIXES>).some(
    (field) => a[field] !== undefined && a[field] === b[field],
  );

/**
 * The groups of a stack: those its template declares, each overridden by the outputs' group that names one of its
 * resources or has its name (outputs win); an outputs' group that matches none is a group of its own, after them.
 * The first outputs' group (the unprefixed outputs) comes first; the others keep the template's order.
 */
export function mergeGroups(declared: readonly PartialGroup[], outputs: object): PartialGroup[] {
  const merged = [...declared];
  const added: PartialGroup[] = [];
  let first: PartialGroup | undefined;
  const firstOfOutputs = firstGroupOfOutputs(outputs);
  for (const outputsGroup of [
    ...(firstOfOutputs === undefined ? [] : [firstOfOutputs]),
    ...prefixedGroupsOfOutputs(outputs),
  ]) {
    const at = merged.findIndex(
      (group) => sharesAResource(group, outputsGroup) || group.name === outputsGroup.name,
    );
    const defined = Object.fromEntries(
      Object.entries(outputsGroup).filter(([field, value]) => field !== 'name' && value !== undefined),
    );
    const group = at < 0 ? outputsGroup : { ...merged[at]!, ...defined };
    if (outputsGroup === firstOfOutputs) {
      if (at >= 0) merged.splice(at, 1);
      first = group;
    } else if (at >= 0) {
      merged[at] = group;
    } else {
      added.push(group);
    }
  }
  return [...(first === undefined ? [] : [first]), ...merged, ...added];
}

/** A group checked complete: its queue, dead-letter queue and inbox known; else an error naming what lacks. */
export function completeGroup(
  group: PartialGroup,
  fallbackCursorTable: CursorTableChoice,
  fail: (message: string) => Error,
): ConsumerGroupTarget {
  const missing = (['queueUrl', 'deadLetterQueueUrl', 'inboxTableName'] as const).filter(
    (field) => group[field] === undefined,
  );
  if (missing.length > 0) {
    const roles = {
      queueUrl: 'queue',
      deadLetterQueueUrl: 'dead-letter-queue',
      inboxTableName: 'inbox-table',
    };
    throw fail(
      `consumer group ${group.name} has no ${missing.map((field) => roles[field]).join(', ')} (mark its ` +
        'resources with the same reliable-messaging:group metadata, or give the outputs)',
    );
  }
  return {
    name: group.name,
    queueUrl: group.queueUrl!,
    deadLetterQueueUrl: group.deadLetterQueueUrl!,
    inboxTableName: group.inboxTableName!,
    ...(group.consumerFunctionName === undefined ? {} : { consumerFunctionName: group.consumerFunctionName }),
    cursorTable: 'cursorTable' in group ? group.cursorTable : fallbackCursorTable,
  };
}

/** The single group of a connection without a list of groups: its outputs' queue, dead-letter queue and inbox. */
function outputsGroup(c: OpsConnection): ConsumerGroupTarget {
  return {
    name: UNNAMED_GROUP,
    queueUrl: c.outputs.QueueUrl,
    deadLetterQueueUrl: c.outputs.DeadLetterQueueUrl,
    inboxTableName: c.outputs.InboxTableName,
    ...(c.outputs.ConsumerFunctionName === undefined
      ? {}
      : { consumerFunctionName: c.outputs.ConsumerFunctionName }),
    cursorTable: c.cursorTable,
  };
}

/** Every consumer group of a connection, the first one first. */
export function groupsOf(c: OpsConnection): readonly ConsumerGroupTarget[] {
  return c.groups !== undefined && c.groups.length > 0 ? c.groups : [outputsGroup(c)];
}

const listed = (groups: readonly ConsumerGroupTarget[]) => groups.map((group) => group.name).join(', ');

/** The groups a command acts on: the one named (UsageError listing the known ones when there is none of that name), or all. */
export function selectGroups(c: OpsConnection, name: string | undefined): readonly ConsumerGroupTarget[] {
  const groups = groupsOf(c);
  if (name === undefined) return groups;
  const group = groups.find((candidate) => candidate.name === name);
  if (group === undefined) {
    throw new UsageError(`no consumer group ${JSON.stringify(name)}; the stack's groups: ${listed(groups)}`);
  }
  return [group];
}

/**
 * The one group a repair acts on (replay, redrive): the one named, or the stack's only one. UsageError when the
 * stack has several and none is named, listing them.
 */
export function oneGroup(c: OpsConnection, name: string | undefined, command: string): ConsumerGroupTarget {
  const groups = selectGroups(c, name);
  if (groups.length > 1) {
    throw new UsageError(
      `${command} acts on one consumer group and the stack has ${groups.length}: add --group NAME (${listed(groups)})`,
    );
  }
  return groups[0]!;
}

/** The connection as one group's commands see it: the group's queue, dead-letter queue, inbox and cursors. */
export function groupConnection(c: OpsConnection, group: ConsumerGroupTarget): OpsConnection {
  const outputs: OpsOutputs = {
    ...c.outputs,
    QueueUrl: group.queueUrl,
    DeadLetterQueueUrl: group.deadLetterQueueUrl,
    InboxTableName: group.inboxTableName,
  };
  return { ...c, outputs, cursorTable: group.cursorTable, groups: [group] };
}

/** `--group NAME` as a repair's command line says it, when the stack has several groups. */
export function groupArgument(c: OpsConnection, group: ConsumerGroupTarget): string | undefined {
  return groupsOf(c).length > 1 ? `--group ${group.name}` : undefined;
}
