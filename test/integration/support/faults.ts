import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import type { FaultConfig } from '../../../functions/runtime/faults/fault-config';
import type { SweepReport } from '../../../functions/runtime/sweeper/compensation-sweeper';
import type { Stack } from './aws';

/** The functions re-read the fault configuration at most every second. */
const FAULT_CONFIG_TTL_MS = 1000;

function clientConfig(s: Stack) {
  return {
    endpoint: s.endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/** Switches the deployed test stack's faults (`{}` = none) and waits until every function sees the change. */
export async function setFaults(s: Stack, config: FaultConfig): Promise<void> {
  const name = s.outputs.FaultsParameterName;
  if (name === undefined) throw new Error('the stack under test was deployed without fault injection');
  await new SSMClient(clientConfig(s)).send(
    new PutParameterCommand({ Name: name, Value: JSON.stringify(config), Type: 'String', Overwrite: true }),
  );
  await new Promise((resolve) => setTimeout(resolve, FAULT_CONFIG_TTL_MS + 300));
}

/** Runs one compensation sweep now (the schedule runs one every minute too) and returns its report. */
export async function sweepNow(s: Stack): Promise<SweepReport> {
  const response = await new LambdaClient(clientConfig(s)).send(
    new InvokeCommand({ FunctionName: s.outputs.SweeperFunctionName }),
  );
  const text = new TextDecoder().decode(response.Payload);
  if (response.FunctionError) throw new Error(`sweeper failed: ${text}`);
  return JSON.parse(text) as SweepReport;
}
