import { type Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { expandKmsWildcards } from '../../../lib/constructs/explicit-kms-actions';
import { demoStack, stackConfigurations, testStack } from '../support/synth';

interface Finding {
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
  readonly description: string;
}

/**
 * Runs cdk-nag's AwsSolutions pack over a synthesized stack and returns its unacknowledged findings, errors and
 * warnings alike. (cdk-nag 3 is a policy validation plugin, not an Aspect: `validateScope` walks the construct tree,
 * and `Validations.of(construct).acknowledge` is how a finding is suppressed.)
 */
function awsSolutionsFindings(stack: Stack): Finding[] {
  Template.fromStack(stack);
  const report = new AwsSolutionsChecks(undefined, { verbose: true }).validateScope(stack);
  return report.violations.flatMap((violation) =>
    violation.violatingResources.map((resource) => ({
      rule: violation.ruleName,
      severity: violation.severity ?? 'error',
      path: resource.constructPath ?? '?',
      description: violation.description,
    })),
  );
}

function readable(findings: readonly Finding[]): string {
  return `${findings.length} cdk-nag finding(s):\n${findings
    .map((f) => `  [${f.severity}] ${f.rule} at ${f.path}\n      ${f.description.split('\n')[0]}`)
    .join('\n')}`;
}

/** Every acknowledgment in the stack: rule id → reasons. */
function acknowledgments(scope: IConstruct): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const construct of scope.node.findAll()) {
    for (const entry of construct.node.metadata) {
      if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
      for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
        const rule = id.replace(/^annotation::/i, '');
        found.set(rule, [...(found.get(rule) ?? []), reason]);
      }
    }
  }
  return found;
}

describe('cdk-nag AwsSolutions checks', () => {
  for (const [name, props] of Object.entries(stackConfigurations)) {
    it(`finds nothing unacknowledged in the ${name} stack (errors and warnings)`, () => {
      // GIVEN
      const stack = demoStack(props());
      // WHEN
      const findings = awsSolutionsFindings(stack);
      // THEN
      expect(findings, readable(findings)).toEqual([]);
    });
  }

  it('fails if a resource breaks a rule: a bare, unencrypted queue is reported', () => {
    // GIVEN
    const stack = testStack();
    new sqs.Queue(stack, 'Bare', { encryption: sqs.QueueEncryption.UNENCRYPTED });
    // WHEN
    const rules = awsSolutionsFindings(stack).map((finding) => finding.rule);
    // THEN
    expect(rules).toEqual(
      expect.arrayContaining(['AwsSolutions-SQS2', 'AwsSolutions-SQS3', 'AwsSolutions-SQS4']),
    );
  });

  it('acknowledges only named findings in the AWS stack, each with a reason', () => {
    // GIVEN
    const stack = demoStack(stackConfigurations.aws());
    // WHEN
    const acknowledged = acknowledgments(stack);
    // THEN
    expect([...acknowledged.keys()].sort()).toEqual([
      'AwsSolutions-IAM5[Resource::*]',
      // each group's inbox (its one index, the sparse attention index): projection, audit, shipping
      'AwsSolutions-IAM5[Resource::<AuditConsumerInboxTable0ED0FE35.Arn>/index/*]',
      'AwsSolutions-IAM5[Resource::<ConsumerInboxTable291A1428.Arn>/index/*]',
      'AwsSolutions-IAM5[Resource::<OutboxMessagesTableA14B215B.Arn>/index/*]',
      'AwsSolutions-IAM5[Resource::<OutboxTransactionsTable22605C25.Arn>/index/*]',
      'AwsSolutions-IAM5[Resource::<ShippingConsumerInboxTableF7B582E2.Arn>/index/*]',
      'AwsSolutions-SQS3',
    ]);
    for (const reasons of acknowledged.values()) {
      for (const reason of reasons) expect(reason.length).toBeGreaterThan(30);
    }
  });

  it('keeps the emulator-only relaxations (no point-in-time recovery, an open API) out of the AWS stack', () => {
    // GIVEN
    const aws = acknowledgments(demoStack(stackConfigurations.aws()));
    const emulator = acknowledgments(demoStack(stackConfigurations.emulator()));
    // THEN
    for (const rule of ['AwsSolutions-DDB3', 'AwsSolutions-APIG4']) {
      expect(aws.has(rule)).toBe(false);
      expect(emulator.has(rule)).toBe(true);
    }
  });

  it('fails if a statement other than X-Ray and the stream listing is granted on every resource', () => {
    // GIVEN: the acknowledged `Resource::*` findings of the functions' roles stand for these actions only
    const allowed = new Set(['xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'dynamodb:ListStreams']);
    for (const [name, props] of Object.entries(stackConfigurations)) {
      const template = Template.fromStack(demoStack(props()));
      // WHEN
      const onEveryResource: string[] = [];
      for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          if (![statement.Resource].flat().includes('*')) continue;
          onEveryResource.push(...[statement.Action].flat().filter((action: string) => !allowed.has(action)));
        }
      }
      // THEN
      expect(onEveryResource, `${name} stack`).toEqual([]);
    }
  });
});

describe('least privilege', () => {
  for (const [name, props] of Object.entries(stackConfigurations)) {
    it(`grants no wildcard action in any IAM policy of the ${name} stack`, () => {
      // GIVEN
      const template = Template.fromStack(demoStack(props()));
      // WHEN
      const wildcards: string[] = [];
      const policies = template.findResources('AWS::IAM::Policy');
      for (const [id, policy] of Object.entries(policies)) {
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          for (const action of [statement.Action].flat() as string[]) {
            if (action.includes('*')) wildcards.push(`${id}: ${action}`);
          }
        }
      }
      // THEN
      expect(Object.keys(policies).length).toBeGreaterThan(5);
      expect(wildcards).toEqual([]);
    });
  }

  it('grants the explicit KMS actions a wildcard stood for (so encrypted tables, queues and topics still work)', () => {
    // GIVEN the AWS stack, whose consumer writes to a KMS-encrypted inbox
    const template = Template.fromStack(demoStack(stackConfigurations.aws()));
    // WHEN
    const kmsActions = new Set<string>();
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        for (const action of [statement.Action].flat() as string[]) {
          if (action.startsWith('kms:')) kmsActions.add(action);
        }
      }
    }
    // THEN
    for (const action of [
      'kms:Decrypt',
      'kms:Encrypt',
      'kms:GenerateDataKey',
      'kms:GenerateDataKeyWithoutPlaintext',
      'kms:ReEncryptFrom',
      'kms:ReEncryptTo',
    ]) {
      expect(kmsActions).toContain(action);
    }
  });
});

describe('expandKmsWildcards', () => {
  it('replaces each KMS wildcard by its actions and keeps everything else', () => {
    const document = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow', Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: 'arn:key' },
        { Effect: 'Allow', Action: 'kms:ReEncrypt*', Resource: 'arn:key' },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: 'arn:queue' },
      ],
    };
    expect(expandKmsWildcards(document)).toEqual({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: [
            'kms:Decrypt',
            'kms:GenerateDataKey',
            'kms:GenerateDataKeyPair',
            'kms:GenerateDataKeyPairWithoutPlaintext',
            'kms:GenerateDataKeyWithoutPlaintext',
          ],
          Resource: 'arn:key',
        },
        { Effect: 'Allow', Action: ['kms:ReEncryptFrom', 'kms:ReEncryptTo'], Resource: 'arn:key' },
        { Effect: 'Allow', Action: 'sqs:SendMessage', Resource: 'arn:queue' },
      ],
    });
  });
});

describe('no secrets in environment variables', () => {
  const SECRET_NAME = /SECRET|PASSWORD|PASSWD|TOKEN|CREDENTIAL|PRIVATE|ACCESS_KEY/i;
  const SECRET_VALUE = /AKIA[0-9A-Z]{16}|-----BEGIN|aws_secret_access_key/i;

  for (const [name, props] of Object.entries(stackConfigurations)) {
    it(`holds only names, numbers and settings in every function's environment in the ${name} stack`, () => {
      // GIVEN
      const functions = Template.fromStack(demoStack(props())).findResources('AWS::Lambda::Function');
      // WHEN
      const suspicious = Object.entries(functions).flatMap(([id, resource]) => {
        const variables = (resource.Properties?.Environment?.Variables ?? {}) as Record<string, unknown>;
        return Object.entries(variables)
          .filter(([key, value]) => SECRET_NAME.test(key) || SECRET_VALUE.test(JSON.stringify(value)))
          .map(([key]) => `${id}.${key}`);
      });
      // THEN
      expect(Object.keys(functions).length).toBeGreaterThan(5);
      expect(suspicious).toEqual([]);
    });
  }
});
