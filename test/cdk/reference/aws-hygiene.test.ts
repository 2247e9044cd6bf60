import { beforeAll, describe, expect, it } from 'vitest';
import { awsSynth, type CfnTemplate } from '../support/aws-synth';
import {
  actionsOn,
  asList,
  functionOfService,
  functionRole,
  logicalIdOf,
  property,
  resourceOfOutput,
  resourcesOfType,
  roleStatements,
} from './support/template-access';

let template: CfnTemplate;
let stackName: string;

beforeAll(async () => {
  const [stack] = await awsSynth();
  template = stack!.template;
  stackName = stack!.stackName;
}, 600_000);

const RATE_SECONDS: Record<string, number> = {
  minute: 60,
  minutes: 60,
  hour: 3600,
  hours: 3600,
  day: 86400,
  days: 86400,
};

function rateSeconds(expression: unknown): number {
  const match = /^rate\((\d+) (\w+)\)$/.exec(String(expression));
  if (match === null) throw new Error(`not a rate expression: ${String(expression)}`);
  return Number(match[1]) * RATE_SECONDS[match[2]!]!;
}

/**
 * The function of `service`; for the inbox monitor (one per consumer group), the one that reads the inbox of
 * `output`.
 */
function functionOf(service: string, output: string): string {
  if (service !== 'inbox-monitor') return functionOfService(template, service);
  const inbox = resourceOfOutput(template, output);
  const monitors = resourcesOfType(template, 'AWS::Lambda::Function').filter(([, fn]) => {
    const variables = (property(fn, 'Environment') as { Variables: Record<string, unknown> }).Variables;
    return variables.POWERTOOLS_SERVICE_NAME === service && logicalIdOf(variables.INBOX_TABLE_NAME) === inbox;
  });
  if (monitors.length !== 1)
    throw new Error(`expected one inbox monitor of ${output}; found ${monitors.length}`);
  return monitors[0]![0];
}

/** The table actions (without `dynamodb:`) the role of the function of `service` has on the table of `output`. */
function tableActions(service: string, output: string): string[] {
  const role = functionRole(template, functionOf(service, output))!;
  return actionsOn(roleStatements(template, role), resourceOfOutput(template, output))
    .filter((action) => action.startsWith('dynamodb:'))
    .map((action) => action.replace('dynamodb:', ''));
}

describe('AWS hygiene of the AWS synth (cdk synth of bin/app.ts with cdk.json)', () => {
  it('never retries a scheduled run: EventBridge and Lambda give up at once, within one period', () => {
    // GIVEN
    const rules = resourcesOfType(template, 'AWS::Events::Rule');
    // the sweeper, the check-back and the inbox monitor of each of the three groups
    expect(rules).toHaveLength(5);
    for (const [ruleId, rule] of rules) {
      const period = rateSeconds(property(rule, 'ScheduleExpression'));
      for (const target of asList(property(rule, 'Targets') as readonly Record<string, unknown>[])) {
        // THEN: EventBridge delivers once
        const retry = target.RetryPolicy as {
          MaximumRetryAttempts?: number;
          MaximumEventAgeInSeconds?: number;
        };
        expect(retry?.MaximumRetryAttempts, ruleId).toBe(0);
        expect(retry?.MaximumEventAgeInSeconds, ruleId).toBeLessThanOrEqual(period);
        // THEN: Lambda runs the asynchronous invocation once
        const fn = logicalIdOf(target.Arn)!;
        const configs = resourcesOfType(template, 'AWS::Lambda::EventInvokeConfig').filter(
          ([, config]) => logicalIdOf(property(config, 'FunctionName')) === fn,
        );
        expect(configs, `${fn} has no EventInvokeConfig`).toHaveLength(1);
        expect(property(configs[0]![1], 'MaximumRetryAttempts'), fn).toBe(0);
        expect(property(configs[0]![1], 'MaximumEventAgeInSeconds'), fn).toBeLessThanOrEqual(period);
      }
    }
  });

  it("watches only its own stack's custom metrics: every library alarm and function carry the stack's name", () => {
    // GIVEN
    const alarms = resourcesOfType(template, 'AWS::CloudWatch::Alarm').filter(
      ([, alarm]) => property(alarm, 'Namespace') === 'ReliableMessaging',
    );
    const publishers = resourcesOfType(template, 'AWS::Lambda::Function')
      .map(([, fn]) => (property(fn, 'Environment') as { Variables: Record<string, unknown> }).Variables)
      .filter((variables) => variables.METRICS_NAMESPACE !== undefined);
    expect(alarms.length).toBeGreaterThan(0);
    expect(publishers.length).toBeGreaterThanOrEqual(4);
    // THEN
    for (const [alarmId, alarm] of alarms) {
      expect(property(alarm, 'Dimensions'), alarmId).toContainEqual({ Name: 'stack', Value: stackName });
    }
    for (const variables of publishers) {
      expect(variables.METRICS_STACK_NAME, String(variables.POWERTOOLS_SERVICE_NAME)).toBe(stackName);
    }
  });

  it.each([
    ['orders-consumer', 'InboxTableName', ['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem']],
    ['orders-consumer', 'ProjectionTableName', ['GetItem', 'PutItem', 'UpdateItem']],
    ['transaction-check-back', 'OrdersTableName', ['GetItem', 'UpdateItem']],
    ['inbox-monitor', 'InboxTableName', ['Query']],
    ['inbox-monitor', 'AuditInboxTableName', ['Query']],
    ['inbox-monitor', 'ShippingInboxTableName', ['Query']],
    ['audit-consumer', 'AuditInboxTableName', ['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem']],
    // the order's last position, then a conditional put of the next one
    ['audit-consumer', 'AuditTableName', ['PutItem', 'Query']],
    ['shipping-consumer', 'ShippingInboxTableName', ['DeleteItem', 'GetItem', 'PutItem', 'UpdateItem']],
    // GET /orders/{id}/audit and GET /orders/{id}/shipment: read only
    ['orders-api', 'AuditTableName', ['GetItem', 'Query']],
    ['orders-api', 'ShippingTableName', ['GetItem', 'Query']],
    // reads the stream, deletes what it sent, marks for the sweep (a conditional update) what it could not send
    [
      'outbox-relay',
      'OutboxTableName',
      ['BatchWriteItem', 'DeleteItem', 'DescribeStream', 'GetRecords', 'GetShardIterator', 'UpdateItem'],
    ],
  ])('grants %s on the table of %s only what its code calls: %j', (service, output, expected) => {
    // WHEN
    const actions = tableActions(service, output);
    // THEN
    expect(actions).toEqual(expected);
  });

  it("lets the sweeper Scan the outbox table: the outbox audit's read", () => {
    // WHEN
    const actions = tableActions('compensation-sweeper', 'OutboxTableName');
    // THEN
    expect(actions).toEqual(expect.arrayContaining(['Query', 'Scan', 'UpdateItem', 'DeleteItem']));
  });

  it.each(['InboxTableName', 'AuditInboxTableName', 'ShippingInboxTableName'])(
    'lets the inbox monitor of %s query the attention index only, not the table',
    (output) => {
      // GIVEN
      const role = functionRole(template, functionOf('inbox-monitor', output))!;
      const inbox = resourceOfOutput(template, output);
      // WHEN
      const resources = roleStatements(template, role)
        .filter((statement) => asList(statement.Action).some((action) => action.startsWith('dynamodb:')))
        .flatMap((statement) => asList(statement.Resource));
      // THEN
      expect(resources).toEqual([
        { 'Fn::Join': ['', [{ 'Fn::GetAtt': [inbox, 'Arn'] }, '/index/attention']] },
      ]);
    },
  );

  it('names the HTTP API after its stack', () => {
    // WHEN
    const names = resourcesOfType(template, 'AWS::ApiGatewayV2::Api').map(([, api]) => property(api, 'Name'));
    // THEN
    expect(names).toEqual([`${stackName}-HttpApi`]);
  });
});
