import { z } from 'zod';

/**
 * The faults a test stack can inject (design.md, "Fault injection"). Rates are probabilities from 0 to 1,
 * drawn per call, per record or per entry as each fault says. Everything is off when absent.
 */
function buildFaultConfigSchema() {
  return z.strictObject({
    /** Relay: per invocation, crash after SendMessageBatch succeeded and before the sent messages are deleted. */
    relayCrashAfterSend: z.number().min(0).max(1).optional(),
    /** Relay and sweeper: per entry, SQS reports the entry in `Failed[]` (it is not sent). */
    sendFailureRate: z.number().min(0).max(1).optional(),
    /** Relay and sweeper: every send fails as if the queue were unreachable. */
    queueUnreachable: z.boolean().optional(),
    /** Relay: per stream record, the record is dropped unprocessed (only the sweeper can deliver it). */
    relaySkipRecord: z.number().min(0).max(1).optional(),
    /** Relay: per sent message, a second copy goes out under another deduplication id (a late redelivery). */
    duplicateDelivery: z.number().min(0).max(1).optional(),
    /** Relay: per pair of consecutive messages of one key in a batch, the later one is sent first. */
    reorderDelivery: z.number().min(0).max(1).optional(),
    /** Consumer: per record, crash after the effect was committed and before the record is acknowledged. */
    consumerCrashAfterEffect: z.number().min(0).max(1).optional(),
    /** Consumer: every message of this key fails (a poison message). */
    poisonKey: z.string().min(1).optional(),
    /** Consumer: with `poisonKey`, only the consumers of this consumer group (`CONSUMER_GROUP`) fail its messages. */
    poisonGroup: z.string().min(1).optional(),
    /** Producer of a half message: per payment, crash after prepare, before the local step. */
    producerCrashBeforeLocalStep: z.number().min(0).max(1).optional(),
    /** Producer of a half message: per payment, crash after the local step, before commit. */
    producerCrashBeforeCommit: z.number().min(0).max(1).optional(),
    /** The reference checker answers UNKNOWN to every check. */
    checkerAlwaysUnknown: z.boolean().optional(),
    /** Every function: per DynamoDB or SQS request, the service answers ThrottlingException (the SDK retries it). */
    throttleRate: z.number().min(0).max(1).optional(),
    /**
     * Relay, sweeper, consumer and API: per TransactWriteItems attempt, DynamoDB cancels the transaction for a conflict with another
     * one (`TransactionCanceledException`, reason `TransactionConflict`; the SDK does not retry it).
     */
    transactionConflictRate: z.number().min(0).max(1).optional(),
    /** Relay, sweeper, consumer and API: per DynamoDB or SQS request, every attempt answers 500 (the SDK gives up). */
    serviceErrorRate: z.number().min(0).max(1).optional(),
    /** Relay, sweeper, consumer and API: per DynamoDB or SQS request, every attempt is throttled (the SDK gives up). */
    throttleBurstRate: z.number().min(0).max(1).optional(),
    /** Producer (orders API): per TransactWriteItems, the transaction commits, then the call fails as if timed out. */
    ambiguousCommitRate: z.number().min(0).max(1).optional(),
    /**
     * Every function: per attempt of a DynamoDB write (PutItem, UpdateItem, DeleteItem, TransactWriteItems,
     * BatchWriteItem), the write is applied, then the answer is lost (a 500 or a timeout) below the SDK's retries.
     */
    ambiguousWriteRate: z.number().min(0).max(1).optional(),
    /** Producer of a half message: the local step starts this many milliseconds late (longer than the prepare timeout). */
    slowLocalStepMs: z.number().int().min(0).max(900_000).optional(),
  });
}

let schema: ReturnType<typeof buildFaultConfigSchema> | undefined;

/**
 * The schema of a fault configuration (zod), built on first use: a production bundle, whose fault code is never
 * reached, then carries no schema library.
 */
export function faultConfigSchema(): ReturnType<typeof buildFaultConfigSchema> {
  schema ??= buildFaultConfigSchema();
  return schema;
}

export type FaultConfig = z.infer<ReturnType<typeof faultConfigSchema>>;

/** Throws a clear error for a configuration that is not a FaultConfig. */
export function parseFaultConfig(text: string): FaultConfig {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`fault configuration is not JSON: ${(error as Error).message}`);
  }
  const result = faultConfigSchema().safeParse(json);
  if (!result.success) {
    throw new Error(
      `fault configuration is invalid: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  return result.data;
}
