/**
 * The parts of an SQS event that the FIFO batch processor reads. `SQSEvent` and `SQSRecord` of `@types/aws-lambda`
 * fit these shapes, so a handler typed with them passes its event as is, and the runtime's own types need nothing
 * beyond what every user already installs.
 */
export interface FifoRecord {
  readonly messageId: string;
  readonly body: string;
  readonly attributes: { readonly MessageGroupId?: string };
}

/** An SQS event: its records, of the handler's own record type. */
export interface FifoBatchEvent<TRecord extends FifoRecord = FifoRecord> {
  readonly Records: readonly TRecord[];
}

/** A partial batch response (what `SQSBatchResponse` of `@types/aws-lambda` describes). */
export interface FifoBatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}
