import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handlerUnderTest } from '../support/handler-harness';

const dynamodb = mockClient(DynamoDBDocumentClient);
mockClient(SQSClient);
mockClient(SNSClient);

const sweeper = handlerUnderTest(() => import('../../../../functions/sweeper/handler'), {
  OUTBOX_TABLE_NAME: 'outbox',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/channel.fifo',
  ALERT_TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:alerts',
  SWEEP_AUDIT_INTERVAL_SECONDS: '0',
  METRICS_STACK_NAME: 'Shop',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
});

beforeEach(() => {
  dynamodb.reset();
  dynamodb.on(QueryCommand).resolves({ Items: [], ConsumedCapacity: { CapacityUnits: 0.5 } });
});

/** The metric names the handler published (EMF lines on stdout). */
const publishedMetrics = () => sweeper.publishedMetrics();

describe('the sweeper handler', () => {
  it("audits the outbox before sweeping, and reports the audit's figures and heartbeat", async () => {
    // GIVEN an outbox of 3 items in flight, none past the grace
    dynamodb
      .on(ScanCommand)
      .resolves({ Items: [], ScannedCount: 3, ConsumedCapacity: { CapacityUnits: 0.5 } });

    // WHEN
    const report = await sweeper.handler(undefined, { getRemainingTimeInMillis: () => 60_000 });

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
    await expect(sweeper.handler(undefined, { getRemainingTimeInMillis: () => 60_000 })).rejects.toThrow(
      'not authorized to perform dynamodb:Scan',
    );
    expect(dynamodb.commandCalls(QueryCommand).length).toBeGreaterThan(0);
    expect(publishedMetrics()).toContain('OutboxPending');
    expect(publishedMetrics()).not.toContain('SweepCompleted');
    expect(publishedMetrics()).not.toContain('OutboxAuditCompleted');
  });
});
