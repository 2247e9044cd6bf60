// stand-in: replaced by the groups-runtime branch
import { fifoConsumerHandler } from 'reliable-messaging-serverless/runtime';

/** Consumes the group's queue with no effects (cursor only) until the real handler lands. */
export const handler = fifoConsumerHandler();
