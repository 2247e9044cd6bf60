import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ATTENTION_INDEX } from '../../functions/runtime/consumer/attention-index';
import { UNSENT_INDEX } from '../../functions/runtime/outbox/unsent-index';
import { RESOURCE_ROLE_METADATA, type ResourceRole } from '../constructs/resource-roles';
import { type DeployedStack, emulatorClientConfig } from './deployed-stack';

/** What is still on its way, or stuck, in a stack's messaging pipeline: all zeros when it has settled. */
export interface PipelineBacklog {
  /** Outbox messages not sent yet (PENDING or FAILED) and open transactions: the outbox's `unsent` index. */
  readonly outboxUnsent: number;
  /** Messages on the channel's queue(s), visible or in flight. */
  readonly queued: number;
  /** Messages on the dead-letter queue(s) and the relay's failure queue. */
  readonly deadLettered: number;
  /** Messages held back by a gap, or parked: the inbox's `attention` index. */
  readonly heldOrParked: number;
}

export interface WaitForMessagesSettledOptions {
  /** @default 180_000 (3 minutes) */
  readonly timeoutMs?: number;
  /** @default 1_000 */
  readonly pollIntervalMs?: number;
}

/** The pipeline did not settle in time: what was left at the last look. */
export class MessagesNotSettledError extends Error {
  constructor(
    message: string,
    readonly backlog: PipelineBacklog,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MessagesNotSettledError';
  }
}

const physicalIdsOf = (stack: DeployedStack, role: ResourceRole) =>
  stack.resources
    .filter((resource) => resource.metadata[RESOURCE_ROLE_METADATA] === role)
    .map((resource) => resource.physicalId);

async function indexCount(dynamodb: DynamoDBClient, tableName: string, indexName: string): Promise<number> {
  let count = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        IndexName: indexName,
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return count;
}

async function depth(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(attributes.ApproximateNumberOfMessages ?? 0) +
    Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

/** What is left in the pipeline of a stack built with the library's constructs (found by their resource roles). */
export async function pipelineBacklog(stack: DeployedStack): Promise<PipelineBacklog> {
  const dynamodb = new DynamoDBClient(emulatorClientConfig(stack));
  const sqs = new SQSClient(emulatorClientConfig(stack));
  try {
    const [outboxUnsent, heldOrParked, queued, deadLettered] = await Promise.all([
      Promise.all(
        physicalIdsOf(stack, 'outbox-table').map((table) => indexCount(dynamodb, table, UNSENT_INDEX)),
      ),
      Promise.all(
        physicalIdsOf(stack, 'inbox-table').map((table) => indexCount(dynamodb, table, ATTENTION_INDEX)),
      ),
      Promise.all(physicalIdsOf(stack, 'queue').map((queue) => depth(sqs, queue))),
      Promise.all(
        [...physicalIdsOf(stack, 'dead-letter-queue'), ...physicalIdsOf(stack, 'relay-failure-queue')].map(
          (queue) => depth(sqs, queue),
        ),
      ),
    ]);
    return {
      outboxUnsent: sum(outboxUnsent),
      queued: sum(queued),
      deadLettered: sum(deadLettered),
      heldOrParked: sum(heldOrParked),
    };
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
}

const settled = (backlog: PipelineBacklog) => Object.values(backlog).every((count) => count === 0);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the messaging pipeline of `stack` has settled: nothing unsent in the outbox, nothing on the queue, the
 * dead-letter queue or the relay's failure queue, nothing held or parked in the inbox — twice in a row. Throws
 * {@link MessagesNotSettledError} with what was left when `timeoutMs` passes. (That each committed message was
 * applied is what `reliable-messaging-ops reconcile` checks, against the producer's table.)
 */
export async function waitForMessagesSettled(
  stack: DeployedStack,
  options: WaitForMessagesSettledOptions = {},
): Promise<PipelineBacklog> {
  const timeoutMs = options.timeoutMs ?? 180_000;
  const pollIntervalMs = options.pollIntervalMs ?? 1_000;
  const deadline = Date.now() + timeoutMs;
  let clean = 0;
  for (;;) {
    const backlog = await pipelineBacklog(stack);
    clean = settled(backlog) ? clean + 1 : 0;
    if (clean === 2) return backlog;
    if (Date.now() > deadline) {
      throw new MessagesNotSettledError(
        `the messages of ${stack.stackName} did not settle within ${timeoutMs} ms: ${JSON.stringify(backlog)}`,
        backlog,
      );
    }
    await sleep(pollIntervalMs);
  }
}
