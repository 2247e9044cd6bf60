import {
  CloudFormationClient,
  DescribeStacksCommand,
  GetTemplateCommand,
  ListStackResourcesCommand,
} from '@aws-sdk/client-cloudformation';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { transactionTableOf } from '../../../../lib/ops/connection';
import { OutputsNotFoundError } from '../../../../lib/ops/errors';
import { outputsFromStack } from '../../../../lib/ops/outputs';
import { outputsFromResourceRoles } from '../../../../lib/ops/stack-resources';

const cloudFormation = mockClient(CloudFormationClient);
const client = new CloudFormationClient({ region: 'eu-west-1' });

const marked = (role: string) => ({ Type: 'AWS::Any', Metadata: { 'reliable-messaging:role': role } });
const TEMPLATE = {
  Resources: {
    OutboxMessages1: marked('outbox-table'),
    ChannelQueue2: marked('queue'),
    ChannelDeadLetterQueue3: marked('dead-letter-queue'),
    ConsumerInbox4: marked('inbox-table'),
    AlertsTopic5: marked('alert-topic'),
    Unrelated6: { Type: 'AWS::Any' },
  },
};
const PHYSICAL = {
  OutboxMessages1: 'shop-outbox',
  ChannelQueue2: 'https://sqs.eu-west-1.amazonaws.com/1/shop.fifo',
  ChannelDeadLetterQueue3: 'https://sqs.eu-west-1.amazonaws.com/1/shop-dlq.fifo',
  ConsumerInbox4: 'shop-inbox',
  AlertsTopic5: 'arn:aws:sns:eu-west-1:1:alerts',
  Unrelated6: 'other',
  OutboxTransactions8: 'shop-transactions',
};

function givenStack(template: object, outputs: Record<string, string> = {}) {
  cloudFormation.on(DescribeStacksCommand).resolves({
    Stacks: [
      {
        StackName: 'ShopMessaging',
        StackStatus: 'CREATE_COMPLETE',
        CreationTime: new Date(),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  });
  cloudFormation.on(GetTemplateCommand).resolves({ TemplateBody: JSON.stringify(template) });
  // Two pages: the resources are listed in full.
  const entries = Object.entries(PHYSICAL).map(([LogicalResourceId, PhysicalResourceId]) => ({
    LogicalResourceId,
    PhysicalResourceId,
    ResourceType: 'AWS::Any',
    ResourceStatus: 'CREATE_COMPLETE' as const,
    LastUpdatedTimestamp: new Date(),
  }));
  cloudFormation
    .on(ListStackResourcesCommand)
    .resolvesOnce({ StackResourceSummaries: entries.slice(0, 2), NextToken: 'page2' })
    .resolvesOnce({ StackResourceSummaries: entries.slice(2) });
}

beforeEach(() => {
  cloudFormation.reset();
});

describe('finding the library resources of any stack built with the constructs', () => {
  it('finds each resource by its role, under the name of the output it stands for', async () => {
    // GIVEN a stack of the user's own with no outputs, its resources marked by the constructs
    givenStack(TEMPLATE);

    // WHEN ops reads it
    const outputs = await outputsFromResourceRoles(client, 'ShopMessaging');

    // THEN the roles' physical IDs are the outputs
    expect(outputs).toEqual({
      OutboxTableName: 'shop-outbox',
      QueueUrl: PHYSICAL.ChannelQueue2,
      DeadLetterQueueUrl: PHYSICAL.ChannelDeadLetterQueue3,
      InboxTableName: 'shop-inbox',
      AlertTopicArn: PHYSICAL.AlertsTopic5,
    });
  });

  it('finds the transaction table by its role: transactions are read and resolved there', async () => {
    // GIVEN a stack built with TransactionalOutbox's transactionTable
    givenStack({ Resources: { ...TEMPLATE.Resources, OutboxTransactions8: marked('transaction-table') } });

    // WHEN ops resolves the stack
    const outputs = await outputsFromStack(client, 'ShopMessaging');

    // THEN
    expect(outputs).toMatchObject({
      OutboxTableName: 'shop-outbox',
      TransactionTableName: 'shop-transactions',
    });
    expect(transactionTableOf(outputs)).toBe('shop-transactions');
  });

  it('reads transactions in the outbox table of a stack without a transaction table', async () => {
    // GIVEN
    givenStack(TEMPLATE);

    // WHEN
    const outputs = await outputsFromStack(client, 'ShopMessaging');

    // THEN
    expect(outputs).not.toHaveProperty('TransactionTableName');
    expect(transactionTableOf(outputs)).toBe('shop-outbox');
  });

  it('resolves a --stack without the reference outputs, outputs of the same name winning', async () => {
    // GIVEN the same stack, with one output of its own
    givenStack(TEMPLATE, { QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/chosen.fifo' });

    // WHEN ops resolves the stack
    const outputs = await outputsFromStack(client, 'ShopMessaging');

    // THEN it has what every command needs; the reference application's own outputs are absent
    expect(outputs).toMatchObject({
      OutboxTableName: 'shop-outbox',
      QueueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/chosen.fifo',
    });
    expect(outputs).not.toHaveProperty('ApiUrl');
    expect(outputs).not.toHaveProperty('OrdersTableName');
  });

  it('takes an output for a role two resources have', async () => {
    // GIVEN a stack with two outboxes, one named by its output
    givenStack(
      { Resources: { ...TEMPLATE.Resources, SecondOutbox7: marked('outbox-table') } },
      { OutboxTableName: 'the-one' },
    );

    // WHEN ops resolves the stack
    const outputs = await outputsFromStack(client, 'ShopMessaging');

    // THEN the output says which outbox; the other roles are found
    expect(outputs).toMatchObject({ OutboxTableName: 'the-one', InboxTableName: 'shop-inbox' });
  });

  it('fails if two resources have the same role', async () => {
    // GIVEN a stack with two outboxes
    givenStack({ Resources: { ...TEMPLATE.Resources, SecondOutbox7: marked('outbox-table') } });

    // THEN ops refuses to guess
    await expect(outputsFromResourceRoles(client, 'ShopMessaging')).rejects.toThrow(
      /has 2 resources marked outbox-table \(OutboxMessages1, SecondOutbox7\): give the stack the output OutboxTableName/,
    );
    await expect(outputsFromResourceRoles(client, 'ShopMessaging')).rejects.toBeInstanceOf(
      OutputsNotFoundError,
    );
  });
});
