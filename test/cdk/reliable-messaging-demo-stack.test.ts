import { Match } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { awsTemplate, emulatorTemplate } from './synth';

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
    expect(Object.keys(deadLetter)).toHaveLength(1);
  });

  it('encrypts every queue with KMS and denies every request that is not TLS', () => {
    const queues = template.findResources('AWS::SQS::Queue');
    expect(Object.keys(queues)).toHaveLength(3);
    for (const queue of Object.values(queues)) expect(queue.Properties.KmsMasterKeyId).toBeDefined();
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    expect(Object.keys(policies)).toHaveLength(3);
    for (const policy of Object.values(policies)) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('keeps every table: KMS, point-in-time recovery, deletion protection, RETAIN', () => {
    const tables = template.findResources('AWS::DynamoDB::Table');
    // orders, payments, outbox, transactions (half messages), idempotency keys, inbox, projection
    expect(Object.keys(tables)).toHaveLength(7);
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
    ]) {
      template.hasOutput(name, {});
    }
    const apiUrl = JSON.stringify(template.findOutputs('ApiUrl'));
    expect(apiUrl).toContain('"ApiEndpoint"');
    expect(apiUrl).not.toContain('_aws');
  });

  it('contains no emulator-only setting', () => {
    const text = JSON.stringify(template.toJSON());
    expect(text).not.toMatch(/127\.0\.0\.1|localhost|_aws\/execute-api|4566/);
    expect(text).not.toContain('UNIT_ACCOUNTING');
    expect(JSON.stringify(template.toJSON().Resources)).not.toContain('"Delete"');
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
