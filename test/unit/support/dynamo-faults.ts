import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import type { CallKind, InMemoryDynamoDb } from '../../../tools/dynamodb/in-memory-dynamodb';

/** DynamoDB's throttling error, as the SDK throws it. */
export function throttled(): ProvisionedThroughputExceededException {
  return new ProvisionedThroughputExceededException({ message: 'slow down', $metadata: {} });
}

/**
 * GIVEN every call of `kind` fails, before it reads or writes, with `error` (or a new error from it each time, when
 * it is a function such as {@link throttled}).
 */
export function failEvery(db: InMemoryDynamoDb, kind: CallKind, error: Error | (() => Error)): void {
  db.before(
    kind,
    () => true,
    () => {
      throw typeof error === 'function' ? error() : error;
    },
  );
}

/** GIVEN `action` runs before every call of `kind` (a concurrent writer's step, a pause). */
export function beforeEvery(db: InMemoryDynamoDb, kind: CallKind, action: () => Promise<void> | void): void {
  db.before(kind, () => true, action);
}
