import type { SQSRecord } from 'aws-lambda';
import {
  fifoConsumerHandler,
  guardedEffectsFromEnvironment,
  requiredEnv,
} from 'reliable-messaging-serverless/runtime';
import { AuditService } from './audit/audit-service';
import { consumerWiring } from './consumer-wiring';

const { dynamodb, sns, hooks, accounted } = consumerWiring('audit-consumer');
const audit = new AuditService(dynamodb, requiredEnv('AUDIT_TABLE_NAME'));

/**
 * The audit group's consumer: every message of every order, once and in order, appended to the order's audit trail
 * (positions 1, 2, 3, …) under the `transaction` strategy the construct configures; its cursors are in its inbox.
 */
export const handler = accounted(
  fifoConsumerHandler<SQSRecord>({
    dynamodb,
    sns,
    effects: guardedEffectsFromEnvironment([audit.entry]),
    ...hooks,
  }),
);
