import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { chance, type FaultSource } from './fault-injector';

/** The DynamoDB requests that write: each may land and then lose its answer. */
export const DYNAMODB_WRITE_COMMANDS: ReadonlySet<string> = new Set([
  'PutItemCommand',
  'UpdateItemCommand',
  'DeleteItemCommand',
  'TransactWriteItemsCommand',
  'BatchWriteItemCommand',
]);

/** What DynamoDB answers when it fails on its side after the write was applied: a 500 the SDK retries. */
function serverErrorAfterTheWrite(): Error {
  return Object.assign(
    new Error('We encountered an internal error. Please try again. (injected fault: the write was applied)'),
    { name: 'InternalServerError', $fault: 'server', $metadata: { httpStatusCode: 500 } },
  );
}

/** What the SDK's HTTP handler raises when the answer did not come in time: a timeout the SDK retries. */
function timeoutAfterTheWrite(): Error {
  return Object.assign(new Error('Connection timed out (injected fault: the write was applied)'), {
    name: 'TimeoutError',
    $metadata: {},
  });
}

/**
 * `ambiguousWriteRate`: per attempt of a DynamoDB write (PutItem, UpdateItem, DeleteItem, TransactWriteItems,
 * BatchWriteItem), the write is applied, then its answer is lost — the caller gets a 500 InternalServerError or a
 * TimeoutError, one or the other at even odds. Added below the SDK's retry middleware (like the other service
 * faults): the SDK retries the error as it would on AWS, so its retry meets the first attempt's effect (a conditional
 * put then fails against itself); if every attempt is drawn, the caller sees the last one's error. A write that
 * fails on its own (a failed condition) fails as it would: only an applied write loses its answer.
 */
export function injectAmbiguousWrites(
  client: DynamoDBClient,
  faults: FaultSource,
  random: () => number = Math.random,
): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!DYNAMODB_WRITE_COMMANDS.has(String(context.commandName))) return next(args);
      if (!chance((await faults.current()).ambiguousWriteRate, random)) return next(args);
      await next(args);
      throw random() < 0.5 ? serverErrorAfterTheWrite() : timeoutAfterTheWrite();
    },
    { step: 'finalizeRequest', priority: 'low', name: 'faultInjectionAmbiguousWrites' },
  );
}
