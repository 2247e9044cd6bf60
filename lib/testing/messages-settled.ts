import { type AttributeValue, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { ATTENTION_INDEX } from '../../functions/runtime/consumer/attention-index';
import { RESOURCE_ROLE_METADATA, type ResourceRole } from '../constructs/resource-roles';
import { type DeployedStack, emulatorClientConfig } from './deployed-stack';

/** What is still on its way, or stuck, in a stack's messaging pipeline: all zeros when it has settled. */
export interface PipelineBacklog {
  /**
   * Outbox messages not sent yet (in flight, PENDING or FAILED) and open transactions (PREPARED or FAILED half
   * messages): every item of the outbox table but resolved transactions' tombstones. Not the `unsent` index: a
   * message enters it only when the relay could not send it or the sweeper's audit found it.
   */
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

type ScanFilter = Pick<
  ConstructorParameters<typeof ScanCommand>[0],
  'FilterExpression' | 'ExpressionAttributeNames' | 'ExpressionAttributeValues'
>;

/**
 * What in the outbox table is not settled: everything but the tombstones of resolved transactions (COMMITTED,
 * ROLLED_BACK), which stay until they expire. Sent messages are deleted.
 */
const NOT_SETTLED: ScanFilter = {
  FilterExpression: 'NOT (#status IN (:committed, :rolledBack))',
  ExpressionAttributeNames: { '#status': 'status' },
  ExpressionAttributeValues: { ':committed': { S: 'COMMITTED' }, ':rolledBack': { S: 'ROLLED_BACK' } },
};

const physicalIdsOf = (stack: DeployedStack, role: ResourceRole) =>
  stack.resources
    .filter((resource) => resource.metadata[RESOURCE_ROLE_METADATA] === role)
    .map((resource) => resource.physicalId);

/** Items of a table (of one of its indexes, when `indexName` is given) that `filter` keeps. */
async function count(
  dynamodb: DynamoDBClient,
  tableName: string,
  options: { readonly indexName?: string; readonly filter?: ScanFilter } = {},
): Promise<number> {
  let total = 0;
  let start: Record<string, AttributeValue> | undefined;
  do {
    const page = await dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        IndexName: options.indexName,
        Select: 'COUNT',
        ExclusiveStartKey: start,
        ...options.filter,
      }),
    );
    total += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return total;
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
        physicalIdsOf(stack, 'outbox-table').map((table) => count(dynamodb, table, { filter: NOT_SETTLED })),
      ),
      Promise.all(
        physicalIdsOf(stack, 'inbox-table').map((table) =>
          count(dynamodb, table, { indexName: ATTENTION_INDEX }),
        ),
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
