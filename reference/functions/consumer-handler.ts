import type { SQSRecord } from 'aws-lambda';
import {
  fifoConsumerHandler,
  guardedEffectsFromEnvironment,
  requiredEnv,
} from 'reliable-messaging-serverless/runtime';
import { consumerWiring } from './consumer-wiring';
import { ProjectionService } from './projection/projection-service';

const { dynamodb, sns, hooks, accounted } = consumerWiring('orders-consumer');
const projection = new ProjectionService(dynamodb, requiredEnv('PROJECTION_TABLE_NAME'));

/**
 * The projection group's consumer: FIFO queue → order views, inventory and notifications, once per message and in
 * order per key (one strategy per effect, as the construct configures them); failures via partial batch response.
 */
export const handler = accounted(
  fifoConsumerHandler<SQSRecord>({
    dynamodb,
    sns,
    effects: guardedEffectsFromEnvironment([projection.view, projection.inventory, projection.notifications]),
    ...hooks,
  }),
);
