import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { FaultConfig } from '../../functions/runtime/faults/fault-config';
import type { CheckBackReport } from '../../functions/runtime/half/open-transaction-checker';
import type { SweepReport } from '../../functions/runtime/sweeper/outbox-sweeper';
import { connectOps } from '../../lib/ops/connection';
import { producerTableFromOutputs } from '../../lib/ops/producer-table';
import { OrdersApiClient } from './api-client';
import type { StackOutputs } from './outputs';
import { executeApiSigner } from './sigv4';

/** The functions re-read the fault configuration at most every second. */
const FAULT_CONFIG_TTL_MS = 1000;

/**
 * SDK clients and the API client of a deployed stack (the tests', the chaos run's, the tools'): the ops CLI's
 * connection (lib/ops/connection.ts: endpoint, region, credentials; the reference app's orders table as the
 * producer's table), plus the clients only the repository's tools use.
 */
export function connect(outputs: StackOutputs, endpoint: string | undefined, region?: string) {
  const base = connectOps(outputs, endpoint, region, producerTableFromOutputs(outputs));
  const { dynamodbClient, ...ops } = base;
  return {
    ...ops,
    outputs,
    ssm: new SSMClient(base.config),
    lambda: new LambdaClient(base.config),
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

export { replayParkedKey, transactionalProducer } from '../../lib/ops/commands';
