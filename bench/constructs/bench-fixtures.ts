import { CfnOutput, type Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { ApiCeilingProbe } from './api-ceiling-probe';
import {
  LEAN_CONSUMER_BATCH_SIZE,
  LEAN_CONSUMER_MAX_CONCURRENCY,
  LeanBenchPipeline,
} from './lean-bench-pipeline';
import { NaiveBaseline } from './naive-baseline';
import { RawConsumerProbe } from './raw-consumer-probe';

export interface BenchFixturesProps {
  /** The orders API's HTTP API: the ceiling probe gets a route on the same gateway. */
  readonly api: apigwv2.HttpApi;
  /** The stack's data key: the lean pipeline's tables and queues are encrypted with it. */
  readonly encryptionKey: kms.IKey;
  /** The stack's alert topic: the lean pipeline's alerts go there. */
  readonly alertTopic: sns.ITopic;
}

/**
 * FOR BENCHMARKS ONLY: what `npm run bench` measures besides the reference application — the API ceiling probe, the
 * naive baseline, the lean pipeline and the raw consumer probe — added to `stack` with the outputs the bench reads (`ApiCeilingFunctionName`,
 * `Naive…`, `Lean…`, `RawConsumer…`). The CDK app adds them to a stack built with unit accounting (a local stack); the reference
 * stack itself knows nothing of the bench.
 */
export function addBenchFixtures(stack: Stack, props: BenchFixturesProps): void {
  const ceiling = new ApiCeilingProbe(stack, 'ApiCeilingProbe', { api: props.api });
  new CfnOutput(stack, 'ApiCeilingFunctionName', { value: ceiling.function.functionName });
  const naive = new NaiveBaseline(stack, 'NaiveBaseline');
  new CfnOutput(stack, 'NaiveQueueUrl', { value: naive.queue.queueUrl });
  new CfnOutput(stack, 'NaiveTableName', { value: naive.table.tableName });
  new CfnOutput(stack, 'NaiveConsumerFunctionName', { value: naive.consumer.functionName });
  const lean = new LeanBenchPipeline(stack, 'LeanBenchPipeline', {
    encryptionKey: props.encryptionKey,
    alertTopic: props.alertTopic,
  });
  new CfnOutput(stack, 'LeanOutboxTableName', { value: lean.outbox.table.tableName });
  new CfnOutput(stack, 'LeanBusinessTableName', { value: lean.businessTable.tableName });
  new CfnOutput(stack, 'LeanViewTableName', { value: lean.viewTable.tableName });
  new CfnOutput(stack, 'LeanRelayFunctionName', { value: lean.relay.function.functionName });
  new CfnOutput(stack, 'LeanConsumerFunctionName', { value: lean.consumerFunction.functionName });
  const rawConsumer = new RawConsumerProbe(stack, 'RawConsumerProbe', {
    batchSize: LEAN_CONSUMER_BATCH_SIZE,
    maxConcurrency: LEAN_CONSUMER_MAX_CONCURRENCY,
  });
  new CfnOutput(stack, 'RawConsumerQueueUrl', { value: rawConsumer.queue.queueUrl });
  new CfnOutput(stack, 'RawConsumerFunctionName', { value: rawConsumer.function.functionName });
}
