import { type DynamoDBClient, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type PublishBatchCommandInput,
  type PublishBatchCommandOutput,
  SNSClient,
} from '@aws-sdk/client-sns';
import type {
  SendMessageBatchCommandInput,
  SendMessageBatchCommandOutput,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { chance, type FaultSource } from './fault-injector';

/** What a throttled AWS request fails with; the SDK's retry strategy classifies it as throttling and retries. */
function throttlingError(): Error {
  return Object.assign(new Error('Rate exceeded (injected fault)'), {
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
  });
}

/** What a service failing on its side answers (a 5xx): the SDK's retry strategy retries it. */
function serviceError(): Error {
  return Object.assign(new Error('We encountered an internal error. Please try again. (injected fault)'), {
    name: 'InternalServerError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
}

/**
 * What DynamoDB answers when another transaction touched one of the items at the same time: one reason per item,
 * `TransactionConflict` for one of them and `None` for the rest. A client error: the SDK does not retry it.
 */
function transactionConflict(items: number, random: () => number): TransactionCanceledException {
  const conflicting = Math.floor(random() * items);
  const reasons = Array.from({ length: Math.max(1, items) }, (_, index) =>
    index === conflicting
      ? { Code: 'TransactionConflict', Message: 'Transaction is ongoing for the item (injected fault)' }
      : { Code: 'None' },
  );
  return new TransactionCanceledException({
    message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`,
    $metadata: { httpStatusCode: 400 },
    CancellationReasons: reasons,
  });
}

/** A client the fault kit injects into: the relay's and sweeper's DynamoDB, and their queue's or topic's. */
export type FaultableClient = SQSClient | SNSClient | DynamoDBClient;

/** Named as it always was (`QueueUnreachableError`): tools and tests look for the name, whatever the destination. */
function unreachableError(what: 'queue' | 'topic'): Error {
  return Object.assign(new Error(`connect ECONNREFUSED: the ${what} is unreachable (injected fault)`), {
    name: 'QueueUnreachableError',
    $metadata: {},
  });
}

/**
 * Injects throttling into every request of a client, below the SDK's retry middleware, so the SDK retries
 * it as it would a real ThrottlingException.
 */
export function injectThrottling(client: FaultableClient, faults: FaultSource): void {
  // The clients' stacks accept the same middleware shape; add it to each through a common signature.
  const stack = client.middlewareStack as SQSClient['middlewareStack'];
  stack.add(
    (next) => async (args) => {
      if (chance((await faults.current()).throttleRate)) throw throttlingError();
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'faultInjectionThrottling' },
  );
}

/**
 * Injects the failures of a service under contention into every request of a client, below the SDK's retry
 * middleware, so the SDK handles each as it would on AWS:
 * - `transactionConflictRate`: per TransactWriteItems attempt, a `TransactionConflict` cancellation (not retried by
 *   the SDK: the caller sees it);
 * - `serviceErrorRate` / `throttleBurstRate`: drawn once per request, then EVERY attempt of that request answers
 *   500 InternalServerError / ThrottlingException: the SDK retries with its backoff, gives up, and the caller sees
 *   the error. (Nothing is written: the request never reaches the service.)
 */
export function injectServiceFaults(
  client: FaultableClient,
  faults: FaultSource,
  random: () => number = Math.random,
): void {
  const stack = client.middlewareStack as SQSClient['middlewareStack'];
  stack.add(
    (next, context) => {
      // One middleware instance per request: what is drawn here holds for all of its attempts.
      let outage: (() => Error) | null | undefined;
      return async (args) => {
        const config = await faults.current();
        if (outage === undefined) {
          if (chance(config.serviceErrorRate, random)) outage = serviceError;
          else if (chance(config.throttleBurstRate, random)) outage = throttlingError;
          else outage = null;
        }
        if (outage !== null) throw outage();
        if (
          context.commandName === 'TransactWriteItemsCommand' &&
          chance(config.transactionConflictRate, random)
        ) {
          const { TransactItems } = args.input as { TransactItems?: readonly unknown[] };
          throw transactionConflict(TransactItems?.length ?? 1, random);
        }
        return next(args);
      };
    },
    { step: 'finalizeRequest', priority: 'low', name: 'faultInjectionServiceFailures' },
  );
}

/**
 * Injects send faults into the SQS client of a queue or the SNS client of a topic the relay sends to:
 * `queueUnreachable` fails every send (SendMessageBatch and SendMessage, PublishBatch and Publish),
 * `sendFailureRate` takes entries out of a SendMessageBatch or PublishBatch and reports them in `Failed[]` (they are
 * not sent). Give the sweeper's alerts a client of their own: a Publish through this one fails as a send.
 */
export function injectSendFaults(client: SQSClient | SNSClient, faults: FaultSource): void {
  if (client instanceof SNSClient) injectTopicSendFaults(client, faults);
  else injectQueueSendFaults(client, faults);
}

function injectQueueSendFaults(client: SQSClient, faults: FaultSource): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName;
      if (command !== 'SendMessageBatchCommand' && command !== 'SendMessageCommand') return next(args);
      const config = await faults.current();
      if (config.queueUnreachable) throw unreachableError('queue');
      if (command !== 'SendMessageBatchCommand' || !config.sendFailureRate) return next(args);

      const input = args.input as SendMessageBatchCommandInput;
      const { kept, injected } = failSome(input.Entries ?? [], config.sendFailureRate);
      if (kept.length === 0) {
        const output: SendMessageBatchCommandOutput = { Successful: [], Failed: injected, $metadata: {} };
        return { output, response: {} };
      }
      const result = await next({ ...args, input: { ...input, Entries: kept } });
      const output = result.output as SendMessageBatchCommandOutput;
      const merged: SendMessageBatchCommandOutput = {
        ...output,
        Failed: [...(output.Failed ?? []), ...injected],
      };
      return { ...result, output: merged };
    },
    { step: 'initialize', name: 'faultInjectionSend' },
  );
}

function injectTopicSendFaults(client: SNSClient, faults: FaultSource): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = context.commandName;
      if (command !== 'PublishBatchCommand' && command !== 'PublishCommand') return next(args);
      const config = await faults.current();
      if (config.queueUnreachable) throw unreachableError('topic');
      if (command !== 'PublishBatchCommand' || !config.sendFailureRate) return next(args);

      const input = args.input as PublishBatchCommandInput;
      const { kept, injected } = failSome(input.PublishBatchRequestEntries ?? [], config.sendFailureRate);
      if (kept.length === 0) {
        const output: PublishBatchCommandOutput = { Successful: [], Failed: injected, $metadata: {} };
        return { output, response: {} };
      }
      const result = await next({ ...args, input: { ...input, PublishBatchRequestEntries: kept } });
      const output = result.output as PublishBatchCommandOutput;
      const merged: PublishBatchCommandOutput = {
        ...output,
        Failed: [...(output.Failed ?? []), ...injected],
      };
      return { ...result, output: merged };
    },
    { step: 'initialize', name: 'faultInjectionSend' },
  );
}

/** Draws each entry: the ones that fail (as `Failed[]` entries of the injected failure) and the ones kept. */
function failSome<T extends { readonly Id?: string }>(entries: readonly T[], rate: number) {
  const failed = entries.filter(() => chance(rate));
  return {
    kept: entries.filter((entry) => !failed.includes(entry)),
    injected: failed.map((entry) => ({
      Id: entry.Id,
      Code: 'InjectedFailure',
      SenderFault: false,
      Message: 'entry failed (injected fault)',
    })),
  };
}

/** What a producer sees when its request timed out: the SDK's error for an aborted request. */
function timedOutError(): Error {
  return Object.assign(new Error('request timed out after the transaction was sent (injected fault)'), {
    name: 'TimeoutError',
    $metadata: {},
  });
}

/**
 * `ambiguousCommitRate`: per TransactWriteItems, the transaction commits and then the caller gets a timeout, as if
 * the answer had been lost. Added above the SDK's retry middleware, so the caller sees it as the SDK's last word.
 */
export function injectAmbiguousCommits(client: DynamoDBClient, faults: FaultSource): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName !== 'TransactWriteItemsCommand') return result;
      if (chance((await faults.current()).ambiguousCommitRate)) throw timedOutError();
      return result;
    },
    { step: 'initialize', name: 'faultInjectionAmbiguousCommit' },
  );
}
