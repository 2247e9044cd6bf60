import { Logger } from '@aws-lambda-powertools/logger';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { documentClient } from '../runtime/clients';
import { processFifoBatch } from '../runtime/consumer/fifo-batch';
import { IdempotentOrderedConsumer } from '../runtime/consumer/idempotent-ordered-consumer';
import { requiredEnv } from '../runtime/errors';
import { failIfPoison, maybeCrashAfterEffect } from '../runtime/faults/consumer-faults';
import { type FaultSource, faultSourceFromEnvironment } from '../runtime/faults/fault-injector';
import { injectThrottling } from '../runtime/faults/service-faults';
import { parseEnvelope } from '../runtime/outbox/outbox-message';
import { ProjectionService } from './projection/projection-service';

const logger = new Logger({ serviceName: 'orders-consumer' });
const dynamodbClient = new DynamoDBClient({});
// Fault injection exists only in test builds (see the relay's handler).
let faults: FaultSource | undefined;
if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED) {
  faults = faultSourceFromEnvironment();
  injectThrottling(dynamodbClient, faults);
}
const dynamodb = documentClient(dynamodbClient);
const consumer = new IdempotentOrderedConsumer({
  dynamodb,
  inboxTableName: requiredEnv('INBOX_TABLE_NAME'),
  retentionSeconds: Number(requiredEnv('INBOX_RETENTION_SECONDS')),
  claimSeconds: Number(requiredEnv('INBOX_CLAIM_SECONDS')),
});
const projection = new ProjectionService(dynamodb, requiredEnv('PROJECTION_TABLE_NAME'));

async function consumeRecord(record: SQSRecord): Promise<void> {
  const message = parseEnvelope(record.body);
  if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
    await failIfPoison(faults, message);
  }
  const result = await consumer.consume(message, (m) => projection.apply(m));
  logger.info('consumed', {
    messageId: message.messageId,
    groupKey: message.groupKey,
    sequence: message.sequence,
    type: message.type,
    outcome: result.outcome,
    released: result.released,
  });
  if (typeof FAULT_INJECTION_ENABLED !== 'undefined' && FAULT_INJECTION_ENABLED && faults !== undefined) {
    await maybeCrashAfterEffect(faults);
  }
}

/** FIFO queue → projection, once per messageId and in order per key; failures via partial batch response. */
export const handler = (event: SQSEvent, context: Context): Promise<SQSBatchResponse> =>
  processFifoBatch(event, consumeRecord, context);
