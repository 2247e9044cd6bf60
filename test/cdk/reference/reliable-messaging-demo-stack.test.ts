import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { awsTemplate, emulatorTemplate } from '../support/synth';

describe('ReliableMessagingDemo stack for AWS', () => {
  const template = awsTemplate();

  it('feeds the relay from the outbox stream: TRIM_HORIZON, only INSERTs of PENDING, bisect, bounded retries and age, partial batch responses, an on-failure queue', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: Match.anyValue(),
      StartingPosition: 'TRIM_HORIZON',
      BisectBatchOnFunctionError: true,
      MaximumRetryAttempts: 10,
      MaximumRecordAgeInSeconds: 6 * 3600,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      DestinationConfig: { OnFailure: { Destination: Match.anyValue() } },
      FilterCriteria: {
        Filters: [
          {
            Pattern: JSON.stringify({
              eventName: ['INSERT'],
              dynamodb: { NewImage: { status: { S: ['PENDING'] } } },
            }),
          },
        ],
      },
    });
  });

  it('consumes the FIFO queue with partial batch responses and bounded concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ChannelQueue'), 'Arn'] },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });

  it('has a FIFO queue without content-based deduplication, redriving to a FIFO dead-letter queue after 5 receives', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      ContentBasedDeduplication: false,
      MessageRetentionPeriod: 14 * 24 * 3600,
      KmsMasterKeyId: Match.anyValue(),
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^ChannelDeadLetterQueue'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    const deadLetter = template.findResources('AWS::SQS::Queue', {
      Properties: { FifoQueue: true, RedrivePolicy: Match.absent() },
    });
    // One per group: projection, audit, shipping.
    expect(Object.keys(deadLetter)).toHaveLength(3);
  });

  it('encrypts every queue with KMS and denies every request that is not TLS', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    // Queue and dead-letter queue of each of the three groups, and the relay's failure queue.
    expect(Object.keys(queues)).toHaveLength(7);
    for (const queue of Object.values(queues)) expect(queue.Properties.KmsMasterKeyId).toBeDefined();
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies)).toHaveLength(7);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('keeps every table: KMS, point-in-time recovery, deletion protection, RETAIN', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    // orders, payments, outbox, transactions (half messages), idempotency keys, projection, the three groups'
    // inboxes, audit, shipping
    expect(Object.keys(tables)).toHaveLength(11);
    for (const table of Object.values(tables)) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
      expect(table.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        DeletionProtectionEnabled: true,
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        SSESpecification: { SSEEnabled: true, SSEType: 'KMS', KMSMasterKeyId: expect.anything() },
      });
    }
  });

  it('keeps idempotency keys in their own table (no stream, TTL expiresAt), and tells the producers its name', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'idempotencyKey', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      StreamSpecification: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 15,
      Environment: {
        Variables: Match.objectLike({
          IDEMPOTENCY_TABLE_NAME: Match.anyValue(),
          PRODUCER_LIFETIME_SECONDS: '15',
          PREPARE_TIMEOUT_SECONDS: '15',
        }),
      },
    });
  });

  it('keys the outbox by groupKey and sequence and streams new images', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [
        { AttributeName: 'groupKey', KeyType: 'HASH' },
        { AttributeName: 'sequence', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: Match.arrayWith([{ AttributeName: 'sequence', AttributeType: 'N' }]),
      StreamSpecification: { StreamViewType: 'NEW_IMAGE' },
    });
  });

  it('expires inbox records through TTL', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
    });
  });

  it('tells the consumer its inbox, a 15-day replay horizon and a claim longer than its timeout', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 30,
      Environment: {
        Variables: Match.objectLike({
          INBOX_TABLE_NAME: Match.anyValue(),
          INBOX_RETENTION_SECONDS: String(15 * 24 * 3600),
          INBOX_CLAIM_SECONDS: '60',
        }),
      },
    });
  });

  it('encrypts the alert topic and makes it TLS-only', () => {
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('rotates its KMS key', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
  });

  it('runs every function on a supported Node.js runtime with tracing and a log retention', () => {
    const functions = template.findResources('AWS::Lambda::Function');
    expect(Object.keys(functions).length).toBeGreaterThanOrEqual(3);
    for (const fn of Object.values(functions)) {
      expect(fn.Properties.Runtime).toBe('nodejs24.x');
      expect(fn.Properties.TracingConfig).toEqual({ Mode: 'Active' });
    }
    template.allResourcesProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('grants no wildcard IAM actions', () => {
    const actions: string[] = [];
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        actions.push(...[statement.Action].flat());
      }
    }
    expect(actions.length).toBeGreaterThan(0);
    expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
  });

  it('serves every route of the contract', () => {
    for (const route of [
      'POST /orders',
      'GET /orders/{orderId}',
      'POST /orders/{orderId}/notes',
      'POST /orders/{orderId}/cancel',
      'GET /orders/{orderId}/view',
      'GET /inventory/{sku}',
    ]) {
      template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: route });
    }
  });

  it('outputs the contract names, ApiUrl being the execute-api URL', () => {
    for (const name of [
      'ApiUrl',
      'OrdersTableName',
      'OutboxTableName',
      'InboxTableName',
      'QueueUrl',
      'DeadLetterQueueUrl',
      'AlertTopicArn',
      'EventsTopicArn',
      'AuditTableName',
      'AuditQueueUrl',
      'AuditDeadLetterQueueUrl',
      'AuditInboxTableName',
      'AuditConsumerFunctionName',
      'ShippingTableName',
      'ShippingQueueUrl',
      'ShippingDeadLetterQueueUrl',
      'ShippingInboxTableName',
      'ShippingConsumerFunctionName',
    ]) {
      template.hasOutput(name, {});
    }
    const apiUrl = JSON.stringify(template.findOutputs('ApiUrl'));
    expect(apiUrl).toContain('"ApiEndpoint"');
    expect(apiUrl).not.toContain('_aws');
  });

  it('publishes the outbox to one SNS FIFO topic (relay and sweeper), encrypted with the data key', () => {
    const topics = template.findResources('AWS::SNS::Topic', { Properties: { FifoTopic: true } });
    expect(Object.keys(topics)).toHaveLength(1);
    const [topicId, topic] = Object.entries(topics)[0]!;
    expect(topic.Properties.ContentBasedDeduplication).toBe(false);
    expect(topic.Properties.KmsMasterKeyId['Fn::GetAtt'][0]).toMatch(/^DataKey/);
    for (const service of ['outbox-relay', 'compensation-sweeper']) {
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: service,
            TOPIC_ARN: { Ref: topicId },
            QUEUE_URL: Match.absent(),
          }),
        },
      });
    }
    template.hasOutput('EventsTopicArn', { Value: { Ref: topicId } });
  });

  it('lets only the relay and the sweeper publish to the events topic', () => {
    const topicId = Object.keys(
      template.findResources('AWS::SNS::Topic', { Properties: { FifoTopic: true } }),
    )[0]!;
    const publishers = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) =>
        (policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[]).some(
          (statement) =>
            JSON.stringify(statement.Action).includes('sns:Publish') &&
            JSON.stringify(statement.Resource) === JSON.stringify({ Ref: topicId }),
        ),
      )
      .map((policy) => JSON.stringify(policy.Properties.Roles));
    expect(publishers).toHaveLength(2);
    expect(publishers.join()).toMatch(/RelayHandler/);
    expect(publishers.join()).toMatch(/SweeperHandler/);
  });

  it('subscribes the three groups with raw delivery, each with its FIFO dead-letter queue', () => {
    const subscriptions = template.findResources('AWS::SNS::Subscription');
    expect(Object.keys(subscriptions)).toHaveLength(3);
    const endpoints = Object.values(subscriptions).map((subscription) => {
      expect(subscription.Properties).toMatchObject({ Protocol: 'sqs', RawMessageDelivery: true });
      expect(subscription.Properties.RedrivePolicy.deadLetterTargetArn).toBeDefined();
      return subscription.Properties.Endpoint['Fn::GetAtt'][0] as string;
    });
    expect(endpoints.sort()).toEqual(
      ['QueueUrl', 'AuditQueueUrl', 'ShippingQueueUrl']
        .map((output) => template.toJSON().Outputs[output].Value.Ref)
        .sort(),
    );
  });

  it('marks each group with its name: projection, audit, shipping', () => {
    const resources = template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>;
    const byGroup: Record<string, string[]> = {};
    for (const resource of Object.values(resources)) {
      const group = resource.Metadata?.['reliable-messaging:group'];
      if (typeof group === 'string')
        byGroup[group] = [
          ...(byGroup[group] ?? []),
          resource.Metadata?.['reliable-messaging:role'] as string,
        ];
    }
    expect(Object.keys(byGroup).sort()).toEqual(['audit', 'projection', 'shipping']);
    expect(byGroup.projection?.sort()).toEqual([
      'consumer-function',
      'dead-letter-queue',
      'inbox-table',
      'queue',
    ]);
    expect(byGroup.audit?.sort()).toEqual(['consumer-function', 'dead-letter-queue', 'inbox-table', 'queue']);
    expect(byGroup.shipping?.sort()).toEqual([
      'consumer-function',
      'cursor-table',
      'dead-letter-queue',
      'inbox-table',
      'queue',
    ]);
  });

  it('keys the audit table by orderId and position, and the shipping table by orderId', () => {
    const output = (name: string) => template.toJSON().Outputs[name].Value.Ref as string;
    const resources = template.toJSON().Resources;
    expect(resources[output('AuditTableName')].Properties.KeySchema).toEqual([
      { AttributeName: 'orderId', KeyType: 'HASH' },
      { AttributeName: 'position', KeyType: 'RANGE' },
    ]);
    expect(resources[output('AuditTableName')].Properties.AttributeDefinitions).toContainEqual({
      AttributeName: 'position',
      AttributeType: 'N',
    });
    expect(resources[output('ShippingTableName')].Properties.KeySchema).toEqual([
      { AttributeName: 'orderId', KeyType: 'HASH' },
    ]);
  });

  it('tells the group consumers their group, tables, and for shipping the types it applies', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'audit-consumer',
          CONSUMER_GROUP: 'audit',
          AUDIT_TABLE_NAME: { Ref: template.toJSON().Outputs.AuditTableName.Value.Ref },
          IDEMPOTENCY_STRATEGIES: JSON.stringify({ default: 'transaction', effects: {} }),
          CONSUMER_MESSAGE_TYPES: Match.absent(),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'shipping-consumer',
          CONSUMER_GROUP: 'shipping',
          SHIPPING_TABLE_NAME: { Ref: template.toJSON().Outputs.ShippingTableName.Value.Ref },
          CURSOR_TABLE_NAME: { Ref: template.toJSON().Outputs.ShippingTableName.Value.Ref },
          CURSOR_KEY_ATTRIBUTE: 'orderId',
          CONSUMER_MESSAGE_TYPES: JSON.stringify(['OrderPlaced', 'PaymentCaptured', 'OrderCancelled']),
        }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'orders-consumer',
          CONSUMER_GROUP: 'projection',
        }),
      },
    });
  });

  it('gives the orders API the audit and shipping tables, read only', () => {
    const tables = ['AuditTableName', 'ShippingTableName'].map(
      (output) => template.toJSON().Outputs[output].Value.Ref as string,
    );
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          POWERTOOLS_SERVICE_NAME: 'orders-api',
          AUDIT_TABLE_NAME: { Ref: tables[0] },
          SHIPPING_TABLE_NAME: { Ref: tables[1] },
        }),
      },
    });
    const apiRole = Object.entries(template.findResources('AWS::Lambda::Function')).find(
      ([, fn]) => fn.Properties.Environment?.Variables?.POWERTOOLS_SERVICE_NAME === 'orders-api',
    )![1].Properties.Role['Fn::GetAtt'][0] as string;
    const statements = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(apiRole))
      .flatMap(
        (policy) => policy.Properties.PolicyDocument.Statement as { Action: unknown; Resource: unknown }[],
      );
    for (const table of tables) {
      const actions = statements
        .filter((statement) => JSON.stringify(statement.Resource).includes(`"${table}"`))
        .flatMap((statement) => [statement.Action].flat());
      expect(actions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query']);
    }
  });

  it('alarms on each group and on failed deliveries of the topic', () => {
    const descriptions = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (alarm) => alarm.Properties.AlarmDescription as string,
    );
    for (const group of ['audit', 'shipping']) {
      expect(descriptions.join('\n')).toContain(`dead-letter queue of consumer group '${group}'`);
    }
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SNS',
      MetricName: 'NumberOfNotificationsFailed',
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/SNS',
      MetricName: 'NumberOfNotificationsFailedToRedriveToDlq',
    });
  });

  it('contains no emulator-only setting', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|_aws\/execute-api|4566/);
    expect(text).not.toContain('UNIT_ACCOUNTING');
    // Only the events topic goes with the stack: it keeps no message (each is delivered to the groups' queues at once).
    const deleted = Object.values(
      template.toJSON().Resources as Record<string, Record<string, unknown>>,
    ).filter((resource) => JSON.stringify(resource).includes('"Delete"'));
    expect(deleted.map((resource) => resource.Type)).toEqual(['AWS::SNS::Topic']);
    expect(deleted[0]).toMatchObject({ Properties: { FifoTopic: true } });
  });
});

describe('ReliableMessagingDemo stack for the emulator', () => {
  const template = emulatorTemplate();

  it("outputs an ApiUrl of the emulator's /_aws/execute-api/ form", () => {
    const apiUrl = JSON.stringify(template.findOutputs('ApiUrl'));
    expect(apiUrl).toContain('http://127.0.0.1:4566/_aws/execute-api/');
  });

  it('makes its tables removable so a local stack can be thrown away', () => {
    for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
      expect(table.DeletionPolicy).toBe('Delete');
      expect(table.Properties.DeletionProtectionEnabled).not.toBe(true);
    }
  });
});
