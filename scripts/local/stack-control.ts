import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { type ReplayResult, replayKey } from '../../functions/runtime/consumer/key-parking';
import type { FaultConfig } from '../../functions/runtime/faults/fault-config';
import type { CheckBackReport } from '../../functions/runtime/half/open-transaction-checker';
import { TransactionalProducer } from '../../functions/runtime/half/transactional-producer';
import type { SweepReport } from '../../functions/runtime/sweeper/outbox-sweeper';
import { OrdersApiClient } from './api-client';
import type { StackOutputs } from './deploy';
import { executeApiSigner } from './sigv4';

/** The functions re-read the fault configuration at most every second. */
const FAULT_CONFIG_TTL_MS = 1000;

/** The configuration every SDK client of a connection gets. */
export interface ClientConfig {
  readonly endpoint?: string;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/**
 * SDK clients and the API client of a deployed stack (the tests', the chaos run's, the tools'). With an `endpoint`
 * (an emulator): test credentials unless the environment has some, region AWS_REGION or us-east-1. Without one
 * (AWS): the SDK's defaults (credential chain; `region`, else the SDK's region chain).
 */
export function connect(outputs: StackOutputs, endpoint: string | undefined, region?: string) {
  const config: ClientConfig =
    endpoint === undefined
      ? region === undefined
        ? {}
        : { region }
      : {
          endpoint,
          region: region ?? process.env.AWS_REGION ?? 'us-east-1',
          credentials: {
            accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'test',
            secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'test',
          },
        };
  const dynamodbClient = new DynamoDBClient(config);
  return {
    outputs,
    endpoint,
    config,
    dynamodb: DynamoDBDocumentClient.from(dynamodbClient),
    sqs: new SQSClient(config),
    ssm: new SSMClient(config),
    lambda: new LambdaClient(config),
    // On AWS the API takes SigV4-signed calls only (IAM authorization is the default): sign with the same
    // credentials and region as every other client. The emulator's ApiUrl is open (see demo-stack-configurations).
    api: new OrdersApiClient(
      outputs.ApiUrl,
      endpoint === undefined
        ? executeApiSigner(dynamodbClient.config.region, dynamodbClient.config.credentials)
        : undefined,
    ),
  };
}

export type Connection = ReturnType<typeof connect>;

/** Switches the deployed test stack's faults (`{}` = none) and waits until every function sees the change. */
export async function setFaults(c: Connection, config: FaultConfig): Promise<void> {
  const name = c.outputs.FaultsParameterName;
  if (name === undefined) {
    throw new Error('the stack was deployed without fault injection: deploy it with `npm start -- --faults`');
  }
  await c.ssm.send(
    new PutParameterCommand({ Name: name, Value: JSON.stringify(config), Type: 'String', Overwrite: true }),
  );
  await new Promise((resolve) => setTimeout(resolve, FAULT_CONFIG_TTL_MS + 300));
}

/** Runs one compensation sweep now (the schedule runs one every minute too) and returns its report. */
export async function sweepNow(c: Connection): Promise<SweepReport> {
  const response = await c.lambda.send(new InvokeCommand({ FunctionName: c.outputs.SweeperFunctionName }));
  const text = new TextDecoder().decode(response.Payload);
  if (response.FunctionError) throw new Error(`sweeper failed: ${text}`);
  return JSON.parse(text) as SweepReport;
}

/** Runs one pass of the transaction check-back now (the schedule runs it every minute too). */
export async function checkBackNow(c: Connection): Promise<CheckBackReport> {
  const response = await c.lambda.send(
    new InvokeCommand({
      FunctionName: c.outputs.CheckBackFunctionName,
      Payload: new TextEncoder().encode(JSON.stringify({ passes: 1 })),
    }),
  );
  const text = new TextDecoder().decode(response.Payload);
  if (response.FunctionError) throw new Error(`check-back failed: ${text}`);
  return (JSON.parse(text) as CheckBackReport[])[0]!;
}

/** Replays a parked key of the deployed stack (what `ops replay --key` does). */
export function replayParkedKey(c: Connection, groupKey: string): Promise<ReplayResult> {
  return replayKey(
    {
      dynamodb: c.dynamodb,
      sqs: c.sqs,
      inboxTableName: c.outputs.InboxTableName,
      queueUrl: c.outputs.QueueUrl,
    },
    groupKey,
  );
}

/** The transactional producer of the deployed stack, as an operator's tool uses it (resolve by hand). */
export function transactionalProducer(c: Connection): TransactionalProducer {
  return new TransactionalProducer({ dynamodb: c.dynamodb, outboxTableName: c.outputs.OutboxTableName });
}
