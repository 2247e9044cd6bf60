import { readFileSync } from 'node:fs';
import path from 'node:path';
import { localDir } from '../paths';

/** The reference application's stack, and the file `npm start` (and the integration tests' setup) writes its outputs to. */
export const STACK_NAME = 'ReliableMessagingDemo';
export const outputsFile = path.join(localDir, 'outputs.json');

/** The stack outputs of design.md's contract (and the extra ones this stack adds). */
export interface StackOutputs {
  readonly ApiUrl: string;
  /** Only in emulator stacks: the same API with IAM (SigV4) authorization, as deployed to AWS. */
  readonly SignedApiUrl?: string;
  readonly OrdersTableName: string;
  readonly OutboxTableName: string;
  readonly InboxTableName: string;
  readonly ProjectionTableName: string;
  readonly QueueUrl: string;
  readonly DeadLetterQueueUrl: string;
  readonly AlertTopicArn: string;
  /** The consumer groups (fan-out): the events topic, and the audit and shipping groups' resources. */
  readonly EventsTopicArn: string;
  readonly AuditTableName: string;
  readonly AuditQueueUrl: string;
  readonly AuditDeadLetterQueueUrl: string;
  readonly AuditInboxTableName: string;
  readonly AuditConsumerFunctionName: string;
  readonly ShippingTableName: string;
  readonly ShippingQueueUrl: string;
  readonly ShippingDeadLetterQueueUrl: string;
  readonly ShippingInboxTableName: string;
  readonly ShippingConsumerFunctionName: string;
  readonly RelayFailureQueueUrl: string;
  readonly RelayFunctionName: string;
  readonly SweeperFunctionName: string;
  readonly ConsumerFunctionName: string;
  readonly DashboardName: string;
  readonly ApiFunctionName: string;
  /** Only in local stacks built with unit accounting (the bench's naive baseline). */
  readonly NaiveQueueUrl?: string;
  readonly NaiveTableName?: string;
  readonly NaiveConsumerFunctionName?: string;
  /** Only in local stacks built with unit accounting (the bench's lean pipeline). */
  readonly LeanOutboxTableName?: string;
  readonly LeanBusinessTableName?: string;
  readonly LeanViewTableName?: string;
  readonly LeanRelayFunctionName?: string;
  readonly LeanConsumerFunctionName?: string;
  /** Only in local stacks built with unit accounting (the bench's raw consumer probe). */
  readonly RawConsumerQueueUrl?: string;
  readonly RawConsumerFunctionName?: string;
  readonly PaymentsTableName: string;
  readonly IdempotencyTableName: string;
  readonly CheckBackFunctionName: string;
  /** Only in a stack deployed with fault injection. */
  readonly FaultsParameterName?: string;
}

/** The outputs of the stack last deployed by `npm start` (or the integration tests' setup). */
export function readOutputs(): StackOutputs {
  const all = JSON.parse(readFileSync(outputsFile, 'utf8')) as Record<string, StackOutputs>;
  const outputs = all[STACK_NAME];
  if (outputs === undefined) throw new Error(`${outputsFile} has no outputs of ${STACK_NAME}`);
  return outputs;
}
