import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { UnitAccountant, type UnitLedger } from 'reliable-messaging-serverless/runtime';
import { addLedgers } from 'reliable-messaging-serverless/runtime/bench-support';
import type { Connection } from '../../tools/stack/stack-control';
import { perMessage, sumUnits, type UnitsPerMessage } from './cost-model';
import { functionBilledDuration, functionLogs } from './function-logs';

export interface NaiveReport {
  readonly messages: number;
  readonly units: UnitsPerMessage;
  readonly byComponent: Readonly<Record<string, UnitsPerMessage>>;
}

/**
 * Runs the naive baseline in the same stack: the producer (this process, standing for an API Lambda) writes its
 * item, then sends one SendMessage per message; the consumer runs once per message with a Powertools-style
 * idempotency record. Counted like our pipeline, plus the requests a real deployment would add: one API request and
 * one Lambda invocation per produced message (billed `producerGbSecondsPerMessage` of duration), one ReceiveMessage
 * and one DeleteMessage per consumed message.
 */
export async function runNaiveBaseline(
  c: Connection,
  messages: number,
  keys: number,
  producerGbSecondsPerMessage: number,
): Promise<NaiveReport> {
  const {
    NaiveQueueUrl: queueUrl,
    NaiveTableName: tableName,
    NaiveConsumerFunctionName: consumer,
  } = c.outputs;
  if (queueUrl === undefined || tableName === undefined || consumer === undefined) {
    throw new Error('the stack has no naive baseline: deploy it to the emulator with `npm start`');
  }
  const producer = new UnitAccountant('naive-producer');
  const dynamodbClient = new DynamoDBClient(c.config);
  const sqs = new SQSClient(c.config);
  producer.instrumentDynamoDb(dynamodbClient);
  producer.instrumentSqs(sqs);
  const dynamodb = DynamoDBDocumentClient.from(dynamodbClient);

  const run = randomUUID().slice(0, 8);
  const started = Date.now() - 1000;
  for (let n = 0; n < messages; n++) {
    const key = `naive-${run}-${n % keys}`;
    await dynamodb.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { pk: `order#${key}` },
        UpdateExpression: 'ADD version :one',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: JSON.stringify({ messageId: randomUUID(), key, text: `note ${n}` }),
        MessageGroupId: key,
        MessageDeduplicationId: randomUUID(),
      }),
    );
  }
  const produced = producer.take();

  // Wait for the consumer to have logged every message.
  let consumed: UnitLedger[] = [];
  const deadline = Date.now() + 300_000;
  for (;;) {
    const records = await functionLogs(c, consumer, started, Date.now() + 1000);
    consumed = records
      .map((r) => r.fields.unitAccounting as UnitLedger | undefined)
      .filter((l): l is UnitLedger => l !== undefined);
    if (consumed.length >= messages || Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const consumer_ = addLedgers('naive-consumer', consumed);
  const consumerBilled = await functionBilledDuration(c, consumer, started, Date.now() + 1000);
  const byComponent: Record<string, UnitsPerMessage> = {
    producer: perMessage(produced, messages, {
      invocations: messages,
      gbSeconds: producerGbSecondsPerMessage * messages,
      apiRequests: messages,
    }),
    // One invocation per message; the Lambda service's ReceiveMessage and DeleteMessage for each.
    consumer: perMessage(consumer_, messages, {
      invocations: consumed.length,
      gbSeconds: consumerBilled.gbSeconds,
      serviceSqsRequests: 2 * consumed.length,
    }),
  };
  const units = sumUnits(Object.values(byComponent));
  return { messages, units, byComponent };
}
