import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  consumerOptionsFromEnvironment,
  guardedEffectsFromEnvironment,
} from '../../../../functions/runtime/consumer/consumer-environment';
import type { DynamoEffect } from '../../../../functions/runtime/consumer/effect-strategies';
import { ConfigurationError } from '../../../../functions/runtime/errors';

const sns = mockClient(SNSClient);
const sqs = mockClient(SQSClient);

/** The environment the IdempotentConsumer construct writes. */
const CONSTRUCT_ENVIRONMENT = {
  INBOX_TABLE_NAME: 'inbox',
  INBOX_RETENTION_SECONDS: '1296000',
  INBOX_CLAIM_SECONDS: '60',
  IDEMPOTENCY_STRATEGIES: JSON.stringify({ default: 'transaction', effects: { view: 'version' } }),
  PARK_AFTER_FAILURES: '3',
  ALERT_TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:alerts',
  QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/channel.fifo',
  METRICS_NAMESPACE: 'ReliableMessaging',
  METRICS_STACK_NAME: 'ShopMessaging',
};

const PARKED = {
  groupKey: 'account-1',
  sequence: 7,
  messageId: 'm-7',
  type: 'BalanceChanged',
  failures: 3,
  error: 'boom',
};

beforeEach(() => {
  sns.reset();
  sqs.reset();
});

describe('consumerOptionsFromEnvironment', () => {
  it('reads the options the IdempotentConsumer construct deployed', () => {
    // WHEN
    const options = consumerOptionsFromEnvironment({ env: CONSTRUCT_ENVIRONMENT, sns: new SNSClient({}) });

    // THEN
    expect(options).toMatchObject({
      inboxTableName: 'inbox',
      retentionSeconds: 1_296_000,
      claimSeconds: 60,
      parkAfterFailures: 3,
    });
  });

  it('sends the KeyParked alert to the construct’s alert topic when a key parks', async () => {
    // GIVEN
    sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
    const options = consumerOptionsFromEnvironment({ env: CONSTRUCT_ENVIRONMENT, sns: new SNSClient({}) });

    // WHEN
    await options.onParked(PARKED);

    // THEN
    const published = sns.commandCalls(PublishCommand).map((call) => call.args[0].input);
    expect(published).toEqual([
      {
        TopicArn: CONSTRUCT_ENVIRONMENT.ALERT_TOPIC_ARN,
        Subject: 'Key account-1 parked',
        Message: JSON.stringify({ alert: 'KeyParked', ...PARKED }),
        MessageAttributes: { alert: { DataType: 'String', StringValue: 'KeyParked' } },
      },
    ]);
  });

  it('continues a bounded release by putting the next held message back on the construct’s queue', async () => {
    // GIVEN
    sqs.on(SendMessageCommand).resolves({ MessageId: 'sqs-1' });
    const options = consumerOptionsFromEnvironment({ env: CONSTRUCT_ENVIRONMENT, sqs: new SQSClient({}) });
    const next = {
      messageId: 'm-8',
      groupKey: 'account-1',
      sequence: 8,
      type: 'BalanceChanged',
      payload: { balance: 3 },
      createdAt: '2026-12-02T03:00:00.000Z',
    };

    // WHEN
    await options.continueRelease(next);

    // THEN
    expect(sqs.commandCalls(SendMessageCommand).map((call) => call.args[0].input)).toEqual([
      {
        QueueUrl: CONSTRUCT_ENVIRONMENT.QUEUE_URL,
        MessageBody: JSON.stringify(next),
        MessageGroupId: 'account-1',
        MessageDeduplicationId: expect.stringMatching(/^m-8:continue:[0-9a-f-]{36}$/),
      },
    ]);
  });

  it.each([
    'INBOX_TABLE_NAME',
    'INBOX_RETENTION_SECONDS',
    'INBOX_CLAIM_SECONDS',
    'PARK_AFTER_FAILURES',
    'ALERT_TOPIC_ARN',
    'QUEUE_URL',
  ])('fails if %s is missing (the function is not the construct’s handler)', (name) => {
    const env: Record<string, string | undefined> = { ...CONSTRUCT_ENVIRONMENT, [name]: undefined };
    expect(() => consumerOptionsFromEnvironment({ env })).toThrow(
      new ConfigurationError(`environment variable ${name} is required but not set`),
    );
  });

  it('names the consumer group in the KeyParked alert: subject, body and a message attribute', async () => {
    // GIVEN a consumer of the audit group
    sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
    const options = consumerOptionsFromEnvironment({
      env: { ...CONSTRUCT_ENVIRONMENT, CONSUMER_GROUP: 'audit' },
      sns: new SNSClient({}),
    });

    // WHEN
    await options.onParked(PARKED);

    // THEN
    expect(options.group).toBe('audit');
    expect(sns.commandCalls(PublishCommand).map((call) => call.args[0].input)).toEqual([
      {
        TopicArn: CONSTRUCT_ENVIRONMENT.ALERT_TOPIC_ARN,
        Subject: 'Key account-1 parked in group audit',
        Message: JSON.stringify({ alert: 'KeyParked', group: 'audit', ...PARKED }),
        MessageAttributes: {
          alert: { DataType: 'String', StringValue: 'KeyParked' },
          group: { DataType: 'String', StringValue: 'audit' },
        },
      },
    ]);
  });

  it('reads the message types the construct declared (CONSUMER_MESSAGE_TYPES)', () => {
    // WHEN
    const options = consumerOptionsFromEnvironment({
      env: { ...CONSTRUCT_ENVIRONMENT, CONSUMER_MESSAGE_TYPES: '["OrderPlaced","PaymentCaptured"]' },
    });

    // THEN
    expect(options.messageTypes).toEqual(['OrderPlaced', 'PaymentCaptured']);
  });

  it('applies every type, and names no group, when neither variable is set (or both are empty)', () => {
    for (const env of [
      CONSTRUCT_ENVIRONMENT,
      { ...CONSTRUCT_ENVIRONMENT, CONSUMER_MESSAGE_TYPES: '', CONSUMER_GROUP: '' },
    ]) {
      const options = consumerOptionsFromEnvironment({ env });
      expect(options.messageTypes).toBeUndefined();
      expect(options.group).toBeUndefined();
    }
  });

  it.each([
    ['OrderPlaced', 'it is not JSON'],
    ['{"types":["OrderPlaced"]}', 'it is not an array'],
    ['"OrderPlaced"', 'it is not an array'],
    ['[]', 'it is empty'],
    ['["OrderPlaced", 3]', 'not every entry is a non-empty string'],
    ['["OrderPlaced", ""]', 'not every entry is a non-empty string'],
  ])('fails if CONSUMER_MESSAGE_TYPES is %s, naming the variable', (value, why) => {
    expect(() =>
      consumerOptionsFromEnvironment({ env: { ...CONSTRUCT_ENVIRONMENT, CONSUMER_MESSAGE_TYPES: value } }),
    ).toThrow(
      new ConfigurationError(
        'environment variable CONSUMER_MESSAGE_TYPES must be a JSON array of at least one non-empty string ' +
          `(the message types the consumer applies); ${why}: '${value}'`,
      ),
    );
  });

  it.each(['0', '-1', '2.5', 'three'])('fails if PARK_AFTER_FAILURES is %s', (value) => {
    expect(() =>
      consumerOptionsFromEnvironment({ env: { ...CONSTRUCT_ENVIRONMENT, PARK_AFTER_FAILURES: value } }),
    ).toThrow(`environment variable PARK_AFTER_FAILURES must be a positive integer; got '${value}'`);
  });
});

describe('consumerOptionsFromEnvironment’s clients', () => {
  it('fails if an SDK call bound in the environment is not a positive integer, before any call', () => {
    expect(() =>
      consumerOptionsFromEnvironment({ env: { ...CONSTRUCT_ENVIRONMENT, SDK_MAX_ATTEMPTS: '0' } }),
    ).toThrow(
      new ConfigurationError("environment variable SDK_MAX_ATTEMPTS must be a positive integer; got '0'"),
    );
  });

  it('publishes the alert through a client of its own whose calls are bounded in time', async () => {
    // GIVEN no client given
    sns.on(PublishCommand).resolves({ MessageId: 'alert-1' });
    const options = consumerOptionsFromEnvironment({
      env: { ...CONSTRUCT_ENVIRONMENT, SDK_MAX_ATTEMPTS: '4' },
    });

    // WHEN
    await options.onParked(PARKED);

    // THEN the client it made has the bounded configuration
    const [call] = sns.commandCalls(PublishCommand);
    const client = call?.thisValue as SNSClient;
    expect(await client.config.maxAttempts()).toBe(4);
  });
});

describe('guardedEffectsFromEnvironment', () => {
  it('gives each effect the strategy the construct configured for its name, or the default', () => {
    // GIVEN
    const view: DynamoEffect = { name: 'view', items: () => [] };
    const inventory: DynamoEffect = { name: 'inventory', items: () => [] };

    // WHEN
    const guarded = guardedEffectsFromEnvironment([view, inventory], CONSTRUCT_ENVIRONMENT);

    // THEN
    expect(guarded).toEqual([
      { effect: view, strategy: 'version' },
      { effect: inventory, strategy: 'transaction' },
    ]);
  });
});
