import type { CfnResource, CfnTemplate } from '../../support/aws-synth';

/** An IAM or resource policy statement, as a template holds it. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | readonly string[];
  readonly Resource?: unknown;
  readonly Principal?: unknown;
  readonly Condition?: Record<string, Record<string, unknown>>;
}

/** The logical id a `Ref` or `Fn::GetAtt` points at, if the value is one. */
export function logicalIdOf(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const ref = (value as { Ref?: unknown }).Ref;
  if (typeof ref === 'string') return ref;
  const getAtt = (value as { 'Fn::GetAtt'?: unknown })['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  return undefined;
}

/** True when the value (an ARN, a join, a list of them) is built from the resource `logicalId`. */
export function refersTo(value: unknown, logicalId: string): boolean {
  const json = JSON.stringify(value ?? null);
  return json.includes(`{"Ref":"${logicalId}"}`) || json.includes(`{"Fn::GetAtt":["${logicalId}",`);
}

export function resourcesOfType(template: CfnTemplate, type: string): [string, CfnResource][] {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

export function property(resource: CfnResource | undefined, name: string): unknown {
  return resource?.Properties?.[name];
}

export function asList<T>(value: T | readonly T[] | undefined): readonly T[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? (value as readonly T[]) : [value as T];
}

function actionPattern(action: string): RegExp {
  const escaped = action.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*');
  return new RegExp(`^${escaped}$`, 'i');
}

/** True when the statement names `action`, exactly or through a wildcard. */
export function statementAllowsAction(statement: Statement, action: string): boolean {
  return (
    statement.Effect === 'Allow' &&
    asList(statement.Action).some((pattern) => actionPattern(pattern).test(action))
  );
}

/** The statements of every IAM policy attached to the role (inline in the role and as AWS::IAM::Policy). */
export function roleStatements(template: CfnTemplate, roleId: string): Statement[] {
  const inline = asList(
    property(template.Resources[roleId], 'Policies') as readonly { PolicyDocument: unknown }[],
  );
  const attached = resourcesOfType(template, 'AWS::IAM::Policy')
    .filter(([, policy]) =>
      asList(property(policy, 'Roles') as readonly unknown[]).some((r) => refersTo(r, roleId)),
    )
    .map(([, policy]) => ({ PolicyDocument: property(policy, 'PolicyDocument') }));
  return [...inline, ...attached].flatMap(
    (policy) => (policy.PolicyDocument as { Statement?: Statement[] } | undefined)?.Statement ?? [],
  );
}

/** True when one of the statements allows `action` on the resource `logicalId` (or on every resource). */
export function allowsOn(statements: readonly Statement[], action: string, logicalId: string): boolean {
  return statements.some(
    (statement) =>
      statementAllowsAction(statement, action) &&
      asList(statement.Resource).some((resource) => resource === '*' || refersTo(resource, logicalId)),
  );
}

/** The actions the statements allow on the resource `logicalId` (not counting grants on every resource). */
export function actionsOn(statements: readonly Statement[], logicalId: string): string[] {
  const actions = statements
    .filter((s) => s.Effect === 'Allow' && asList(s.Resource).some((r) => refersTo(r, logicalId)))
    .flatMap((s) => asList(s.Action));
  return [...new Set(actions)].sort();
}

/** The logical id of a function's execution role. */
export function functionRole(template: CfnTemplate, functionId: string): string | undefined {
  return logicalIdOf(property(template.Resources[functionId], 'Role'));
}

/** The function whose environment sets POWERTOOLS_SERVICE_NAME to `service`. */
export function functionOfService(template: CfnTemplate, service: string): string {
  const found = resourcesOfType(template, 'AWS::Lambda::Function').filter(
    ([, fn]) =>
      (property(fn, 'Environment') as { Variables?: Record<string, unknown> } | undefined)?.Variables
        ?.POWERTOOLS_SERVICE_NAME === service,
  );
  if (found.length !== 1)
    throw new Error(`expected one function of service ${service}; found ${found.length}`);
  return found[0]![0];
}

/** The resource an output's value refers to (e.g. `InboxTableName` → the inbox table's logical id). */
export function resourceOfOutput(template: CfnTemplate, output: string): string {
  const id = logicalIdOf(template.Outputs?.[output]?.Value);
  if (id === undefined) throw new Error(`output ${output} refers to no resource of the template`);
  return id;
}
