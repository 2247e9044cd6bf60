import { beforeAll, describe, expect, it } from 'vitest';
import { awsSynth, type CfnTemplate, type SynthesizedStack } from '../support/aws-synth';
import {
  alarmActionProblems,
  destinationProblems,
  eventSourceMappingProblems,
  scheduledTargetProblems,
  servicePrincipalContract,
  snsAccessProblems,
  subscriptionProblems,
  topicPublisherProblems,
} from './support/service-principal-contract';
import { functionOfService, functionRole, resourcesOfType, type Statement } from './support/template-access';

let stacks: SynthesizedStack[];
let template: CfnTemplate;

beforeAll(async () => {
  stacks = await awsSynth();
  template = stacks[0]!.template;
}, 600_000);

/** A copy of the template in which `change` may edit anything. */
function mutated(change: (copy: CfnTemplate) => void): CfnTemplate {
  const copy = structuredClone(template);
  change(copy);
  return copy;
}

/** Removes `action` from every IAM policy statement attached to `role`. */
function withoutRoleAction(role: string, action: string): CfnTemplate {
  return mutated((copy) => {
    for (const resource of Object.values(copy.Resources)) {
      const roles = JSON.stringify(resource.Properties?.Roles ?? null);
      if (!roles.includes(`"${role}"`)) continue;
      const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
      document.Statement = document.Statement.map((statement) => {
        const actions = [statement.Action ?? []].flat().filter((a) => a !== action);
        return { ...statement, Action: actions };
      });
    }
  });
}

describe('service-principal contract on the AWS synth (cdk synth of bin/app.ts with cdk.json)', () => {
  it('synthesizes the reference stack and finds what the contract covers in it', () => {
    // THEN
    expect(stacks.map((stack) => stack.stackName)).toEqual(['ReliableMessagingDemo']);
    expect(resourcesOfType(template, 'AWS::CloudWatch::Alarm').length).toBeGreaterThan(10);
    // The sweeper, the check-back and the three groups' inbox monitors.
    expect(resourcesOfType(template, 'AWS::Events::Rule')).toHaveLength(5);
    // The relay's stream and the three groups' queues.
    expect(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).toHaveLength(4);
    expect(resourcesOfType(template, 'AWS::SNS::Subscription')).toHaveLength(3);
  });

  for (const [name, check] of Object.entries(servicePrincipalContract)) {
    it(name, () => {
      for (const stack of stacks) {
        // WHEN
        const problems = check(stack.template);
        // THEN
        expect(problems, `${stack.stackName}:\n${problems.join('\n')}`).toEqual([]);
      }
    });
  }
});

describe('the contract catches what AWS would refuse (each check on the real template, broken once)', () => {
  it('fails if the alert topic policy does not let CloudWatch publish (enforceSSL alone: only a Deny)', () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const resource of Object.values(copy.Resources)) {
        const document = resource.Properties?.PolicyDocument as { Statement: Statement[] } | undefined;
        if (resource.Properties?.Topics === undefined || document === undefined) continue;
        document.Statement = document.Statement.filter((s) => s.Effect === 'Deny');
      }
    });
    // WHEN / THEN
    expect(alarmActionProblems(broken).join('\n')).toMatch(
      /does not allow cloudwatch\.amazonaws\.com to sns:Publish/,
    );
  });

  it('fails if the key policy lets CloudWatch use the key without the source conditions', () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const resource of Object.values(copy.Resources)) {
        const policy = resource.Properties?.KeyPolicy as { Statement: Statement[] } | undefined;
        if (policy === undefined) continue;
        policy.Statement = policy.Statement.map(({ Condition: _, ...statement }) => statement);
      }
    });
    // WHEN / THEN
    expect(alarmActionProblems(broken).join('\n')).toMatch(
      /does not allow cloudwatch\.amazonaws\.com to kms:Decrypt/,
    );
  });

  it('fails if a schedule has no permission to invoke its function', () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const [id, resource] of Object.entries(copy.Resources)) {
        if (
          template.Resources[id]?.Type === 'AWS::Lambda::Permission' &&
          resource.Properties?.Principal === 'events.amazonaws.com'
        )
          delete copy.Resources[id];
      }
    });
    // WHEN / THEN
    expect(scheduledTargetProblems(broken)).toHaveLength(5);
  });

  it("fails if the consumer's role may not decrypt its queue", () => {
    // GIVEN
    const role = functionRole(template, functionOfService(template, 'orders-consumer'))!;
    // WHEN / THEN
    expect(eventSourceMappingProblems(withoutRoleAction(role, 'kms:Decrypt')).join('\n')).toMatch(
      /may not kms:Decrypt/,
    );
  });

  it("fails if the relay's role may not read its stream", () => {
    // GIVEN
    const role = functionRole(template, functionOfService(template, 'outbox-relay'))!;
    // WHEN / THEN
    expect(eventSourceMappingProblems(withoutRoleAction(role, 'dynamodb:GetRecords')).join('\n')).toMatch(
      /may not dynamodb:GetRecords/,
    );
  });

  it("fails if the relay's role may not send to its on-failure queue", () => {
    // GIVEN
    const role = functionRole(template, functionOfService(template, 'outbox-relay'))!;
    // WHEN / THEN
    expect(destinationProblems(withoutRoleAction(role, 'sqs:SendMessage')).join('\n')).toMatch(
      /may not sqs:SendMessage to RelayFailureQueue/,
    );
  });

  it("fails if the sweeper's role may not encrypt what it publishes to the encrypted alert topic", () => {
    // GIVEN
    const role = functionRole(template, functionOfService(template, 'compensation-sweeper'))!;
    // WHEN / THEN
    expect(topicPublisherProblems(withoutRoleAction(role, 'kms:GenerateDataKey')).join('\n')).toMatch(
      /may not kms:GenerateDataKey with key/,
    );
  });

  it("fails if the relay's role may not publish to the events topic", () => {
    // GIVEN
    const role = functionRole(template, functionOfService(template, 'outbox-relay'))!;
    // WHEN / THEN
    expect(topicPublisherProblems(withoutRoleAction(role, 'sns:Publish')).join('\n')).toMatch(
      /may not sns:Publish to EventsTopic\w+ \(TOPIC_ARN\)/,
    );
  });

  it("fails if a group's queue policy does not let the topic send", () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const resource of Object.values(copy.Resources)) {
        if (resource.Type !== 'AWS::SQS::QueuePolicy') continue;
        const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
        document.Statement = document.Statement.filter((s) => s.Sid !== 'AllowTheEventsTopicToSend');
      }
    });
    // WHEN / THEN
    expect(subscriptionProblems(broken)).toHaveLength(3);
    expect(subscriptionProblems(broken)[0]).toMatch(
      /does not let sns\.amazonaws\.com sqs:SendMessage for EventsTopic/,
    );
  });

  it('fails if a subscription has no dead-letter queue', () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const resource of Object.values(copy.Resources)) {
        if (resource.Type === 'AWS::SNS::Subscription') delete resource.Properties?.RedrivePolicy;
      }
    });
    // WHEN / THEN
    expect(subscriptionProblems(broken).join('\n')).toMatch(/no dead-letter queue/);
  });

  it('fails if the key policy lets SNS use the key without naming the topic', () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const resource of Object.values(copy.Resources)) {
        const policy = resource.Properties?.KeyPolicy as { Statement: Statement[] } | undefined;
        if (policy === undefined) continue;
        policy.Statement = policy.Statement.map((statement) =>
          statement.Sid === 'AllowTheEventsTopicToEncryptForItsQueues'
            ? { ...statement, Condition: undefined }
            : statement,
        );
      }
    });
    // WHEN / THEN
    expect(subscriptionProblems(broken).join('\n')).toMatch(
      /does not let sns\.amazonaws\.com kms:GenerateDataKey/,
    );
    expect(snsAccessProblems(broken).join('\n')).toMatch(
      /lets sns\.amazonaws\.com use it without an aws:SourceArn/,
    );
  });

  it('fails if a queue policy lets SNS in without the aws:SourceArn of a subscribed topic', () => {
    // GIVEN
    const broken = mutated((copy) => {
      for (const resource of Object.values(copy.Resources)) {
        if (resource.Type !== 'AWS::SQS::QueuePolicy') continue;
        const document = resource.Properties?.PolicyDocument as { Statement: Statement[] };
        document.Statement = document.Statement.map((statement) =>
          statement.Sid === 'AllowTheEventsTopicToSend' ? { ...statement, Condition: undefined } : statement,
        );
      }
    });
    // WHEN / THEN
    expect(snsAccessProblems(broken)).toHaveLength(3);
  });
});
