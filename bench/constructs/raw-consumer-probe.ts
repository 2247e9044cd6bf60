import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sources from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BundledFunction } from 'reliable-messaging-serverless';

export interface RawConsumerProbeProps {
  /** Records per invocation: the lean pipeline consumer's, so the two are compared batch for batch. */
  readonly batchSize: number;
  /** Most concurrent invocations: the lean pipeline consumer's. */
  readonly maxConcurrency: number;
}

/**
 * FOR BENCHMARKS ONLY: a FIFO queue whose event source mapping invokes a trivial function (it accepts every record),
 * with the lean pipeline consumer's batch size and concurrency. `npm run bench` fills the queue with SendMessageBatch
 * and times the drain: the ceiling of any consumer on this machine (`rawConsumerPerSecond`) — the event source
 * mapping's polling, invoking and deleting, with no DynamoDB or library code. Deployed only in local stacks built
 * with unit accounting, like the naive baseline.
 */
export class RawConsumerProbe extends Construct {
  public readonly queue: sqs.Queue;
  public readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: RawConsumerProbeProps) {
    super(scope, id);
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      enforceSSL: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      removalPolicy: RemovalPolicy.DESTROY,
      visibilityTimeout: Duration.seconds(30),
    });
    this.function = new BundledFunction(this, 'Handler', {
      entry: fileURLToPath(new URL('../functions/raw-consumer/handler.ts', import.meta.url)),
      timeout: Duration.seconds(10),
      environment: { POWERTOOLS_SERVICE_NAME: 'raw-consumer' },
    }).function;
    this.function.addEventSource(
      new sources.SqsEventSource(this.queue, {
        batchSize: props.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: props.maxConcurrency,
      }),
    );
    Validations.of(this.queue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'Bench-only probe in throw-away local stacks: its trivial consumer never fails a record, no DLQ',
    });
  }
}
