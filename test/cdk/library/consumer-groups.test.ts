import { Duration, type Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import { describe, expect, it } from 'vitest';
import { CompensationSweeper } from '../../../lib/constructs/compensation-sweeper';
import type { ConsumerGroup } from '../../../lib/constructs/consumer-group';
import { EventsTopic } from '../../../lib/constructs/events-topic';
import { FifoChannel } from '../../../lib/constructs/fifo-channel';
import { IdempotentConsumer } from '../../../lib/constructs/idempotent-consumer';
import { MessagingAlarms } from '../../../lib/constructs/messaging-alarms';
import { OutboxRelay } from '../../../lib/constructs/outbox-relay';
import { ReliableMessaging } from '../../../lib/constructs/reliable-messaging';
import { GROUP_METADATA, RESOURCE_ROLE_METADATA } from '../../../lib/constructs/resource-roles';
import { TransactionalOutbox } from '../../../lib/constructs/transactional-outbox';
import { testStack } from '../support/synth';

function someFunction(stack: Stack, id = 'Fn'): lambda.Function {
  return new lambda.Function(stack, id, {
    runtime: lambda.Runtime.NODEJS_22_X,
    handler: 'index.handler',
    code: lambda.Code.fromInline('exports.handler = async () => ({})'),
    timeout: Duration.seconds(20),
  });
}

function ref(stack: Stack, construct: { node: { defaultChild?: unknown } }): { Ref: string } {
  return { Ref: stack.getLogicalId(construct.node.defaultChild as sns.CfnTopic) };
}

/** The logical ids of the resources whose metadata has `key` = `value`. */
function resourcesWithMetadata(template: Template, key: string, value: string): string[] {
  const resources = template.toJSON().Resources as Record<string, { Metadata?: Record<string, unknown> }>;
  return Object.entries(resources)
    .filter(([, resource]) => resource.Metadata?.[key] === value)
    .map(([id]) => id);
}

/** A topic with one group `audit`, in a fresh stack. */
function auditGroup(props: Partial<ConstructorParameters<typeof ConsumerGroup>[2]> = {}) {
  const stack = testStack();
  const topic = new EventsTopic(stack, 'Events');
  const alerts = new sns.Topic(stack, 'Alerts');
  const group = topic.addGroup('Audit', { handler: someFunction(stack), alertTopic: alerts, ...props });
  return { stack, topic, group, template: Template.fromStack(stack) };
}

describe('EventsTopic', () => {
  it('is an SNS FIFO topic, KMS-encrypted with a new rotating key, without content-based deduplication', () => {
    // GIVEN / WHEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SNS::Topic', {
      FifoTopic: true,
      ContentBasedDeduplication: false,
      KmsMasterKeyId: {
        'Fn::GetAtt': [stack.getLogicalId(topic.encryptionKey.node.defaultChild as sns.CfnTopic), 'Arn'],
      },
      TopicName: Match.stringLikeRegexp('\\.fifo$'),
    });
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResource('AWS::SNS::Topic', { Metadata: { [RESOURCE_ROLE_METADATA]: 'events-topic' } });
  });

  it('refuses publishing without TLS', () => {
    // GIVEN / WHEN
    const stack = testStack();
    new EventsTopic(stack, 'Events');
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Deny',
            Action: 'sns:Publish',
            Condition: { Bool: { 'aws:SecureTransport': 'false' } },
          }),
        ]),
      },
    });
  });

  it('scopes throughput and deduplication per message group when highThroughput is on', () => {
    // GIVEN / WHEN
    const stack = testStack();
    new EventsTopic(stack, 'Events', { highThroughput: true });
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Topic', {
      FifoThroughputScope: 'MessageGroup',
    });
  });

  it('keeps SNS default throughput scope without highThroughput', () => {
    // GIVEN / WHEN
    const stack = testStack();
    new EventsTopic(stack, 'Events');
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Topic', {
      FifoThroughputScope: Match.absent(),
    });
  });

  it('grantPublish lets the grantee publish and use the key', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    const fn = someFunction(stack);
    // WHEN
    topic.grantPublish(fn);
    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sns:Publish', Resource: ref(stack, topic.topic) }),
          Match.objectLike({ Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']) }),
        ]),
      },
    });
  });
});

describe('ConsumerGroup', () => {
  it('subscribes its FIFO queue with raw delivery and its FIFO dead-letter queue as the subscription DLQ', () => {
    // GIVEN / WHEN
    const { stack, topic, group, template } = auditGroup();
    // THEN
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'sqs',
      TopicArn: ref(stack, topic.topic),
      Endpoint: {
        'Fn::GetAtt': [stack.getLogicalId(group.channel.queue.node.defaultChild as sns.CfnTopic), 'Arn'],
      },
      RawMessageDelivery: true,
      RedrivePolicy: {
        deadLetterTargetArn: {
          'Fn::GetAtt': [
            stack.getLogicalId(group.channel.deadLetterQueue.node.defaultChild as sns.CfnTopic),
            'Arn',
          ],
        },
      },
    });
    expect(group.groupName).toBe('audit');
  });

  it("lets only this topic send to the group's queue and to its dead-letter queue (aws:SourceArn)", () => {
    // GIVEN / WHEN
    const { stack, topic, group, template } = auditGroup();
    // THEN
    for (const queue of [group.channel.queue, group.channel.deadLetterQueue]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: stack.getLogicalId(queue.node.defaultChild as sns.CfnTopic) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              ...(queue === group.channel.queue ? { Sid: 'AllowTheEventsTopicToSend' } : {}),
              Effect: 'Allow',
              Principal: { Service: 'sns.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: Match.anyValue(),
              Condition: { ArnEquals: { 'aws:SourceArn': ref(stack, topic.topic) } },
            },
          ]),
        },
      });
    }
    // No statement lets SNS in without the topic's condition.
    const policies = template.findResources('AWS::SQS::QueuePolicy');
    for (const policy of Object.values(policies)) {
      for (const statement of policy.Properties.PolicyDocument.Statement) {
        if (statement.Effect !== 'Allow') continue;
        expect(statement.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': ref(stack, topic.topic) } });
      }
    }
  });

  it("lets sns.amazonaws.com use the channel's key for this topic only", () => {
    // GIVEN / WHEN
    const { stack, topic, template } = auditGroup();
    // THEN the topic's ARN, built from its generated name (no Ref: a key shared with the topic would be a cycle)
    const topicName = (topic.topic.node.defaultChild as sns.CfnTopic).topicName;
    expect(topicName).toMatch(/\.fifo$/);
    const topicArn = stack.resolve(stack.formatArn({ service: 'sns', resource: topicName! }));
    template.hasResourceProperties('AWS::KMS::Key', {
      Description: 'Encrypts the FIFO channel',
      KeyPolicy: {
        Statement: Match.arrayWith([
          {
            Sid: 'AllowTheEventsTopicToEncryptForItsQueues',
            Effect: 'Allow',
            Principal: { Service: 'sns.amazonaws.com' },
            Action: ['kms:Decrypt', 'kms:GenerateDataKey'],
            Resource: '*',
            Condition: { ArnEquals: { 'aws:SourceArn': topicArn } },
          },
        ]),
      },
    });
    for (const key of Object.values(template.findResources('AWS::KMS::Key'))) {
      for (const statement of key.Properties.KeyPolicy.Statement) {
        if (JSON.stringify(statement.Principal).includes('sns.amazonaws.com')) {
          expect(statement.Condition).toEqual({ ArnEquals: { 'aws:SourceArn': topicArn } });
        }
      }
    }
  });

  it('synthesizes without a cycle when one key encrypts the topic and the group', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    // WHEN
    topic.addGroup('Audit', {
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'A'),
      encryptionKey: topic.encryptionKey,
    });
    // THEN
    const template = Template.fromStack(stack);
    const key = stack.getLogicalId(topic.encryptionKey.node.defaultChild as sns.CfnTopic);
    expect(JSON.stringify(template.toJSON().Resources[key])).not.toContain(
      stack.getLogicalId(topic.topic.node.defaultChild as sns.CfnTopic),
    );
  });

  it('makes the subscription after the queue policy that lets SNS send', () => {
    // GIVEN / WHEN
    const { stack, group, template } = auditGroup();
    // THEN
    const policy = Object.entries(template.findResources('AWS::SQS::QueuePolicy')).find(
      ([, resource]) =>
        JSON.stringify(resource.Properties.Queues) ===
        JSON.stringify([{ Ref: stack.getLogicalId(group.channel.queue.node.defaultChild as sns.CfnTopic) }]),
    )?.[0];
    template.hasResource('AWS::SNS::Subscription', { DependsOn: Match.arrayWith([policy]) });
  });

  it("gives the consumer the group's name and marks the group's resources with it", () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    const views = new dynamodb.Table(stack, 'Views', {
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    });
    // WHEN
    const group = topic.addGroup('Shipping', {
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'Alerts'),
      cursorTable: { table: views, keyAttribute: 'orderId' },
      messageTypes: ['OrderPlaced', 'OrderCancelled'],
    });
    // THEN
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CONSUMER_GROUP: 'shipping',
          CONSUMER_MESSAGE_TYPES: '["OrderPlaced","OrderCancelled"]',
        }),
      },
    });
    const id = (construct: { node: { defaultChild?: unknown } }) =>
      stack.getLogicalId(construct.node.defaultChild as sns.CfnTopic);
    expect(resourcesWithMetadata(template, GROUP_METADATA, 'shipping').sort()).toEqual(
      [
        id(group.channel.queue),
        id(group.channel.deadLetterQueue),
        id(group.consumer.inboxTable),
        id(group.consumer.handler),
        id(views),
      ].sort(),
    );
  });

  it('names the group after its id in kebab-case by default', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    // WHEN
    const group = topic.addGroup('ShippingLabels', {
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'A'),
    });
    // THEN
    expect(group.groupName).toBe('shipping-labels');
  });

  it('fails if the group name is not lowercase letters, digits and hyphens', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    // WHEN / THEN
    expect(() =>
      topic.addGroup('Audit', {
        groupName: 'Audit_Log',
        handler: someFunction(stack),
        alertTopic: new sns.Topic(stack, 'A'),
      }),
    ).toThrow(
      "groupName must start with a lowercase letter and have 1 to 40 lowercase letters, digits and hyphens; got 'Audit_Log'",
    );
  });

  it('fails if the id gives no valid group name and none is given', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    // WHEN / THEN
    expect(() =>
      topic.addGroup('1stGroup', { handler: someFunction(stack), alertTopic: new sns.Topic(stack, 'A') }),
    ).toThrow(/got '1st-group' from the id '1stGroup': give a groupName/);
  });

  it('fails if the topic has a group of that name already', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    const alertTopic = new sns.Topic(stack, 'A');
    topic.addGroup('Audit', { handler: someFunction(stack, 'One'), alertTopic });
    // WHEN / THEN
    expect(() =>
      topic.addGroup('AuditAgain', { groupName: 'audit', handler: someFunction(stack, 'Two'), alertTopic }),
    ).toThrow("already has a consumer group named 'audit'");
  });

  it('allows one group name on two topics', () => {
    // GIVEN
    const stack = testStack();
    const alertTopic = new sns.Topic(stack, 'A');
    new EventsTopic(stack, 'One').addGroup('Audit', { handler: someFunction(stack, 'F1'), alertTopic });
    // WHEN / THEN
    expect(() =>
      new EventsTopic(stack, 'Two').addGroup('Audit', { handler: someFunction(stack, 'F2'), alertTopic }),
    ).not.toThrow();
  });

  it('fails if a channel is subscribed twice', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    const channel = new FifoChannel(stack, 'Channel');
    topic.subscribeChannel(channel, { groupName: 'main' });
    // WHEN / THEN
    expect(() => topic.subscribeChannel(channel, { groupName: 'other' })).toThrow(
      "TestStack/Channel is subscribed to TestStack/Events already; got it again for group 'other'",
    );
  });

  it("uses the group's key and removal policy for its queues unless the channel props say otherwise", () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    // WHEN
    const group = topic.addGroup('Audit', {
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'A'),
      encryptionKey: topic.encryptionKey,
    });
    // THEN
    expect(group.channel.encryptionKey).toBe(topic.encryptionKey);
  });
});

describe('cursor tables of consumer groups', () => {
  function table(stack: Stack, id: string): dynamodb.Table {
    return new dynamodb.Table(stack, id, {
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
    });
  }

  it('lets each group of a stack have its own cursor table', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    const alertTopic = new sns.Topic(stack, 'A');
    topic.addGroup('Shipping', {
      handler: someFunction(stack, 'F1'),
      alertTopic,
      cursorTable: { table: table(stack, 'ShippingTable'), keyAttribute: 'orderId' },
    });
    // WHEN / THEN
    expect(() =>
      topic.addGroup('Billing', {
        handler: someFunction(stack, 'F2'),
        alertTopic,
        cursorTable: { table: table(stack, 'BillingTable'), keyAttribute: 'orderId' },
      }),
    ).not.toThrow();
  });

  it('fails if one table is given as the cursor table of two groups', () => {
    // GIVEN
    const stack = testStack();
    const topic = new EventsTopic(stack, 'Events');
    const alertTopic = new sns.Topic(stack, 'A');
    const shared = table(stack, 'Shared');
    topic.addGroup('Shipping', {
      handler: someFunction(stack, 'F1'),
      alertTopic,
      cursorTable: { table: shared, keyAttribute: 'orderId' },
    });
    // WHEN / THEN
    expect(() =>
      topic.addGroup('Billing', {
        handler: someFunction(stack, 'F2'),
        alertTopic,
        cursorTable: { table: shared, keyAttribute: 'orderId' },
      }),
    ).toThrow(
      "TestStack/Shared is already the cursor table of group 'shipping'; got it for group 'billing' too",
    );
  });
});

describe("IdempotentConsumer's groupName and messageTypes", () => {
  function consumer(props: { groupName?: string; messageTypes?: readonly string[] }) {
    const stack = testStack();
    const channel = new FifoChannel(stack, 'Channel');
    new IdempotentConsumer(stack, 'Consumer', {
      queue: channel.queue,
      handler: someFunction(stack),
      alertTopic: new sns.Topic(stack, 'A'),
      ...props,
    });
    return Template.fromStack(stack);
  }

  it('sets neither CONSUMER_GROUP nor CONSUMER_MESSAGE_TYPES nor group metadata when not given', () => {
    // GIVEN / WHEN
    const template = consumer({});
    // THEN
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CONSUMER_GROUP: Match.absent(),
          CONSUMER_MESSAGE_TYPES: Match.absent(),
        }),
      },
    });
    expect(JSON.stringify(template.toJSON())).not.toContain(GROUP_METADATA);
  });

  it('fails if messageTypes is empty', () => {
    expect(() => consumer({ messageTypes: [] })).toThrow(
      'messageTypes must name at least one message type (leave it out to apply every type); got []',
    );
  });

  it('fails if messageTypes has a blank type', () => {
    expect(() => consumer({ messageTypes: ['OrderPlaced', ' '] })).toThrow(
      'messageTypes must not have a blank type; got ["OrderPlaced"," "]',
    );
  });

  it('fails if messageTypes names a type twice', () => {
    expect(() => consumer({ messageTypes: ['OrderPlaced', 'OrderPlaced'] })).toThrow(
      "messageTypes names 'OrderPlaced' twice",
    );
  });

  it('fails if groupName is not a valid group name', () => {
    expect(() => consumer({ groupName: 'a'.repeat(41) })).toThrow(
      /groupName must start with a lowercase letter/,
    );
  });
});

describe('OutboxRelay and CompensationSweeper with a topic', () => {
  function pipeline(destination: 'channel' | 'topic' | 'both' | 'neither') {
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const channel = new FifoChannel(stack, 'Channel');
    const topic = new EventsTopic(stack, 'Events');
    const target = {
      channel: destination === 'channel' || destination === 'both' ? channel : undefined,
      topic: destination === 'topic' || destination === 'both' ? topic : undefined,
    };
    const build = (which: 'relay' | 'sweeper') =>
      which === 'relay'
        ? new OutboxRelay(stack, 'Relay', { outbox, ...target })
        : new CompensationSweeper(stack, 'Sweeper', {
            outbox,
            ...target,
            alertTopic: new sns.Topic(stack, 'A'),
          });
    return { stack, topic, channel, build };
  }

  for (const which of ['relay', 'sweeper'] as const) {
    const who = which === 'relay' ? 'OutboxRelay' : 'CompensationSweeper';

    it(`${which}: publishes to the topic (TOPIC_ARN, no QUEUE_URL) with sns:Publish and the topic's key`, () => {
      // GIVEN
      const { stack, topic, channel, build } = pipeline('topic');
      // WHEN
      const built = build(which);
      // THEN
      const template = Template.fromStack(stack);
      template.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ TOPIC_ARN: ref(stack, topic.topic), QUEUE_URL: Match.absent() }),
        },
      });
      const role = stack.getLogicalId(built.function.role?.node.defaultChild as sns.CfnTopic);
      template.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: role }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Action: 'sns:Publish', Resource: ref(stack, topic.topic) }),
            Match.objectLike({
              // ExplicitKmsActions writes kms:GenerateDataKey* as the actions it stands for.
              Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey']),
              Resource: {
                'Fn::GetAtt': [
                  stack.getLogicalId(topic.encryptionKey.node.defaultChild as sns.CfnTopic),
                  'Arn',
                ],
              },
            }),
          ]),
        },
      });
      // Nothing may send to the (unused) channel's queue.
      const statements = JSON.stringify(template.findResources('AWS::IAM::Policy'));
      expect(statements).not.toContain(stack.getLogicalId(channel.queue.node.defaultChild as sns.CfnTopic));
    });

    it(`${which}: sends to the queue (QUEUE_URL, no TOPIC_ARN) with a channel`, () => {
      // GIVEN
      const { stack, build } = pipeline('channel');
      // WHEN
      build(which);
      // THEN
      Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({ QUEUE_URL: Match.anyValue(), TOPIC_ARN: Match.absent() }),
        },
      });
    });

    it(`${which}: fails if both channel and topic are given`, () => {
      const { build } = pipeline('both');
      expect(() => build(which)).toThrow(
        `${who} takes exactly one of channel (one queue) and topic (consumer groups); got both TestStack/Channel and TestStack/Events`,
      );
    });

    it(`${which}: fails if neither channel nor topic is given`, () => {
      const { build } = pipeline('neither');
      expect(() => build(which)).toThrow(
        `${who} takes exactly one of channel (one queue) and topic (consumer groups); got neither`,
      );
    });
  }

  it("encrypts the relay's failure queue with the topic's key", () => {
    // GIVEN
    const { stack, topic, build } = pipeline('topic');
    // WHEN
    const relay = build('relay') as OutboxRelay;
    // THEN
    expect(relay.failureQueue.encryptionMasterKey).toBe(topic.encryptionKey);
    expect(stack).toBeDefined();
  });
});

describe('ReliableMessaging with fanOut', () => {
  function messaging(fanOut = true) {
    const stack = testStack();
    const pipeline = new ReliableMessaging(stack, 'Messaging', fanOut ? { fanOut: {} } : {});
    return { stack, pipeline };
  }

  it('publishes to its topic and subscribes its channel as the first group, main', () => {
    // GIVEN / WHEN
    const { stack, pipeline } = messaging();
    pipeline.addConsumer('Projection', { handler: someFunction(stack) });
    // THEN
    const template = Template.fromStack(stack);
    expect(pipeline.topic).toBeDefined();
    const topic = ref(stack, pipeline.topic!.topic);
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'outbox-relay', TOPIC_ARN: topic }),
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({ POWERTOOLS_SERVICE_NAME: 'compensation-sweeper', TOPIC_ARN: topic }),
      },
    });
    template.hasResourceProperties('AWS::SNS::Subscription', {
      TopicArn: topic,
      Endpoint: {
        'Fn::GetAtt': [stack.getLogicalId(pipeline.channel.queue.node.defaultChild as sns.CfnTopic), 'Arn'],
      },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ CONSUMER_GROUP: 'main' }) },
    });
  });

  it('adds a consumer group with its alarms named after the id, and a dashboard row', () => {
    // GIVEN
    const { stack, pipeline } = messaging();
    // WHEN
    const group = pipeline.addConsumerGroup('Audit', { handler: someFunction(stack) });
    // THEN
    expect(group.groupName).toBe('audit');
    expect(pipeline.consumerGroups).toEqual([group]);
    for (const name of [
      'AuditDeadLetterMessages',
      'AuditOldestQueuedMessageAge',
      'AuditQueueBacklog',
      'AuditOldestGapAge',
      'AuditParkedKeys',
      'AuditUnreadableMessages',
      'AuditErrors',
      'AuditInboxMonitorHeartbeat',
      'TopicNotificationsFailed',
      'TopicNotificationsLost',
    ]) {
      expect(pipeline.alarms.alarms[name], name).toBeDefined();
    }
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'NumberOfNotificationsFailed',
      Namespace: 'AWS/SNS',
      Dimensions: [
        {
          Name: 'TopicName',
          Value: {
            'Fn::GetAtt': [
              stack.getLogicalId(pipeline.topic!.topic.node.defaultChild as sns.CfnTopic),
              'TopicName',
            ],
          },
        },
      ],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp(
        "dead-letter queue of consumer group 'audit'.*redrive --group audit --stack TestStack",
      ),
    });
    const dashboard = JSON.stringify(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboard).toContain('Group audit: backlog');
    expect(dashboard).toContain('Events topic: failed deliveries');
  });

  it("encrypts the group's queues and inbox with the pipeline's key when one is given", () => {
    // GIVEN
    const stack = testStack();
    const key = new EventsTopic(stack, 'KeyHolder').encryptionKey;
    const pipeline = new ReliableMessaging(stack, 'Messaging', { encryptionKey: key, fanOut: {} });
    // WHEN
    const group = pipeline.addConsumerGroup('Audit', { handler: someFunction(stack) });
    // THEN
    expect(group.channel.encryptionKey).toBe(key);
    expect(pipeline.topic?.encryptionKey).toBe(key);
  });

  it('fails if a consumer group is added without fanOut, naming the prop', () => {
    // GIVEN
    const { stack, pipeline } = messaging(false);
    // WHEN / THEN
    expect(() => pipeline.addConsumerGroup('Audit', { handler: someFunction(stack) })).toThrow(
      /Messaging has no events topic, so no consumer groups: build it with fanOut .* to add group Audit/,
    );
  });

  it('fails if the first group and an added group share a name', () => {
    // GIVEN
    const { stack, pipeline } = messaging();
    // WHEN / THEN
    expect(() => pipeline.addConsumerGroup('Main', { handler: someFunction(stack) })).toThrow(
      "already has a consumer group named 'main'",
    );
  });

  it('without fanOut: no topic, no TOPIC_ARN, no subscription (the single queue as before)', () => {
    // GIVEN / WHEN
    const { stack, pipeline } = messaging(false);
    // THEN
    expect(pipeline.topic).toBeUndefined();
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Subscription', 0);
    expect(JSON.stringify(template.toJSON())).not.toContain('"TOPIC_ARN"');
  });
});

describe('MessagingAlarms.addConsumerGroup', () => {
  it('fails, adding nothing, if the group name of alarms is taken', () => {
    // GIVEN
    const stack = testStack();
    const outbox = new TransactionalOutbox(stack, 'Outbox');
    const topic = new EventsTopic(stack, 'Events');
    const alertTopic = new sns.Topic(stack, 'A');
    const channel = new FifoChannel(stack, 'Channel');
    const alarms = new MessagingAlarms(stack, 'Alarms', {
      alertTopic,
      channel,
      topic,
      relay: new OutboxRelay(stack, 'Relay', { outbox, topic }),
      sweeper: new CompensationSweeper(stack, 'Sweeper', { outbox, topic, alertTopic }),
    });
    const group = topic.addGroup('Audit', { handler: someFunction(stack), alertTopic });
    alarms.addFunction('AuditErrorsOnly', someFunction(stack, 'Other'));
    alarms.addFunction('Audit', someFunction(stack, 'Clash'));
    const before = Object.keys(alarms.alarms).length;
    // WHEN / THEN
    expect(() => alarms.addConsumerGroup(group)).toThrow('already has an alarm named AuditErrors');
    expect(Object.keys(alarms.alarms)).toHaveLength(before);
  });
});
