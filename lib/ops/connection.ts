import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ConsumerGroupTarget } from './consumer-groups';
import type { CursorTableChoice } from './cursor-table';
import type { ProducerTable } from './producer-table';

/**
 * The outputs the ops commands read: the library's resources (as a stack's outputs of these names, or found by their
 * role in its template), and the optional ones some commands use.
 */
export interface OpsOutputs {
  readonly OutboxTableName: string;
  readonly InboxTableName: string;
  readonly QueueUrl: string;
  readonly DeadLetterQueueUrl: string;
  readonly AlertTopicArn: string;
  readonly RelayFailureQueueUrl?: string;
  /** The SNS FIFO topic the relay publishes to when the stack fans out to consumer groups (role `events-topic`). */
  readonly EventsTopicArn?: string;
  /** The (first group's) consumer function. */
  readonly ConsumerFunctionName?: string;
  /**
   * The table of transactional (half) messages, marked with the `transaction-table` role (`TransactionalOutbox`'s
   * `transactionTable`); absent when they live in the outbox table (see `transactionTableOf`).
   */
  readonly TransactionTableName?: string;
  /** The reference application's producer table (its aggregates: `orderId`, `version`). */
  readonly OrdersTableName?: string;
  /** The producer's table marked with the `producer-table` role. */
  readonly ProducerTableName?: string;
  /** The consumer's cursor table marked with the `cursor-table` role. */
  readonly CursorTableName?: string;
  /** The reference application's API (an emulator's API URL tells where the emulator is). */
  readonly ApiUrl?: string;
}

/** Where a stack's half messages live: its transaction table, else (a stack built without one) its outbox table. */
export function transactionTableOf(outputs: OpsOutputs): string {
  return outputs.TransactionTableName || outputs.OutboxTableName;
}

/** The configuration every SDK client of a connection gets. */
export interface ClientConfig {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** What the ops commands act on: a deployed stack's outputs and the SDK clients that reach its services. */
export interface OpsConnection {
  readonly outputs: OpsOutputs;
  /** The services' endpoint (an emulator); undefined = AWS. */
  readonly endpoint: string | undefined;
  readonly config: ClientConfig;
  readonly dynamodb: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  /** The producer's table `reconcile` compares with the outbox; undefined when the stack declares none. */
  readonly producerTable: ProducerTable | undefined;
  /** Where `reconcile` and `replay` read each key's cursor; undefined: the inbox table's cursor items. */
  readonly cursorTable: CursorTableChoice;
  /**
   * The stack's consumer groups, the first one first (its resources are also `outputs`' QueueUrl,
   * DeadLetterQueueUrl, InboxTableName). @default one, unnamed: the outputs' queue, dead-letter queue and inbox
   */
  readonly groups?: readonly ConsumerGroupTarget[];
}

/**
 * The SDK configuration for a stack's services. With an `endpoint` (an emulator): test credentials unless the
 * environment has some, region AWS_REGION or us-east-1. Without one (AWS): the SDK's defaults (credential chain;
 * `region`, else the SDK's region chain).
 */
export function clientConfig(
  endpoint: string | undefined,
  region: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): ClientConfig {
  if (endpoint === undefined) return region === undefined ? {} : { region };
  return {
    endpoint,
    region: region ?? env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: env.AWS_ACCESS_KEY_ID ?? 'test',
      secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? 'test',
    },
  };
}

/**
 * The SDK clients of a deployed stack, for the ops commands and the console. `cursorTable` @default undefined: the
 * cursors are the inbox table's. `groups` @default one unnamed group: the outputs' queue, dead-letter queue, inbox.
 */
export function connectOps(
  outputs: OpsOutputs,
  endpoint: string | undefined,
  region: string | undefined,
  producerTable: ProducerTable | undefined,
  cursorTable?: CursorTableChoice,
  groups?: readonly ConsumerGroupTarget[],
): OpsConnection & { readonly dynamodbClient: DynamoDBClient } {
  const config = clientConfig(endpoint, region);
  const dynamodbClient = new DynamoDBClient(config);
  return {
    outputs,
    endpoint,
    config,
    dynamodbClient,
    dynamodb: DynamoDBDocumentClient.from(dynamodbClient),
    sqs: new SQSClient(config),
    producerTable,
    cursorTable,
    ...(groups === undefined ? {} : { groups }),
  };
}
