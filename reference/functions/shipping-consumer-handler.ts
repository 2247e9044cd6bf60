import type { SQSRecord } from 'aws-lambda';
import { fifoConsumerHandler, requiredEnv } from 'reliable-messaging-serverless/runtime';
import { consumerWiring } from './consumer-wiring';
import { ShippingService } from './shipping/shipping-service';

const { dynamodb, sns, hooks, accounted } = consumerWiring('shipping-consumer');
const shipping = new ShippingService(dynamodb, requiredEnv('SHIPPING_TABLE_NAME'));

/**
 * The shipping group's consumer, in the lean configuration: each order's shipping item is its cursor, and the
 * status and count ride on the cursor's write (one conditional write per message, no read). It applies the types
 * the construct's `messageTypes` set (`CONSUMER_MESSAGE_TYPES`: OrderPlaced, PaymentCaptured, OrderCancelled) and
 * skips the others, moving the cursor only.
 */
export const handler = accounted(
  fifoConsumerHandler<SQSRecord>({
    dynamodb,
    sns,
    cursor: shipping.cursor,
    cursorEffect: shipping.status,
    ...hooks,
  }),
);
