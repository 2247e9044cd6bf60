import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import type { Connection } from '../local/stack-control';

/** One structured (JSON) log line of a function, with the time CloudWatch Logs recorded for it. */
export interface LogRecord {
  readonly timestamp: number;
  readonly fields: Record<string, unknown>;
}

/** The structured log lines a function wrote between `start` and `end` (epoch ms). */
export async function functionLogs(
  c: Connection,
  functionName: string,
  start: number,
  end: number,
): Promise<LogRecord[]> {
  const config = await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  const logGroupName = config.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`;
  const logs = new CloudWatchLogsClient(c.config);
  const records: LogRecord[] = [];
  let nextToken: string | undefined;
  do {
    const page = await logs.send(
      new FilterLogEventsCommand({ logGroupName, startTime: start, endTime: end, nextToken, limit: 10_000 }),
    );
    for (const event of page.events ?? []) {
      const text = (event.message ?? '').trim();
      const brace = text.indexOf('{');
      if (brace < 0) continue;
      try {
        const fields = JSON.parse(text.slice(brace)) as Record<string, unknown>;
        const at =
          typeof fields.timestamp === 'string' ? Date.parse(fields.timestamp) : (event.timestamp ?? 0);
        records.push({ timestamp: Number.isNaN(at) ? (event.timestamp ?? 0) : at, fields });
      } catch {
        // not a structured line
      }
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return records;
}
