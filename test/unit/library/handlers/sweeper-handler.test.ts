import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';

const dynamodb = mockClient(DynamoDBDocumentClient);
mockClient(SQSClient);
mockClient(SNSClient);

type Handler = typeof import('../../../../functions/sweeper/handler').handler;
let handler: Handler;
let written: string[] = [];

beforeAll(async () => {
  vi.stubEnv('OUTBOX_TABLE_NAME', 'outbox');
  vi.stubEnv('QUEUE_URL', 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo');
  vi.stubEnv('ALERT_TOPIC_ARN', 'arn:aws:sns:us-east-1:123456789012:alerts');
  vi.stubEnv('SWEEP_AUDIT_INTERVAL_SECONDS', '0');
  vi.stubEnv('METRICS_STACK_NAME', 'Shop');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  ({ handler } = await import('../../../../functions/sweeper/handler'));
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(() => {
  vi.unstubAllEnvs();
});

beforeEach(() => {
  dynamodb.reset();
  dynamodb.on(QueryCommand).resolves({ Items: [], ConsumedCapacity: { CapacityUnits: 0.5 } });
  written = [];
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
});

/** The metric names the handler published (EMF lines on stdout). */
function publishedMetrics(): string[] {
  return written
    .filter((line) => line.includes('"_aws"'))
    .flatMap((line) => {
      const emf = JSON.parse(line) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
      return emf._aws.CloudWatchMetrics.flatMap((set) => set.Metrics.map((metric) => metric.Name));
    });
}

describe('the sweeper handler', () => {
  it("audits the outbox before sweeping, and reports the audit's figures and heartbeat", async () => {
    // GIVEN an outbox of 3 items in flight, none past the grace
    dynamodb
      .on(ScanCommand)
      .resolves({ Items: [], ScannedCount: 3, ConsumedCapacity: { CapacityUnits: 0.5 } });

    // WHEN
    const report = await handler(undefined, { getRemainingTimeInMillis: () => 60_000 });

    // THEN
    expect(report.audit).toEqual({
      audited: true,
      scanned: 12,
      marked: 0,
      readCapacityUnits: 2,
      complete: true,
    });
    const calls = dynamodb.calls().map((call) => call.args[0].constructor.name);
    expect(calls.indexOf('ScanCommand')).toBeLessThan(calls.indexOf('QueryCommand'));
    expect(publishedMetrics()).toEqual(
      expect.arrayContaining([
        'SweepCompleted',
        'OutboxAuditCompleted',
        'OutboxAuditMarked',
        'OutboxAuditScanned',
      ]),
    );
  });

  it('still sweeps when the audit fails, then fails the run without the heartbeat', async () => {
    // GIVEN an audit that may not Scan
    const denied = Object.assign(new Error('not authorized to perform dynamodb:Scan'), {
      name: 'AccessDeniedException',
    });
    dynamodb.on(ScanCommand).rejects(denied);

    // WHEN / THEN
    await expect(handler(undefined, { getRemainingTimeInMillis: () => 60_000 })).rejects.toThrow(
      'not authorized to perform dynamodb:Scan',
    );
    expect(dynamodb.commandCalls(QueryCommand).length).toBeGreaterThan(0);
    expect(publishedMetrics()).toContain('OutboxPending');
    expect(publishedMetrics()).not.toContain('SweepCompleted');
    expect(publishedMetrics()).not.toContain('OutboxAuditCompleted');
  });
});
