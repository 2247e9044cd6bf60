import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { CompensationSweeper } from '../../../lib/constructs/compensation-sweeper';
import { FifoChannel } from '../../../lib/constructs/fifo-channel';
import { OutboxRelay } from '../../../lib/constructs/outbox-relay';
import { TransactionalOutbox } from '../../../lib/constructs/transactional-outbox';
import { testStack } from '../support/synth';

type Statement = { Action: string | string[]; Resource: unknown };

function sweeperStack(props: Partial<ConstructorParameters<typeof CompensationSweeper>[2]> = {}) {
  const stack = testStack();
  const outbox = new TransactionalOutbox(stack, 'Outbox');
  const channel = new FifoChannel(stack, 'Channel');
  const alertTopic = new sns.Topic(stack, 'Alerts');
  const sweeper = new CompensationSweeper(stack, 'Sweeper', { outbox, channel, alertTopic, ...props });
  return { stack, sweeper };
}

function statements(template: Template): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) => policy.Properties.PolicyDocument.Statement as Statement[],
  );
}

const outboxTableArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxMessages'), 'Arn'] };
const outboxKeyArn = { 'Fn::GetAtt': [Match.stringLikeRegexp('^OutboxKey'), 'Arn'] };

describe("CompensationSweeper's outbox audit", () => {
  it('tells the sweeper to audit at most every 5 minutes, after a 2-minute grace, by default', () => {
    // WHEN
    const { stack } = sweeperStack();
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SWEEP_AUDIT_INTERVAL_SECONDS: '300',
          SWEEP_AUDIT_GRACE_SECONDS: '120',
        }),
      },
    });
  });

  it('tells the sweeper the audit interval and grace it is given', () => {
    // WHEN
    const { stack } = sweeperStack({ auditInterval: Duration.seconds(0), auditGrace: Duration.seconds(10) });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ SWEEP_AUDIT_INTERVAL_SECONDS: '0', SWEEP_AUDIT_GRACE_SECONDS: '10' }),
      },
    });
  });

  it('fails if auditInterval is over a day', () => {
    expect(() => sweeperStack({ auditInterval: Duration.days(2) })).toThrow(
      'auditInterval must be from 0 seconds to 1 day; got 2 days',
    );
  });

  it('fails if auditGrace is over a day', () => {
    expect(() => sweeperStack({ auditGrace: Duration.days(2) })).toThrow(
      'auditGrace must be from 0 seconds to 1 day; got 2 days',
    );
  });

  it("lets the sweeper Scan the outbox table (the audit's read)", () => {
    // WHEN
    const { stack } = sweeperStack();
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['dynamodb:Scan']),
            Resource: Match.arrayWith([outboxTableArn]),
          }),
        ]),
      },
    });
  });

  it.each([
    [Duration.minutes(2), Duration.minutes(5), 7],
    [Duration.minutes(1), Duration.seconds(90), 3],
    [Duration.minutes(1), Duration.seconds(0), 1],
  ])(
    "sums the audit's heartbeat over the longest gap between audits: every %s, interval %s → %i min",
    (schedule, auditInterval, minutes) => {
      // GIVEN
      const { sweeper } = sweeperStack({ schedule, auditInterval });
      // WHEN
      const heartbeat = sweeper.metricAuditsCompleted();
      // THEN
      expect(heartbeat.metricName).toBe('OutboxAuditCompleted');
      expect(heartbeat.statistic).toBe('Sum');
      expect(heartbeat.period.toSeconds()).toBe(minutes * 60);
    },
  );

  it('measures what the audit marked, summed', () => {
    const { sweeper } = sweeperStack();
    const marked = sweeper.metricAuditMarked();
    expect([marked.metricName, marked.statistic]).toEqual(['OutboxAuditMarked', 'Sum']);
  });
});

describe("the relay's mark for the sweep", () => {
  it('lets the relay update outbox items and encrypt with the outbox key, besides deleting what it sent', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const channel = new FifoChannel(stack, 'Channel');
    // WHEN
    new OutboxRelay(stack, 'Relay', { outbox, channel });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Action: Match.arrayWith(['kms:Decrypt', 'kms:Encrypt']),
            Resource: outboxKeyArn,
          }),
          Match.objectLike({ Action: 'dynamodb:UpdateItem', Resource: Match.arrayWith([outboxTableArn]) }),
        ]),
      },
    });
  });

  it('grantMarkForSweep grants UpdateItem on the outbox table and nothing else of the table', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const fn = new lambda.Function(stack, 'Fn', {
      runtime: lambda.Runtime.NODEJS_22_X,
      handler: 'index.handler',
      code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    });
    // WHEN
    outbox.grantMarkForSweep(fn);
    // THEN
    const all = statements(Template.fromStack(stack));
    const tableActions = all
      .flatMap((statement) => [statement.Action].flat())
      .filter((a) => a.startsWith('dynamodb:'));
    expect(tableActions).toEqual(['dynamodb:UpdateItem']);
    const kmsActions = all
      .flatMap((statement) => [statement.Action].flat())
      .filter((a) => a.startsWith('kms:'));
    expect(kmsActions).toEqual(expect.arrayContaining(['kms:Encrypt', 'kms:Decrypt']));
  });
});
