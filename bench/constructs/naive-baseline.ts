import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BundledFunction } from 'reliable-messaging-serverless';

/**
 * FOR BENCHMARKS ONLY: the naive design `npm run bench` measures side by side with ours — the producer writes its
 * item and then sends one SendMessage per message (no outbox), the consumer is invoked once per message and keeps
 * a Powertools-style idempotency record. Deployed only in local stacks built with unit accounting.
 */
export class NaiveBaseline extends Construct {
  public readonly queue: sqs.Queue;
  public readonly table: dynamodb.Table;
  public readonly consumer: lambda.Function;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
      visibilityTimeout: Duration.seconds(30),
    });
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.consumer = new BundledFunction(this, 'Consumer', {
      entry: fileURLToPath(new URL('../functions/naive-baseline/handler.ts', import.meta.url)),
      timeout: Duration.seconds(20),
      environment: { NAIVE_TABLE_NAME: this.table.tableName, POWERTOOLS_SERVICE_NAME: 'naive-baseline' },
    }).function;
    this.table.grantReadWriteData(this.consumer);
    this.consumer.addEventSource(new sources.SqsEventSource(this.queue, { batchSize: 1 }));
    // The baseline is what a naive design deploys; hardening it would change what the bench measures.
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'Bench-only baseline in throw-away local stacks: a failed message is retried until it expires, no DLQ',
    });
    Validations.of(this.table).acknowledge({
      id: 'AwsSolutions-DDB3',
      reason:
        'Bench-only baseline in throw-away local stacks: it holds idempotency records of benchmark runs only',
    });
  }
}
