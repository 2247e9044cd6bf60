import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import {
  BundledFunction,
  DurableTable,
  FifoChannel,
  IdempotentConsumer,
  OutboxRelay,
  TransactionalOutbox,
} from 'reliable-messaging-serverless';
import { Env } from 'reliable-messaging-serverless/runtime';

/** The lean consumer's event source mapping (the library's defaults, named so the raw consumer probe matches them). */
export const LEAN_CONSUMER_BATCH_SIZE = 10;
export const LEAN_CONSUMER_MAX_CONCURRENCY = 10;

export interface LeanBenchPipelineProps {
  readonly encryptionKey: kms.IKey;
  readonly alertTopic: sns.ITopic;
}

/**
 * FOR BENCHMARKS ONLY: the library in its leanest configuration, measured by `npm run bench` against the floor.
 * Its own outbox, relay, FIFO queue and consumer; the consumer has one effect, a per-key view that carries the
 * key's cursor (`cursor` + `cursorEffect`), so a message costs one conditional write there. The producer is the
 * bench itself (standing for an API function): one transaction of a business item and the outbox message.
 * Deployed only in local stacks built with unit accounting; every resource is removable.
 */
export class LeanBenchPipeline extends Construct {
  public readonly outbox: TransactionalOutbox;
  public readonly channel: FifoChannel;
  public readonly relay: OutboxRelay;
  public readonly consumer: IdempotentConsumer;
  public readonly consumerFunction: lambda.Function;
  /** The producer's business items (one per key, versioned). */
  public readonly businessTable: dynamodb.Table;
  /** The consumer's view: one item per key, which is also the key's cursor. */
  public readonly viewTable: dynamodb.Table;

  constructor(scope: Construct, id: string, props: LeanBenchPipelineProps) {
    super(scope, id);
    const throwAway = {
      removalPolicy: RemovalPolicy.DESTROY,
      deletionProtection: false,
      pointInTimeRecovery: false,
    };
    const table = (tableId: string, partitionKey: string) =>
      new DurableTable(this, tableId, {
        ...throwAway,
        partitionKey: { name: partitionKey, type: dynamodb.AttributeType.STRING },
        encryptionKey: props.encryptionKey,
      }).table;
    this.businessTable = table('Business', 'pk');
    this.viewTable = table('View', 'pk');
    this.outbox = new TransactionalOutbox(this, 'Outbox', {
      ...throwAway,
      encryptionKey: props.encryptionKey,
    });
    this.channel = new FifoChannel(this, 'Channel', {
      encryptionKey: props.encryptionKey,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.relay = new OutboxRelay(this, 'Relay', { outbox: this.outbox, channel: this.channel });
    this.consumerFunction = new BundledFunction(this, 'Consumer', {
      entry: fileURLToPath(new URL('../functions/lean-consumer/handler.ts', import.meta.url)),
      timeout: Duration.seconds(30),
      environment: { VIEW_TABLE_NAME: this.viewTable.tableName, POWERTOOLS_SERVICE_NAME: 'lean-consumer' },
    }).function;
    this.viewTable.grantReadWriteData(this.consumerFunction);
    this.consumer = new IdempotentConsumer(this, 'Idempotency', {
      ...throwAway,
      queue: this.channel.queue,
      handler: this.consumerFunction,
      encryptionKey: props.encryptionKey,
      alertTopic: props.alertTopic,
      strategy: 'version',
      batchSize: LEAN_CONSUMER_BATCH_SIZE,
      maxConcurrency: LEAN_CONSUMER_MAX_CONCURRENCY,
    });
    for (const fn of [this.relay.function, this.consumerFunction])
      fn.addEnvironment(Env.UNIT_ACCOUNTING, 'true');
  }
}
