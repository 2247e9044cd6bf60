import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type DeployedStack, emulatorClientConfig, findResource } from './deployed-stack';

/** The function answered with an error (`FunctionError`): its error payload, as the function reported it. */
export class FunctionInvocationError extends Error {
  constructor(
    message: string,
    /** What the function returned: Lambda's `{ errorType, errorMessage, … }`, parsed. */
    readonly payload: unknown,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'FunctionInvocationError';
  }
}

const decoder = new TextDecoder();

function parsed(bytes: Uint8Array | undefined): unknown {
  const text = bytes === undefined ? '' : decoder.decode(bytes);
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Invokes the Lambda function the construct `constructId` defines in `stack` (see {@link findResource}) with `event`,
 * synchronously, and resolves to what it returned (parsed JSON). Throws {@link FunctionInvocationError} when the
 * function failed.
 */
export async function invokeFunction(
  stack: DeployedStack,
  constructId: string,
  event: unknown,
): Promise<unknown> {
  const fn = findResource(stack, constructId, 'AWS::Lambda::Function');
  const lambda = new LambdaClient(emulatorClientConfig(stack));
  try {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: fn.physicalId,
        Payload: new TextEncoder().encode(JSON.stringify(event)),
      }),
    );
    const result = parsed(response.Payload);
    if (response.FunctionError !== undefined) {
      const reported = result as { errorType?: unknown; errorMessage?: unknown } | undefined;
      throw new FunctionInvocationError(
        `${constructId} (${fn.physicalId}) failed: ${String(reported?.errorType ?? response.FunctionError)}: ` +
          String(reported?.errorMessage ?? JSON.stringify(result)),
        result,
      );
    }
    return result;
  } finally {
    lambda.destroy();
  }
}
