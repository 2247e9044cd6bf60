import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import { readOutputs } from './scripts/local/deploy';
import { connect } from './scripts/local/stack-control';
const c = connect(readOutputs(), 'http://127.0.0.1:4620');
const logs = new CloudWatchLogsClient(c.config);
const fn = c.outputs.ConsumerFunctionName;
const cfg = await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: fn }));
const group = cfg.LoggingConfig?.LogGroup ?? `/aws/lambda/${fn}`;
let nextToken: string | undefined;
const counts = new Map<string, number>();
const samples: string[] = [];
do {
  const page = await logs.send(new FilterLogEventsCommand({ logGroupName: group, startTime: Date.parse(process.env.FROM!), endTime: Date.parse(process.env.TO!), nextToken }));
  for (const e of page.events ?? []) {
    const m = e.message ?? '';
    const kind = /"message":"([^"]*)"/.exec(m)?.[1] ?? m.slice(0, 60);
    counts.set(kind, (counts.get(kind) ?? 0) + 1);
    if (!/"message":"consumed"|unit accounting/.test(m) && samples.length < 25) samples.push(new Date(e.timestamp ?? 0).toISOString() + ' ' + m.slice(0, 500));
  }
  nextToken = page.nextToken;
} while (nextToken);
console.log(counts);
for (const s of samples) console.log(s);
