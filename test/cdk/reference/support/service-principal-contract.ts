import type { CfnTemplate } from '../../support/aws-synth';
import {
  allowsOn,
  asList,
  functionRole,
  logicalIdOf,
  property,
  refersTo,
  resourcesOfType,
  roleStatements,
  type Statement,
  statementAllowsAction,
} from './template-access';

/**
 * What AWS enforces and the emulator does not: for every service that acts on the stack's resources, the resource
 * policy, key policy or role that lets it. Each check returns its problems, one sentence each ([] = none).
 */
export const servicePrincipalContract = {
  'every alarm action reaches its topic': alarmActionProblems,
  'every scheduled target may invoke its function': scheduledTargetProblems,
  'every event source mapping may read its source': eventSourceMappingProblems,
  'every destination is writable by its function': destinationProblems,
  'every function that publishes alerts may publish to the topic': topicPublisherProblems,
  'every SQS subscription may deliver to its queue and to its dead-letter queue, for its topic only':
    subscriptionProblems,
  'SNS may send only to subscribed queues, and use a key only for a topic of the stack': snsAccessProblems,
} as const;

const SNS = 'sns.amazonaws.com';

const CLOUDWATCH = 'cloudwatch.amazonaws.com';
/** What a sender needs on the key of an encrypted queue or topic. */
const SEND_KEY_ACTIONS = ['kms:GenerateDataKey', 'kms:Decrypt'];

/** Every alarm's SNS actions: the topic's policy and its key's policy allow CloudWatch, for alarms of this account. */
export function alarmActionProblems(template: CfnTemplate): string[] {
  const topics = new Set<string>();
  const problems: string[] = [];
  for (const [alarmId, alarm] of resourcesOfType(template, 'AWS::CloudWatch::Alarm')) {
    for (const list of ['AlarmActions', 'OKActions', 'InsufficientDataActions']) {
      for (const action of asList(property(alarm, list) as readonly unknown[])) {
        const target = logicalIdOf(action);
        if (target === undefined || template.Resources[target]?.Type !== 'AWS::SNS::Topic') {
          problems.push(
            `alarm ${alarmId}: action ${JSON.stringify(action)} is not an SNS topic of this template`,
          );
        } else topics.add(target);
      }
    }
  }
  for (const topicId of topics) {
    const policies = resourcesOfType(template, 'AWS::SNS::TopicPolicy').filter(([, policy]) =>
      asList(property(policy, 'Topics') as readonly unknown[]).some((t) => refersTo(t, topicId)),
    );
    // Without a topic policy SNS's default one lets the account's alarms publish; a topic policy replaces it.
    if (
      policies.length > 0 &&
      !policies.some(([, policy]) =>
        statementsOf(property(policy, 'PolicyDocument')).some(
          (s) => isForService(s, CLOUDWATCH) && statementAllowsAction(s, 'sns:Publish') && limitedToAlarms(s),
        ),
      )
    ) {
      problems.push(
        `topic ${topicId}: its policy does not allow ${CLOUDWATCH} to sns:Publish (with aws:SourceAccount and an aws:SourceArn of this account's alarms), so no alarm can notify it`,
      );
    }
    const key = keyOf(template, topicId);
    if (key === 'aws-managed') {
      problems.push(`topic ${topicId}: encrypted with an AWS managed key, which CloudWatch may not use`);
    } else if (key !== undefined) {
      const allowed = statementsOf(property(template.Resources[key], 'KeyPolicy')).filter(
        (s) => isForService(s, CLOUDWATCH) && limitedToAlarms(s),
      );
      for (const action of SEND_KEY_ACTIONS) {
        if (!allowed.some((s) => statementAllowsAction(s, action))) {
          problems.push(
            `topic ${topicId}: key ${key} does not allow ${CLOUDWATCH} to ${action} (with aws:SourceAccount and an aws:SourceArn of this account's alarms)`,
          );
        }
      }
    }
  }
  return problems;
}

/** Every EventBridge rule and Scheduler schedule targeting a function: the permission or role that lets it invoke. */
export function scheduledTargetProblems(template: CfnTemplate): string[] {
  const problems: string[] = [];
  for (const [ruleId, rule] of resourcesOfType(template, 'AWS::Events::Rule')) {
    for (const target of asList(property(rule, 'Targets') as readonly { Arn?: unknown }[])) {
      const fn = logicalIdOf(target.Arn);
      if (fn === undefined || template.Resources[fn]?.Type !== 'AWS::Lambda::Function') {
        problems.push(
          `rule ${ruleId}: target ${JSON.stringify(target.Arn)} is not a function; add a check for it`,
        );
        continue;
      }
      const permitted = resourcesOfType(template, 'AWS::Lambda::Permission').some(
        ([, permission]) =>
          refersTo(property(permission, 'FunctionName'), fn) &&
          property(permission, 'Action') === 'lambda:InvokeFunction' &&
          property(permission, 'Principal') === 'events.amazonaws.com' &&
          refersTo(property(permission, 'SourceArn'), ruleId),
      );
      if (!permitted) {
        problems.push(
          `rule ${ruleId}: no Lambda permission lets events.amazonaws.com invoke ${fn} for this rule`,
        );
      }
    }
  }
  for (const [scheduleId, schedule] of resourcesOfType(template, 'AWS::Scheduler::Schedule')) {
    const target = property(schedule, 'Target') as { Arn?: unknown; RoleArn?: unknown } | undefined;
    const fn = logicalIdOf(target?.Arn);
    const role = logicalIdOf(target?.RoleArn);
    if (fn === undefined || role === undefined) {
      problems.push(
        `schedule ${scheduleId}: its target is not a function of this template with a role of it`,
      );
      continue;
    }
    const trusted = statementsOf(property(template.Resources[role], 'AssumeRolePolicyDocument')).some((s) =>
      isForService(s, 'scheduler.amazonaws.com'),
    );
    if (!trusted)
      problems.push(`schedule ${scheduleId}: role ${role} does not trust scheduler.amazonaws.com`);
    if (!allowsOn(roleStatements(template, role), 'lambda:InvokeFunction', fn)) {
      problems.push(`schedule ${scheduleId}: role ${role} may not lambda:InvokeFunction ${fn}`);
    }
  }
  return problems;
}

/** Every event source mapping: the function's role may read the stream or queue, and decrypt it. */
export function eventSourceMappingProblems(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').flatMap(([mappingId, mapping]) => {
    const fn = logicalIdOf(property(mapping, 'FunctionName'));
    const role = fn === undefined ? undefined : functionRole(template, fn);
    const source = logicalIdOf(property(mapping, 'EventSourceArn'));
    if (role === undefined || source === undefined) {
      return [`mapping ${mappingId}: its function, role or source is not in this template`];
    }
    const sourceType = template.Resources[source]?.Type;
    const needs =
      sourceType === 'AWS::DynamoDB::Table'
        ? ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator']
        : sourceType === 'AWS::SQS::Queue'
          ? ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes']
          : undefined;
    if (needs === undefined)
      return [`mapping ${mappingId}: source type ${sourceType} is not checked; add a check`];
    const statements = roleStatements(template, role);
    const problems = needs
      .filter((action) => !allowsOn(statements, action, source))
      .map((action) => `mapping ${mappingId}: role ${role} of ${fn} may not ${action} on ${source}`);
    if (sourceType === 'AWS::DynamoDB::Table' && !allowsOn(statements, 'dynamodb:ListStreams', source)) {
      problems.push(`mapping ${mappingId}: role ${role} of ${fn} may not dynamodb:ListStreams`);
    }
    problems.push(
      ...keyProblems(template, `mapping ${mappingId}: role ${role} of ${fn}`, role, source, ['kms:Decrypt']),
    );
    return problems;
  });
}

/** Every on-failure (or on-success) destination of a mapping or of asynchronous invocations: writable by the role. */
export function destinationProblems(template: CfnTemplate): string[] {
  const destinations: { owner: string; fn: unknown; destination: unknown }[] = [
    ...resourcesOfType(template, 'AWS::Lambda::EventSourceMapping').map(([id, mapping]) => ({
      owner: `mapping ${id}`,
      fn: property(mapping, 'FunctionName'),
      destination: (
        property(mapping, 'DestinationConfig') as { OnFailure?: { Destination?: unknown } } | undefined
      )?.OnFailure?.Destination,
    })),
    ...resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').flatMap(([id, config]) => {
      const destinations = property(config, 'DestinationConfig') as
        | Record<string, { Destination?: unknown }>
        | undefined;
      return ['OnFailure', 'OnSuccess'].map((kind) => ({
        owner: `${kind} of ${id}`,
        fn: property(config, 'FunctionName'),
        destination: destinations?.[kind]?.Destination,
      }));
    }),
  ].filter((entry) => entry.destination !== undefined);
  return destinations.flatMap(({ owner, fn: fnRef, destination }) => {
    const fn = logicalIdOf(fnRef);
    const role = fn === undefined ? undefined : functionRole(template, fn);
    const target = logicalIdOf(destination);
    const type = target === undefined ? undefined : template.Resources[target]?.Type;
    if (role === undefined || target === undefined)
      return [`${owner}: its function or destination is elsewhere`];
    const action =
      type === 'AWS::SQS::Queue' ? 'sqs:SendMessage' : type === 'AWS::SNS::Topic' ? 'sns:Publish' : undefined;
    if (action === undefined) return [`${owner}: destination type ${type} is not checked; add a check`];
    const problems = allowsOn(roleStatements(template, role), action, target)
      ? []
      : [`${owner}: role ${role} of ${fn} may not ${action} to ${target}`];
    return [
      ...problems,
      ...keyProblems(template, `${owner}: role ${role} of ${fn}`, role, target, SEND_KEY_ACTIONS),
    ];
  });
}

/** Every function given a topic in its environment (ALERT_TOPIC_ARN, …): its role may publish there. */
export function topicPublisherProblems(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::Lambda::Function').flatMap(([fn, resource]) => {
    const variables =
      (property(resource, 'Environment') as { Variables?: Record<string, unknown> } | undefined)?.Variables ??
      {};
    const role = functionRole(template, fn);
    return Object.entries(variables).flatMap(([name, value]) => {
      const topic = logicalIdOf(value);
      if (topic === undefined || template.Resources[topic]?.Type !== 'AWS::SNS::Topic') return [];
      if (role === undefined)
        return [`function ${fn}: publishes to ${topic} (${name}) with a role of elsewhere`];
      const problems = allowsOn(roleStatements(template, role), 'sns:Publish', topic)
        ? []
        : [`function ${fn}: role ${role} may not sns:Publish to ${topic} (${name})`];
      return [
        ...problems,
        ...keyProblems(template, `function ${fn}: role ${role}`, role, topic, SEND_KEY_ACTIONS),
      ];
    });
  });
}

/**
 * Every SQS subscription: it has a dead-letter queue (a delivery SNS cannot make is kept); the policies of its queue
 * and of that dead-letter queue let sns.amazonaws.com sqs:SendMessage for its topic (aws:SourceArn); the key of each
 * lets sns.amazonaws.com kms:GenerateDataKey and kms:Decrypt for its topic.
 */
export function subscriptionProblems(template: CfnTemplate): string[] {
  return resourcesOfType(template, 'AWS::SNS::Subscription').flatMap(([subscriptionId, subscription]) => {
    if (property(subscription, 'Protocol') !== 'sqs') return [];
    const topic = logicalIdOf(property(subscription, 'TopicArn'));
    const queue = logicalIdOf(property(subscription, 'Endpoint'));
    const deadLetter = logicalIdOf(
      (property(subscription, 'RedrivePolicy') as { deadLetterTargetArn?: unknown } | undefined)
        ?.deadLetterTargetArn,
    );
    if (topic === undefined || queue === undefined) {
      return [`subscription ${subscriptionId}: its topic or queue is not in this template`];
    }
    const problems =
      deadLetter === undefined
        ? [`subscription ${subscriptionId}: no dead-letter queue, so a delivery SNS cannot make is lost`]
        : [];
    for (const target of [queue, ...(deadLetter === undefined ? [] : [deadLetter])]) {
      const allowed = queuePolicyStatements(template, target).some(
        (s) =>
          isForService(s, SNS) &&
          statementAllowsAction(s, 'sqs:SendMessage') &&
          namesTopic(template, s, topic),
      );
      if (!allowed) {
        problems.push(
          `subscription ${subscriptionId}: the policy of ${target} does not let ${SNS} sqs:SendMessage for ${topic} (aws:SourceArn)`,
        );
      }
      const key = keyOf(template, target);
      if (key === 'aws-managed') {
        problems.push(
          `subscription ${subscriptionId}: ${target} is encrypted with an AWS managed key, which SNS may not use`,
        );
      } else if (key !== undefined) {
        const statements = statementsOf(property(template.Resources[key], 'KeyPolicy')).filter(
          (s) => isForService(s, SNS) && namesTopic(template, s, topic),
        );
        for (const action of SEND_KEY_ACTIONS) {
          if (!statements.some((s) => statementAllowsAction(s, action))) {
            problems.push(
              `subscription ${subscriptionId}: key ${key} of ${target} does not let ${SNS} ${action} for ${topic} (aws:SourceArn)`,
            );
          }
        }
      }
    }
    return problems;
  });
}

/**
 * Every statement that lets sns.amazonaws.com in: on a queue, only for a topic subscribed to that queue (as its
 * endpoint or its dead-letter queue); on a key, only for a topic of this template (aws:SourceArn).
 */
export function snsAccessProblems(template: CfnTemplate): string[] {
  const problems: string[] = [];
  const subscriptions = resourcesOfType(template, 'AWS::SNS::Subscription');
  for (const [policyId, policy] of resourcesOfType(template, 'AWS::SQS::QueuePolicy')) {
    for (const statement of statementsOf(property(policy, 'PolicyDocument'))) {
      if (!isForService(statement, SNS)) continue;
      const queues = asList(property(policy, 'Queues') as readonly unknown[]).map(logicalIdOf);
      const fromSubscribedTopic = queues.every((queue) =>
        subscriptions.some(([, subscription]) => {
          const topic = logicalIdOf(property(subscription, 'TopicArn'));
          const endpoints = [
            property(subscription, 'Endpoint'),
            (property(subscription, 'RedrivePolicy') as { deadLetterTargetArn?: unknown } | undefined)
              ?.deadLetterTargetArn,
          ].map(logicalIdOf);
          return (
            topic !== undefined &&
            queue !== undefined &&
            endpoints.includes(queue) &&
            namesTopic(template, statement, topic)
          );
        }),
      );
      if (!fromSubscribedTopic) {
        problems.push(
          `queue policy ${policyId}: lets ${SNS} in without an aws:SourceArn of a topic subscribed to the queue`,
        );
      }
    }
  }
  const topics = resourcesOfType(template, 'AWS::SNS::Topic').map(([id]) => id);
  for (const [keyId, key] of resourcesOfType(template, 'AWS::KMS::Key')) {
    for (const statement of statementsOf(property(key, 'KeyPolicy'))) {
      if (!isForService(statement, SNS)) continue;
      if (!topics.some((topic) => namesTopic(template, statement, topic))) {
        problems.push(
          `key ${keyId}: lets ${SNS} use it without an aws:SourceArn of a topic of this template`,
        );
      }
    }
  }
  return problems;
}

/** The statements of the queue policies of `queueId`. */
function queuePolicyStatements(template: CfnTemplate, queueId: string): Statement[] {
  return resourcesOfType(template, 'AWS::SQS::QueuePolicy')
    .filter(([, policy]) =>
      asList(property(policy, 'Queues') as readonly unknown[]).some((q) => refersTo(q, queueId)),
    )
    .flatMap(([, policy]) => statementsOf(property(policy, 'PolicyDocument')));
}

/**
 * True when the statement's condition limits it to the topic `topicId` (aws:SourceArn equal to its ARN: a reference
 * to it, or the ARN built from its name, as a key that also encrypts the topic must name it).
 */
function namesTopic(template: CfnTemplate, statement: Statement, topicId: string): boolean {
  const sourceArn =
    statement.Condition?.ArnEquals?.['aws:SourceArn'] ?? statement.Condition?.StringEquals?.['aws:SourceArn'];
  if (sourceArn === undefined) return false;
  if (refersTo(sourceArn, topicId) && logicalIdOf(sourceArn) === topicId) return true;
  const name = property(template.Resources[topicId], 'TopicName');
  const arn = JSON.stringify(sourceArn);
  return typeof name === 'string' && arn.includes(':sns:') && arn.endsWith(`:${name}"]]}`);
}

/** The customer-managed key encrypting a queue, topic or table of the template; 'aws-managed' for an AWS key. */
function keyOf(template: CfnTemplate, resourceId: string): string | 'aws-managed' | undefined {
  const resource = template.Resources[resourceId];
  const key =
    property(resource, 'KmsMasterKeyId') ??
    (property(resource, 'SSESpecification') as { KMSMasterKeyId?: unknown } | undefined)?.KMSMasterKeyId;
  if (key === undefined) return undefined;
  if (typeof key === 'string' && key.startsWith('alias/aws/')) return 'aws-managed';
  const id = logicalIdOf(key);
  return id !== undefined && template.Resources[id]?.Type === 'AWS::KMS::Key' ? id : undefined;
}

/** What keeps `role` from using the key of `resourceId` for `actions`: the key policy must defer to IAM. */
function keyProblems(
  template: CfnTemplate,
  who: string,
  role: string,
  resourceId: string,
  actions: readonly string[],
): string[] {
  const key = keyOf(template, resourceId);
  if (key === undefined || key === 'aws-managed') return [];
  const defersToIam = statementsOf(property(template.Resources[key], 'KeyPolicy')).some(
    (s) =>
      s.Effect === 'Allow' &&
      JSON.stringify(s.Principal ?? null).includes(':root') &&
      statementAllowsAction(s, 'kms:Decrypt'),
  );
  if (!defersToIam) return [`${who}: key ${key} of ${resourceId} does not let IAM policies grant its use`];
  const statements = roleStatements(template, role);
  return actions
    .filter((action) => !allowsOn(statements, action, key))
    .map((action) => `${who} may not ${action} with key ${key} of ${resourceId}`);
}

function statementsOf(document: unknown): Statement[] {
  return (document as { Statement?: Statement[] } | undefined)?.Statement ?? [];
}

function isForService(statement: Statement, service: string): boolean {
  const principal = statement.Principal as { Service?: string | readonly string[] } | undefined;
  return statement.Effect === 'Allow' && asList(principal?.Service).includes(service);
}

/** Limited to CloudWatch alarms of this account: `aws:SourceAccount` and an alarm ARN pattern as `aws:SourceArn`. */
function limitedToAlarms(statement: Statement): boolean {
  const condition = statement.Condition ?? {};
  const account = condition.StringEquals?.['aws:SourceAccount'];
  const sourceArn =
    condition.ArnLike?.['aws:SourceArn'] ??
    condition.ArnEquals?.['aws:SourceArn'] ??
    condition.StringLike?.['aws:SourceArn'];
  const arn = JSON.stringify(sourceArn ?? null);
  const isAccount = (value: unknown) =>
    JSON.stringify(value ?? null).includes('"Ref":"AWS::AccountId"') ||
    /^"\d{12}"$/.test(JSON.stringify(value));
  return (
    isAccount(account) && arn.includes(':cloudwatch:') && arn.includes(':alarm:') && isAccount(sourceArn)
  );
}
