import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { CheckResult, TransactionCheckRequest } from './half-message';

/** What the checker tells before it turns a failed check into UNKNOWN (the check-back logs it). */
export interface CheckerProblem {
  readonly transactionId: string;
  readonly functionName: string;
  /** What went wrong, e.g. 'invoke failed' or 'checker function failed'. */
  readonly problem: string;
  /** The invoke's error, with its `cause`; or, for a function error, its type and message. */
  readonly error: unknown;
}

/**
 * A checker that invokes the producer's checker function (synchronously) and reads `{ "status": … }` from its
 * answer. A function error, an answer that is not COMMIT or ROLLBACK, or no answer within the client's request
 * timeout all count as UNKNOWN; an invoke error or a function error is first told to `onProblem` (with the error
 * and its cause), so that an UNKNOWN caused by, say, a missing permission is visible in the logs.
 */
export function lambdaChecker(
  lambda: LambdaClient,
  functionName: string,
  onProblem: (problem: CheckerProblem) => void = () => {},
) {
  return async (request: TransactionCheckRequest): Promise<CheckResult> => {
    const tell = (problem: string, error: unknown) =>
      onProblem({ transactionId: request.transactionId, functionName, problem, error });
    try {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
      if (response.FunctionError !== undefined) {
        tell('checker function failed', functionError(response.FunctionError, response.Payload));
        return 'UNKNOWN';
      }
      if (response.Payload === undefined) return 'UNKNOWN';
      const answer = JSON.parse(new TextDecoder().decode(response.Payload)) as { status?: unknown };
      return answer.status === 'COMMIT' || answer.status === 'ROLLBACK' ? answer.status : 'UNKNOWN';
    } catch (error) {
      tell('invoke failed', error);
      return 'UNKNOWN';
    }
  };
}

/** A failed function's answer: Lambda's `{ errorType, errorMessage }`, or its raw text when it is not that. */
function functionError(kind: string, payload: Uint8Array | undefined): Record<string, unknown> {
  const text = payload === undefined ? '' : new TextDecoder().decode(payload);
  try {
    const parsed = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
    return { functionError: kind, errorType: parsed.errorType, errorMessage: parsed.errorMessage };
  } catch {
    return { functionError: kind, payload: text.slice(0, 1000) };
  }
}
