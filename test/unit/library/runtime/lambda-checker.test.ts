import { InvokeCommand, type InvokeCommandOutput, LambdaClient } from '@aws-sdk/client-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import type { CheckResult, TransactionCheckRequest } from '../../../../functions/runtime/half/half-message';
import { type CheckerProblem, lambdaChecker } from '../../../../functions/runtime/half/lambda-checker';

const CHECKER_FUNCTION = 'payment-checker';

const lambda = mockClient(LambdaClient);

const REQUEST: TransactionCheckRequest = {
  transactionId: 'tx-1',
  groupKey: 'order-1',
  type: 'PaymentCaptured',
  payload: { orderId: 'order-1', transactionId: 'tx-1', amount: 42 },
  messageId: '01890a5d-ac96-774b-bcce-b302099a8057',
  checkCount: 2,
  preparedAt: '2026-03-01T12:00:00.000Z',
};

/** A function's answer, as the SDK hands it over (bytes that can also turn themselves into a string). */
function payload(text: string): NonNullable<InvokeCommandOutput['Payload']> {
  return Object.assign(new TextEncoder().encode(text), { transformToString: () => text });
}

function answers(output: Partial<InvokeCommandOutput>): void {
  lambda.on(InvokeCommand).resolves({ StatusCode: 200, ...output });
}

function check(onProblem?: (problem: CheckerProblem) => void): Promise<CheckResult> {
  return lambdaChecker(new LambdaClient({ region: 'us-east-1' }), CHECKER_FUNCTION, onProblem)(REQUEST);
}

beforeEach(() => {
  lambda.reset();
  lambda.onAnyCommand().rejects(new Error('unexpected Lambda command'));
});

describe('lambdaChecker', () => {
  it('invokes the checker function synchronously with the check request as its JSON payload', async () => {
    // GIVEN
    answers({ Payload: payload('{"status":"COMMIT"}') });

    // WHEN
    await check();

    // THEN
    const calls = lambda.commandCalls(InvokeCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input.FunctionName).toBe(CHECKER_FUNCTION);
    expect([undefined, 'RequestResponse']).toContain(input.InvocationType);
    expect(input.Payload).toBeInstanceOf(Uint8Array);
    const sent = JSON.parse(new TextDecoder().decode(input.Payload as Uint8Array)) as unknown;
    expect(sent).toEqual(REQUEST);
  });

  it.each<CheckResult>(['COMMIT', 'ROLLBACK'])('passes the function’s %s on', async (status) => {
    // GIVEN
    answers({ Payload: payload(JSON.stringify({ status })) });

    // WHEN
    const result = await check();

    // THEN
    expect(result).toBe(status);
  });

  it('ignores what else the answer holds', async () => {
    // GIVEN
    answers({ Payload: payload(JSON.stringify({ status: 'ROLLBACK', reason: 'no payment found' })) });

    // WHEN / THEN
    expect(await check()).toBe('ROLLBACK');
  });

  it.each<[string, string]>([
    ['UNKNOWN', '{"status":"UNKNOWN"}'],
    ['a status in other case', '{"status":"commit"}'],
    ['a status that is not a string', '{"status":1}'],
    ['an answer without a status', '{"result":"COMMIT"}'],
    ['a bare string', '"COMMIT"'],
    ['null', 'null'],
    ['an empty answer', ''],
    ['text that is not JSON', 'COMMIT'],
    ['cut-off JSON', '{"status":"COMM'],
  ])('answers UNKNOWN for %s', async (_, text) => {
    // GIVEN
    answers({ Payload: payload(text) });

    // WHEN / THEN
    expect(await check()).toBe('UNKNOWN');
  });

  it.each(['Unhandled', 'Handled'])(
    'answers UNKNOWN when the function failed (FunctionError %s), whatever its payload says',
    async (functionError) => {
      // GIVEN
      answers({ FunctionError: functionError, Payload: payload('{"status":"COMMIT"}') });

      // WHEN / THEN
      expect(await check()).toBe('UNKNOWN');
    },
  );

  it('answers UNKNOWN when the function returned no payload', async () => {
    // GIVEN
    answers({});

    // WHEN / THEN
    expect(await check()).toBe('UNKNOWN');
  });

  it.each([
    ['the request times out', Object.assign(new Error('socket hang up'), { name: 'TimeoutError' })],
    [
      'the function does not exist',
      Object.assign(new Error('Function not found'), { name: 'ResourceNotFoundException' }),
    ],
    ['access is denied', Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' })],
  ])('answers UNKNOWN, and does not throw, when %s', async (_, error) => {
    // GIVEN
    lambda.on(InvokeCommand).rejects(error);

    // WHEN
    const result = check();

    // THEN
    await expect(result).resolves.toBe('UNKNOWN');
  });

  it('tells the invoke error, with its cause, before the check counts as UNKNOWN', async () => {
    // GIVEN
    const cause = Object.assign(new Error('User is not authorized to perform: lambda:InvokeFunction'), {
      name: 'AccessDeniedException',
    });
    const error = new Error('invoke failed', { cause });
    lambda.on(InvokeCommand).rejects(error);
    const problems: CheckerProblem[] = [];

    // WHEN
    const result = await check((problem) => problems.push(problem));

    // THEN
    expect(result).toBe('UNKNOWN');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      transactionId: REQUEST.transactionId,
      functionName: CHECKER_FUNCTION,
      problem: 'invoke failed',
    });
    expect(problems[0]!.error).toBeInstanceOf(Error);
    expect((problems[0]!.error as Error).message).toBe('invoke failed');
    expect((problems[0]!.error as Error).cause).toBe(cause);
  });

  it('tells the function error (its type and message) before the check counts as UNKNOWN', async () => {
    // GIVEN
    answers({
      FunctionError: 'Unhandled',
      Payload: payload('{"errorType":"TypeError","errorMessage":"payments is undefined"}'),
    });
    const problems: CheckerProblem[] = [];

    // WHEN
    const result = await check((problem) => problems.push(problem));

    // THEN
    expect(result).toBe('UNKNOWN');
    expect(problems).toEqual([
      {
        transactionId: REQUEST.transactionId,
        functionName: CHECKER_FUNCTION,
        problem: 'checker function failed',
        error: { functionError: 'Unhandled', errorType: 'TypeError', errorMessage: 'payments is undefined' },
      },
    ]);
  });

  it('tells nothing when the checker answered, even UNKNOWN', async () => {
    // GIVEN
    answers({ Payload: payload('{"status":"UNKNOWN"}') });
    const problems: CheckerProblem[] = [];

    // WHEN
    await check((problem) => problems.push(problem));

    // THEN
    expect(problems).toEqual([]);
  });
});
