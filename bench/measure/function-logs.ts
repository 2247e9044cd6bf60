import { CloudWatchLogsClient, FilterLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetFunctionConfigurationCommand } from '@aws-sdk/client-lambda';
import type { Connection } from '../../tools/stack/stack-control';
import { type BilledDuration, billedDuration } from './cost-model';

/** One structured (JSON) log line of a function, with the time CloudWatch Logs recorded for it. */
export interface LogRecord {
  readonly timestamp: number;
  readonly fields: Record<string, unknown>;
}

/** Every log line a function wrote between `start` and `end` (epoch ms), with CloudWatch Logs' timestamp. */
export async function functionLogLines(
  c: Connection,
  functionName: string,
  start: number,
  end: number,
): Promise<Array<{ readonly timestamp: number; readonly text: string }>> {
  const config = await c.lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
  const logGroupName = config.LoggingConfig?.LogGroup ?? `/aws/lambda/${functionName}`;
  const logs = new CloudWatchLogsClient(c.config);
  const lines: Array<{ timestamp: number; text: string }> = [];
  let nextToken: string | undefined;
  do {
    const page = await logs.send(
      new FilterLogEventsCommand({ logGroupName, startTime: start, endTime: end, nextToken, limit: 10_000 }),
    );
    for (const event of page.events ?? []) {
      lines.push({ timestamp: event.timestamp ?? 0, text: (event.message ?? '').trim() });
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return lines;
}

/** The structured (JSON) log lines a function wrote between `start` and `end` (epoch ms). */
export async function functionLogs(
  c: Connection,
  functionName: string,
  start: number,
  end: number,
): Promise<LogRecord[]> {
  const records: LogRecord[] = [];
  for (const line of await functionLogLines(c, functionName, start, end)) {
    const brace = line.text.indexOf('{');
    if (brace < 0) continue;
    try {
      const fields = JSON.parse(line.text.slice(brace)) as Record<string, unknown>;
      const at = typeof fields.timestamp === 'string' ? Date.parse(fields.timestamp) : line.timestamp;
      records.push({ timestamp: Number.isNaN(at) ? line.timestamp : at, fields });
    } catch {
      // not a structured line
    }
  }
  return records;
}

/** What a function's invocations between `start` and `end` were billed for (its REPORT lines). */
export async function functionBilledDuration(
  c: Connection,
  functionName: string,
  start: number,
  end: number,
): Promise<BilledDuration> {
  return billedDuration((await functionLogLines(c, functionName, start, end)).map((line) => line.text));
}
