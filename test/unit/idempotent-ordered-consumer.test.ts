import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  type DeleteCommandInput,
  DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  PutCommand,
  type PutCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  CursorMovedError,
  type Effect,
  IdempotentOrderedConsumer,
} from '../../functions/runtime/consumer/idempotent-ordered-consumer';
import { MessageInProgressError } from '../../functions/runtime/errors';
import type { MessageEnvelope } from '../../functions/runtime/outbox/outbox-message';

// ---------------------------------------------------------------------------------------------------------
// An in-memory inbox table behind the mocked document client. It evaluates the condition and update
// expressions the way DynamoDB does (for the small grammar the consumer uses, and fails loudly on anything
// else), and cancels a whole transaction when one of its conditions does not hold.
// ---------------------------------------------------------------------------------------------------------

const INBOX_TABLE = 'inbox-table';
const RETENTION_SECONDS = 15 * 24 * 3600;
const CLAIM_SECONDS = 120;

type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];
type CommandKind = 'Get' | 'Put' | 'Delete' | 'TransactWrite';

function tokenize(expression: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*)\s*/y;
  let index = 0;
  while (index < expression.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(expression);
    if (match === null) throw new Error(`fake inbox: cannot read "${expression}" at ${index}`);
    tokens.push(match[1]!);
    index = pattern.lastIndex;
  }
  return tokens;
}

class TokenReader {
  private position = 0;
  constructor(
    private readonly tokens: readonly string[],
    private readonly names: Names,
    private readonly values: Values,
  ) {}
  peek(): string | undefined {
    return this.tokens[this.position];
  }
  next(): string {
    const token = this.tokens[this.position++];
    if (token === undefined) throw new Error(`fake inbox: expression ended early: ${this.tokens.join(' ')}`);
    return token;
  }
  expect(token: string): void {
    const actual = this.next();
    if (actual !== token) throw new Error(`fake inbox: expected ${token}, got ${actual}`);
  }
  done(): boolean {
    return this.position >= this.tokens.length;
  }
  attributeName(token: string): string {
    if (!token.startsWith('#')) return token;
    const name = this.names?.[token];
    if (name === undefined) throw new Error(`fake inbox: ${token} is not in ExpressionAttributeNames`);
    return name;
  }
  value(token: string): unknown {
    if (!token.startsWith(':') || this.values === undefined || !(token in this.values)) {
      throw new Error(`fake inbox: ${token} is not in ExpressionAttributeValues`);
    }
    return this.values[token];
  }
}

function compare(left: unknown, operator: string, right: unknown): boolean {
  const comparable =
    (typeof left === 'number' && typeof right === 'number') ||
    (typeof left === 'string' && typeof right === 'string');
  if (!comparable) return operator === '<>' && left !== undefined && right !== undefined;
  const [a, b] = [left as number | string, right as number | string];
  switch (operator) {
    case '=':
      return a === b;
    case '<>':
      return a !== b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    default:
      throw new Error(`fake inbox: unknown comparator ${operator}`);
  }
}

function conditionHolds(
  expression: string | undefined,
  item: Item | undefined,
  names: Names,
  values: Values,
): boolean {
  if (expression === undefined) return true;
  const reader = new TokenReader(tokenize(expression), names, values);
  const operand = (): unknown => {
    const token = reader.next();
    return token.startsWith(':') ? reader.value(token) : item?.[reader.attributeName(token)];
  };
  const primary = (): boolean => {
    const token = reader.peek();
    if (token === '(') {
      reader.next();
      const result = disjunction();
      reader.expect(')');
      return result;
    }
    if (token === 'attribute_not_exists' || token === 'attribute_exists') {
      reader.next();
      reader.expect('(');
      const attribute = reader.attributeName(reader.next());
      const exists = item?.[attribute] !== undefined;
      reader.expect(')');
      return token === 'attribute_exists' ? exists : !exists;
    }
    const left = operand();
    const operator = reader.next();
    return compare(left, operator, operand());
  };
  const conjunction = (): boolean => {
    let result = primary();
    while (reader.peek() === 'AND') {
      reader.next();
      const right = primary();
      result = result && right;
    }
    return result;
  };
  const disjunction = (): boolean => {
    let result = conjunction();
    while (reader.peek() === 'OR') {
      reader.next();
      const right = conjunction();
      result = result || right;
    }
    return result;
  };
  const result = disjunction();
  if (!reader.done()) throw new Error(`fake inbox: trailing tokens in "${expression}"`);
  return result;
}

function applyUpdate(
  expression: string,
  key: Item,
  item: Item | undefined,
  names: Names,
  values: Values,
): Item {
  const reader = new TokenReader(tokenize(expression), names, values);
  const updated: Item = { ...key, ...item };
  let clause: string | undefined;
  while (!reader.done()) {
    const token = reader.next();
    if (token === 'SET' || token === 'ADD' || token === 'REMOVE') {
      clause = token;
      continue;
    }
    if (token === ',') continue;
    const attribute = reader.attributeName(token);
    if (clause === 'SET') {
      reader.expect('=');
      updated[attribute] = reader.value(reader.next());
    } else if (clause === 'ADD') {
      const delta = reader.value(reader.next());
      const current = updated[attribute] ?? 0;
      if (typeof delta !== 'number' || typeof current !== 'number')
        throw new Error('fake inbox: ADD needs numbers');
      updated[attribute] = current + delta;
    } else if (clause === 'REMOVE') {
      delete updated[attribute];
    } else {
      throw new Error(`fake inbox: unsupported update expression "${expression}"`);
    }
  }
  return updated;
}

class FakeInboxTable {
  private readonly items = new Map<string, Item>();
  private readonly interceptors = new Map<CommandKind, Array<() => void>>();

  /** Runs `action` just before the next call of `kind` is served; if it throws, that call fails with its error. */
  beforeNext(kind: CommandKind, action: () => void): void {
    this.interceptors.set(kind, [...(this.interceptors.get(kind) ?? []), action]);
  }

  item(pk: string, sk: string): Item | undefined {
    return this.items.get(`${pk}|${sk}`);
  }

  seed(item: Item): void {
    this.items.set(this.keyOf(item), { ...item });
  }

  patch(pk: string, sk: string, changes: Item): void {
    this.seed({ ...this.item(pk, sk), pk, sk, ...changes });
  }

  remove(pk: string, sk: string): void {
    this.items.delete(`${pk}|${sk}`);
  }

  get(input: GetCommandInput): { Item?: Item } {
    this.intercept('Get');
    this.checkTable(input.TableName);
    const item = this.items.get(this.keyOf(input.Key ?? {}));
    return item === undefined ? {} : { Item: { ...item } };
  }

  put(input: PutCommandInput): object {
    this.intercept('Put');
    this.checkTable(input.TableName);
    const item = input.Item ?? {};
    const old = this.items.get(this.keyOf(item));
    if (
      !conditionHolds(
        input.ConditionExpression,
        old,
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      )
    ) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        ...(input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && old !== undefined
          ? { Item: marshall(old) }
          : {}),
      });
    }
    this.items.set(this.keyOf(item), { ...item });
    return {};
  }

  delete(input: DeleteCommandInput): object {
    this.intercept('Delete');
    this.checkTable(input.TableName);
    const key = this.keyOf(input.Key ?? {});
    if (
      !conditionHolds(
        input.ConditionExpression,
        this.items.get(key),
        input.ExpressionAttributeNames,
        input.ExpressionAttributeValues,
      )
    ) {
      throw new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
    }
    this.items.delete(key);
    return {};
  }

  transactWrite(input: TransactWriteCommandInput): object {
    this.intercept('TransactWrite');
    const actions = input.TransactItems ?? [];
    const touched = actions.map((action) => this.keyOf(this.targetKey(action)));
    if (new Set(touched).size !== touched.length)
      throw new Error('fake inbox: a transaction touches one item twice');
    const reasons = actions.map((action, index) => {
      const current = this.items.get(touched[index]!);
      return { Code: this.transactConditionHolds(action, current) ? 'None' : 'ConditionalCheckFailed' };
    });
    if (reasons.some((reason) => reason.Code !== 'None')) {
      throw new TransactionCanceledException({
        message: 'Transaction cancelled',
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    for (const [index, action] of actions.entries()) {
      const key = touched[index]!;
      if (action.Put) this.items.set(key, { ...action.Put.Item });
      else if (action.Delete) this.items.delete(key);
      else if (action.Update) {
        const { UpdateExpression, Key, ExpressionAttributeNames, ExpressionAttributeValues } = action.Update;
        this.items.set(
          key,
          applyUpdate(
            UpdateExpression ?? '',
            Key ?? {},
            this.items.get(key),
            ExpressionAttributeNames,
            ExpressionAttributeValues,
          ),
        );
      }
    }
    return {};
  }

  private transactConditionHolds(action: TransactItem, current: Item | undefined): boolean {
    const operation = action.Put ?? action.Update ?? action.Delete ?? action.ConditionCheck;
    this.checkTable(operation?.TableName);
    return conditionHolds(
      operation?.ConditionExpression,
      current,
      operation?.ExpressionAttributeNames,
      operation?.ExpressionAttributeValues,
    );
  }

  private targetKey(action: TransactItem): Item {
    if (action.Put) return action.Put.Item ?? {};
    return action.Update?.Key ?? action.Delete?.Key ?? action.ConditionCheck?.Key ?? {};
  }

  private intercept(kind: CommandKind): void {
    const [action, ...rest] = this.interceptors.get(kind) ?? [];
    this.interceptors.set(kind, rest);
    action?.();
  }

  private checkTable(tableName: string | undefined): void {
    if (tableName !== INBOX_TABLE) throw new Error(`fake inbox: unexpected table ${tableName}`);
  }

  private keyOf(key: Item): string {
    if (typeof key.pk !== 'string' || typeof key.sk !== 'string')
      throw new Error('fake inbox: key needs string pk and sk');
    return `${key.pk}|${key.sk}`;
  }
}

// ---------------------------------------------------------------------------------------------------------

const ddb = mockClient(DynamoDBDocumentClient);
const START = new Date('2026-03-01T12:00:00.000Z');
const GROUP = 'order-1';

interface Payload {
  readonly note: string;
}

let inbox: FakeInboxTable;
let now: Date;
let applied: number[];
let consumer: IdempotentOrderedConsumer;

const recordEffect: Effect<Payload> = async (message) => {
  applied.push(message.sequence);
};

function message(sequence: number, groupKey = GROUP): MessageEnvelope<Payload> {
  return {
    messageId: `msg-${groupKey}-${sequence}`,
    groupKey,
    sequence,
    type: 'OrderNoteAdded',
    payload: { note: `note ${sequence}` },
    createdAt: START.toISOString(),
  };
}

const cursorOf = (groupKey = GROUP) => inbox.item(`KEY#${groupKey}`, 'CURSOR');
const heldOf = (sequence: number, groupKey = GROUP) =>
  inbox.item(`KEY#${groupKey}`, `HELD#${String(sequence).padStart(15, '0')}`);
const recordOf = (sequence: number, groupKey = GROUP) => inbox.item(`MSG#msg-${groupKey}-${sequence}`, 'MSG');
const seconds = (date: Date) => Math.floor(date.getTime() / 1000);

function writeCalls(): number {
  return ddb.calls().filter((call) => !(call.args[0] instanceof GetCommand)).length;
}

beforeEach(() => {
  ddb.reset();
  inbox = new FakeInboxTable();
  now = START;
  applied = [];
  ddb.onAnyCommand().rejects(new Error('unexpected command'));
  ddb.on(GetCommand).callsFake(async (input: GetCommandInput) => inbox.get(input));
  ddb.on(PutCommand).callsFake(async (input: PutCommandInput) => inbox.put(input));
  ddb.on(DeleteCommand).callsFake(async (input: DeleteCommandInput) => inbox.delete(input));
  ddb
    .on(TransactWriteCommand)
    .callsFake(async (input: TransactWriteCommandInput) => inbox.transactWrite(input));
  consumer = new IdempotentOrderedConsumer({
    dynamodb: DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' })),
    inboxTableName: INBOX_TABLE,
    retentionSeconds: RETENTION_SECONDS,
    claimSeconds: CLAIM_SECONDS,
    clock: () => now,
  });
});

describe('IdempotentOrderedConsumer.consume', () => {
  describe('a message that is next in its key', () => {
    it('runs the effect, records the messageId as COMPLETED and moves the cursor to its sequence', async () => {
      // GIVEN an empty inbox

      // WHEN
      const result = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(applied).toEqual([1]);
      expect(recordOf(1)).toEqual({
        pk: `MSG#msg-${GROUP}-1`,
        sk: 'MSG',
        status: 'COMPLETED',
        groupKey: GROUP,
        sequence: 1,
        expiresAt: seconds(START) + RETENTION_SECONDS,
        completedAt: START.toISOString(),
      });
      expect(cursorOf()).toMatchObject({ lastSequence: 1 });
    });

    it('applies consecutive messages one after the other', async () => {
      // WHEN
      const outcomes = [];
      for (const sequence of [1, 2, 3])
        outcomes.push((await consumer.consume(message(sequence), recordEffect)).outcome);

      // THEN
      expect(outcomes).toEqual(['APPLIED', 'APPLIED', 'APPLIED']);
      expect(applied).toEqual([1, 2, 3]);
      expect(cursorOf()).toMatchObject({ lastSequence: 3 });
    });

    it('keeps one cursor per key', async () => {
      // WHEN
      await consumer.consume(message(1, 'a'), recordEffect);
      await consumer.consume(message(1, 'b'), recordEffect);
      await consumer.consume(message(2, 'a'), recordEffect);

      // THEN
      expect(cursorOf('a')).toMatchObject({ lastSequence: 2 });
      expect(cursorOf('b')).toMatchObject({ lastSequence: 1 });
    });

    it('claims the messageId with a conditional put, IN_PROGRESS until claimSeconds, before the effect runs', async () => {
      // GIVEN
      let recordDuringEffect: unknown;
      const effect: Effect<Payload> = async () => {
        recordDuringEffect = recordOf(1);
      };

      // WHEN
      await consumer.consume(message(1), effect);

      // THEN
      expect(recordDuringEffect).toMatchObject({
        status: 'IN_PROGRESS',
        claimExpiresAt: seconds(START) + CLAIM_SECONDS,
      });
      const put = ddb.commandCalls(PutCommand)[0]?.args[0].input;
      expect(put?.ConditionExpression).toBe(
        'attribute_not_exists(pk) OR (#status = :inProgress AND claimExpiresAt < :now)',
      );
      expect(put?.ExpressionAttributeValues).toEqual({
        ':inProgress': 'IN_PROGRESS',
        ':now': seconds(START),
      });
    });

    it('reads the cursor with a strongly consistent read', async () => {
      // WHEN
      await consumer.consume(message(1), recordEffect);

      // THEN
      const get = ddb.commandCalls(GetCommand)[0]?.args[0].input;
      expect(get).toEqual({
        TableName: INBOX_TABLE,
        Key: { pk: `KEY#${GROUP}`, sk: 'CURSOR' },
        ConsistentRead: true,
      });
    });

    it('marks the message done and moves the cursor in one transaction, conditional on the previous sequence', async () => {
      // GIVEN
      await consumer.consume(message(1), recordEffect);
      ddb.resetHistory();

      // WHEN
      await consumer.consume(message(2), recordEffect);

      // THEN
      const [transaction] = ddb.commandCalls(TransactWriteCommand);
      const cursorUpdate = transaction?.args[0].input.TransactItems?.[1]?.Update;
      expect(cursorUpdate?.Key).toEqual({ pk: `KEY#${GROUP}`, sk: 'CURSOR' });
      expect(cursorUpdate?.ConditionExpression).toContain('lastSequence = :previous');
      expect(cursorUpdate?.ExpressionAttributeValues).toMatchObject({ ':previous': 1, ':sequence': 2 });
    });
  });

  describe('duplicates', () => {
    it('acknowledges a message at or below the cursor as DUPLICATE without running its effect or writing', async () => {
      // GIVEN
      await consumer.consume(message(1), recordEffect);
      await consumer.consume(message(2), recordEffect);
      ddb.resetHistory();

      // WHEN
      const again2 = await consumer.consume(message(2), recordEffect);
      const again1 = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(again2).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(again1).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(applied).toEqual([1, 2]);
      expect(writeCalls()).toBe(0);
    });

    it('never applies a messageId already COMPLETED, whatever the cursor says', async () => {
      // GIVEN
      inbox.seed({ pk: `MSG#msg-${GROUP}-1`, sk: 'MSG', status: 'COMPLETED', groupKey: GROUP, sequence: 1 });

      // WHEN
      const result = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(result).toEqual({ outcome: 'DUPLICATE', released: [] });
      expect(applied).toEqual([]);
      expect(cursorOf()).toBeUndefined();
    });
  });

  describe('gaps', () => {
    it('holds a message that arrives ahead of its predecessor, durably and without running its effect', async () => {
      // WHEN
      const result = await consumer.consume(message(2), recordEffect);

      // THEN
      expect(result).toEqual({ outcome: 'HELD', released: [] });
      expect(applied).toEqual([]);
      expect(heldOf(2)).toMatchObject({ heldAt: START.toISOString() });
      expect(JSON.parse(String(heldOf(2)?.message))).toEqual(message(2));
      expect(cursorOf()).toEqual({ pk: `KEY#${GROUP}`, sk: 'CURSOR', heldCount: 1 });
    });

    it('applies the held successors, in order, right after the missing message', async () => {
      // GIVEN
      await consumer.consume(message(3), recordEffect);
      await consumer.consume(message(2), recordEffect);

      // WHEN
      const result = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [2, 3] });
      expect(applied).toEqual([1, 2, 3]);
      expect(heldOf(2)).toBeUndefined();
      expect(heldOf(3)).toBeUndefined();
      expect(cursorOf()).toMatchObject({ lastSequence: 3, heldCount: 0 });
      expect(recordOf(3)).toMatchObject({ status: 'COMPLETED' });
    });

    it('stops releasing at the next gap, and releases the rest when that gap is filled', async () => {
      // GIVEN
      await consumer.consume(message(2), recordEffect);
      await consumer.consume(message(4), recordEffect);

      // WHEN
      const first = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(first).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(cursorOf()).toMatchObject({ lastSequence: 2, heldCount: 1 });
      expect(heldOf(4)).toBeDefined();

      // WHEN
      const second = await consumer.consume(message(3), recordEffect);

      // THEN
      expect(second).toEqual({ outcome: 'APPLIED', released: [4] });
      expect(applied).toEqual([1, 2, 3, 4]);
      expect(cursorOf()).toMatchObject({ lastSequence: 4, heldCount: 0 });
    });

    it('applies a held message delivered directly when it is next, removing its held copy', async () => {
      // GIVEN 1 applied, 3 held, and 2 applied in a way that left 3 held (its release interrupted)
      await consumer.consume(message(1), recordEffect);
      await consumer.consume(message(3), recordEffect);
      inbox.patch(`KEY#${GROUP}`, 'CURSOR', { lastSequence: 2, heldCount: 1 });

      // WHEN 3 is delivered directly
      const result = await consumer.consume(message(3), recordEffect);

      // THEN it is applied once, and neither the held copy nor its count is left behind
      expect(result.outcome).toBe('APPLIED');
      expect(applied).toEqual([1, 3]);
      expect(heldOf(3)).toBeUndefined();
      expect(cursorOf()).toMatchObject({ lastSequence: 3, heldCount: 0 });
    });

    it('acknowledges a redelivery of a held message as HELD again without counting it twice', async () => {
      // GIVEN
      await consumer.consume(message(3), recordEffect);

      // WHEN
      const again = await consumer.consume(message(3), recordEffect);

      // THEN
      expect(again).toEqual({ outcome: 'HELD', released: [] });
      expect(cursorOf()).toMatchObject({ heldCount: 1 });

      // WHEN the gap is filled
      await consumer.consume(message(1), recordEffect);
      const released = await consumer.consume(message(2), recordEffect);

      // THEN the held message is applied once
      expect(released).toEqual({ outcome: 'APPLIED', released: [3] });
      expect(applied).toEqual([1, 2, 3]);
    });

    it('fails the hold with CursorMovedError when the predecessor was applied after the cursor was read', async () => {
      // GIVEN message 1 gets applied between the cursor read and the hold of message 2
      inbox.beforeNext('TransactWrite', () => inbox.patch(`KEY#${GROUP}`, 'CURSOR', { lastSequence: 1 }));

      // WHEN
      const holding = consumer.consume(message(2), recordEffect);

      // THEN
      await expect(holding).rejects.toBeInstanceOf(CursorMovedError);
      expect(heldOf(2)).toBeUndefined();
      expect(cursorOf()).toEqual({ pk: `KEY#${GROUP}`, sk: 'CURSOR', lastSequence: 1 });

      // WHEN redelivered
      const retried = await consumer.consume(message(2), recordEffect);

      // THEN
      expect(retried).toEqual({ outcome: 'APPLIED', released: [] });
      expect(applied).toEqual([2]);
    });

    it('releases a successor that was held while the predecessor’s effect was running', async () => {
      // GIVEN a delivery of message 2 arrives while the effect of message 1 runs
      const holdResults: string[] = [];
      const effect: Effect<Payload> = async (delivered) => {
        if (delivered.sequence === 1) holdResults.push((await consumer.consume(message(2), effect)).outcome);
        applied.push(delivered.sequence);
      };

      // WHEN
      const result = await consumer.consume(message(1), effect);

      // THEN
      expect(holdResults).toEqual(['HELD']);
      expect(result).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(applied).toEqual([1, 2]);
      expect(cursorOf()).toMatchObject({ lastSequence: 2, heldCount: 0 });
      expect(heldOf(2)).toBeUndefined();
    });

    it('moves the cursor past a held message that another path already applied, without applying it again', async () => {
      // GIVEN message 2 is held, but its messageId is already COMPLETED
      await consumer.consume(message(2), recordEffect);
      inbox.seed({ pk: `MSG#msg-${GROUP}-2`, sk: 'MSG', status: 'COMPLETED', groupKey: GROUP, sequence: 2 });

      // WHEN
      const result = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [2] });
      expect(applied).toEqual([1]);
      expect(cursorOf()).toMatchObject({ lastSequence: 2, heldCount: 0 });
      expect(heldOf(2)).toBeUndefined();
    });

    it('leaves the held successors to another delivery that released them first', async () => {
      // GIVEN message 2 is held, and another delivery releases it just before this one reads the cursor again
      await consumer.consume(message(2), recordEffect);
      inbox.beforeNext('Get', () => undefined); // the cursor read of consume(1)
      inbox.beforeNext('Get', () => undefined); // the read of held message 2
      inbox.beforeNext('Get', () => {
        // the cursor read before applying it: meanwhile, the other delivery applied message 2
        inbox.seed({
          pk: `MSG#msg-${GROUP}-2`,
          sk: 'MSG',
          status: 'COMPLETED',
          groupKey: GROUP,
          sequence: 2,
        });
        inbox.remove(`KEY#${GROUP}`, `HELD#${String(2).padStart(15, '0')}`);
        inbox.patch(`KEY#${GROUP}`, 'CURSOR', { lastSequence: 2, heldCount: 0 });
      });

      // WHEN
      const result = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(result).toEqual({ outcome: 'APPLIED', released: [] });
      expect(applied).toEqual([1]);
      expect(cursorOf()).toMatchObject({ lastSequence: 2, heldCount: 0 });
    });

    it('resumes releasing held successors when the predecessor is redelivered after a release failed', async () => {
      // GIVEN message 2 is held, and its effect fails once while message 1 releases it
      await consumer.consume(message(2), recordEffect);
      let failures = 0;
      const flakyEffect: Effect<Payload> = async (delivered) => {
        if (delivered.sequence === 2 && failures++ === 0) throw new Error('projection throttled');
        applied.push(delivered.sequence);
      };
      await expect(consumer.consume(message(1), flakyEffect)).rejects.toThrow('projection throttled');
      expect(cursorOf()).toMatchObject({ lastSequence: 1, heldCount: 1 });

      // WHEN SQS redelivers message 1, whose record was reported failed
      const redelivery = await consumer.consume(message(1), flakyEffect);

      // THEN
      expect(redelivery).toEqual({ outcome: 'DUPLICATE', released: [2] });
      expect(applied).toEqual([1, 2]);
      expect(cursorOf()).toMatchObject({ lastSequence: 2, heldCount: 0 });
      expect(heldOf(2)).toBeUndefined();
    });
  });

  describe('effect failures and claims', () => {
    it('releases the claim and rethrows when the effect fails, so that a redelivery applies the message', async () => {
      // GIVEN
      const failure = new Error('effect failed');
      const failingEffect: Effect<Payload> = async () => {
        throw failure;
      };

      // WHEN
      const first = consumer.consume(message(1), failingEffect);

      // THEN
      await expect(first).rejects.toBe(failure);
      expect(recordOf(1)).toBeUndefined();
      expect(cursorOf()).toBeUndefined();
      const release = ddb.commandCalls(DeleteCommand)[0]?.args[0].input;
      expect(release).toMatchObject({
        Key: { pk: `MSG#msg-${GROUP}-1`, sk: 'MSG' },
        ConditionExpression: '#status = :inProgress',
        ExpressionAttributeValues: { ':inProgress': 'IN_PROGRESS' },
      });

      // WHEN redelivered
      const second = await consumer.consume(message(1), recordEffect);

      // THEN
      expect(second).toEqual({ outcome: 'APPLIED', released: [] });
      expect(applied).toEqual([1]);
    });

    it("rethrows the effect's error even when releasing the claim fails", async () => {
      // GIVEN
      const failure = new Error('effect failed');
      inbox.beforeNext('Delete', () => {
        throw new Error('delete throttled');
      });

      // WHEN
      const consuming = consumer.consume(message(1), async () => {
        throw failure;
      });

      // THEN
      await expect(consuming).rejects.toBe(failure);
    });

    it('refuses a delivery while another live delivery holds the claim, with MessageInProgressError', async () => {
      // GIVEN a second delivery of message 1 arrives while the first one's effect runs
      let concurrent: unknown;
      const effect: Effect<Payload> = async (delivered) => {
        concurrent = await consumer.consume(message(1), recordEffect).catch((error: unknown) => error);
        applied.push(delivered.sequence);
      };

      // WHEN
      const result = await consumer.consume(message(1), effect);

      // THEN
      expect(concurrent).toBeInstanceOf(MessageInProgressError);
      expect(result.outcome).toBe('APPLIED');
      expect(applied).toEqual([1]);
    });

    it('takes over the claim of a delivery that died between effect and mark, once claimSeconds have passed', async () => {
      // GIVEN the first delivery ran the effect, then could not mark it done
      inbox.beforeNext('TransactWrite', () => {
        throw new Error('process killed');
      });
      await expect(consumer.consume(message(1), recordEffect)).rejects.toThrow('process killed');
      expect(recordOf(1)).toMatchObject({ status: 'IN_PROGRESS' });

      // WHEN redelivered within claimSeconds
      now = new Date(START.getTime() + (CLAIM_SECONDS - 1) * 1000);
      const early = consumer.consume(message(1), recordEffect);

      // THEN
      await expect(early).rejects.toBeInstanceOf(MessageInProgressError);

      // WHEN redelivered after claimSeconds
      now = new Date(START.getTime() + (CLAIM_SECONDS + 1) * 1000);
      const late = await consumer.consume(message(1), recordEffect);

      // THEN the effect runs again (the documented re-run after a crash) and the message completes
      expect(late).toEqual({ outcome: 'APPLIED', released: [] });
      expect(applied).toEqual([1, 1]);
      expect(recordOf(1)).toMatchObject({ status: 'COMPLETED' });
      expect(cursorOf()).toMatchObject({ lastSequence: 1 });
    });

    it('fails with CursorMovedError when the cursor moved while the effect ran', async () => {
      // GIVEN
      await consumer.consume(message(1), recordEffect);
      ddb.resetHistory();
      const effect: Effect<Payload> = async () => {
        inbox.patch(`KEY#${GROUP}`, 'CURSOR', { lastSequence: 2 });
      };

      // WHEN
      const consuming = consumer.consume(message(2), effect);

      // THEN
      await expect(consuming).rejects.toBeInstanceOf(CursorMovedError);
      expect(ddb.commandCalls(TransactWriteCommand)).toHaveLength(1);
      expect(recordOf(2)).toMatchObject({ status: 'IN_PROGRESS' });
    });

    it('propagates an inbox failure that is not a condition', async () => {
      // GIVEN
      const failure = new Error('inbox unavailable');
      inbox.beforeNext('Put', () => {
        throw failure;
      });

      // WHEN
      const consuming = consumer.consume(message(1), recordEffect);

      // THEN
      await expect(consuming).rejects.toBe(failure);
      expect(applied).toEqual([]);
    });
  });
});
