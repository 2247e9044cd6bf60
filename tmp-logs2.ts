import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { readOutputs } from './scripts/local/deploy';
import { connect } from './scripts/local/stack-control';
const c = connect(readOutputs(), 'http://127.0.0.1:4620');
const logs = new CloudWatchLogsClient(c.config);
const ids = process.argv.slice(2);
for (const fn of [c.outputs.ConsumerFunctionName, c.outputs.SweeperFunctionName, c.outputs.RelayFunctionName]) {
  const cfg = await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
  const group = cfg.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn}`;
  for (const id of ids) {
    let nextToken: string | undefined;
    let n = 0;
    do {
      const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: `"${id}"`, startTime: Date.parse(process.env.FROM ?? '2026-12-02T05:56:00Z'), nextToken }));
      for (const e of page.events ?? []) { n++; console.log(fn.slice(21, 35), new Date(e.timestamp ?? 0).toISOString(), (e.message ?? '').replace(/"sampling_rate.*?"messageId"/, '').slice(0, 420)); }
      nextToken = page.nextToken;
    } while (nextToken);
    console.log(`-- ${fn.slice(21,35)} ${id}: ${n}`);
  }
}
