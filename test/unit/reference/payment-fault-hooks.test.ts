import { Readable } from 'node:stream';
import { DynamoDBClient, GetItemCommand, TransactWriteItemsCommand } from '@aws-sdk/client-dynamodb';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { describe, expect, it } from 'vitest';
import { type FaultConfig, parseFaultConfig } from '../../../functions/runtime/faults/fault-config';
import type { FaultSource } from '../../../functions/runtime/faults/fault-injector';
import { injectAmbiguousCommits } from '../../../functions/runtime/faults/service-faults';
import { isOutcomeUnknown } from '../../../functions/runtime/transient-errors';
import { paymentFaultHooks } from '../../../reference/functions/payments/payment-fault-hooks';

const constant = (config: FaultConfig): FaultSource => ({ current: async () => config });

/** DynamoDB on the wire: every request succeeds (`{}`); the targets it served, in order. */
function dynamodbThatSucceeds() {
  const served: string[] = [];
  const client = new DynamoDBClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
    maxAttempts: 3,
    requestHandler: {
      handle: async (request: HttpRequest): Promise<{ response: HttpResponse }> => {
        served.push(String(request.headers['x-amz-target']));
        return {
          response: {
            statusCode: 200,
            headers: { 'content-type': 'application/x-amz-json-1.0' },
            body: Readable.from([Buffer.from('{}')]),
          },
        };
      },
    },
  });
  return { client, served };
}

const transaction = () =>
  new TransactWriteItemsCommand({
    TransactItems: [{ Put: { TableName: 't', Item: { pk: { S: 'x' } } } }],
  });

describe('the producer faults: ambiguousCommitRate and slowLocalStepMs', () => {
  it('accepts both in a fault configuration, and refuses a negative delay', () => {
    // WHEN / THEN
    expect(parseFaultConfig('{"ambiguousCommitRate":0.1,"slowLocalStepMs":20000}')).toEqual({
      ambiguousCommitRate: 0.1,
      slowLocalStepMs: 20000,
    });
    expect(() => parseFaultConfig('{"slowLocalStepMs":-1}')).toThrow(/slowLocalStepMs/);
    expect(() => parseFaultConfig('{"ambiguousCommitRate":2}')).toThrow(/ambiguousCommitRate/);
  });

  it('ambiguousCommitRate: the transaction is sent once and lands, then the caller gets a timeout (outcome unknown)', async () => {
    // GIVEN
    const { client, served } = dynamodbThatSucceeds();
    injectAmbiguousCommits(client, constant({ ambiguousCommitRate: 1 }));

    // WHEN
    const error = await client.send(transaction()).catch((caught: unknown) => caught);

    // THEN sent once (not retried by the SDK), and the error is one whose outcome is unknown
    expect(served).toEqual(['DynamoDB_20120810.TransactWriteItems']);
    expect(error).toMatchObject({ name: 'TimeoutError' });
    expect(isOutcomeUnknown(error)).toBe(true);
  });

  it('ambiguousCommitRate leaves other requests, and every request without the fault, alone', async () => {
    // GIVEN
    const { client, served } = dynamodbThatSucceeds();
    const faulty = dynamodbThatSucceeds();
    injectAmbiguousCommits(client, constant({}));
    injectAmbiguousCommits(faulty.client, constant({ ambiguousCommitRate: 1 }));

    // WHEN
    await client.send(transaction());
    await faulty.client.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'x' } } }));

    // THEN
    expect(served).toEqual(['DynamoDB_20120810.TransactWriteItems']);
    expect(faulty.served).toEqual(['DynamoDB_20120810.GetItem']);
  });

  it('slowLocalStepMs delays the local step by that long, before the crash draw', async () => {
    // GIVEN
    const slept: number[] = [];
    const hooks = paymentFaultHooks(
      constant({ slowLocalStepMs: 20_000 }),
      () => 0.5,
      async (ms) => {
        slept.push(ms);
      },
    );

    // WHEN
    await hooks.beforeLocalStep?.();
    await hooks.beforeCommit?.();

    // THEN
    expect(slept).toEqual([20_000]);
  });

  it('without slowLocalStepMs the local step is not delayed', async () => {
    // GIVEN
    const slept: number[] = [];
    const hooks = paymentFaultHooks(constant({}), Math.random, async (ms) => {
      slept.push(ms);
    });

    // WHEN
    await hooks.beforeLocalStep?.();

    // THEN
    expect(slept).toEqual([]);
  });
});
