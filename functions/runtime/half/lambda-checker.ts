import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { CheckResult, TransactionCheckRequest } from './half-message';

/**
 * A checker that invokes the producer's checker function (synchronously) and reads `{ "status": … }` from its
 * answer. A function error, an answer that is not COMMIT or ROLLBACK, or no answer within the client's request
 * timeout all count as UNKNOWN.
 */
export function lambdaChecker(lambda: LambdaClient, functionName: string) {
  return async (request: TransactionCheckRequest): Promise<CheckResult> => {
    try {
      const response = await lambda.send(
        new InvokeCommand({
          FunctionName: functionName,
          Payload: new TextEncoder().encode(JSON.stringify(request)),
        }),
      );
      if (response.FunctionError !== undefined || response.Payload === undefined) return 'UNKNOWN';
      const answer = JSON.parse(new TextDecoder().decode(response.Payload)) as { status?: unknown };
      return answer.status === 'COMMIT' || answer.status === 'ROLLBACK' ? answer.status : 'UNKNOWN';
    } catch {
      return 'UNKNOWN';
    }
  };
}
