import type { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { UnitAccountant } from 'reliable-messaging-serverless/runtime';

export type ConsumerHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/**
 * A consumer handler that, in a stack built with unit accounting (`npm run bench`), logs per invocation the requests
 * and capacity units it used; without an accountant it is the handler itself.
 */
export function unitAccounted(
  handler: ConsumerHandler,
  accountant: UnitAccountant | undefined,
  logger: Logger,
): ConsumerHandler {
  if (accountant === undefined) return handler;
  return async (event, context) => {
    const response = await handler(event, context);
    // The queue's ReceiveMessage and DeleteMessageBatch are made by the Lambda service: one each per invocation.
    logger.info('unit accounting', { unitAccounting: accountant.take(), records: event.Records.length });
    return response;
  };
}
