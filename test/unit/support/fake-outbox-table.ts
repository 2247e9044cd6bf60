import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import type {
  BatchWriteCommandInput,
  BatchWriteCommandOutput,
  ScanCommandInput,
  ScanCommandOutput,
  UpdateCommandInput,
  UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';

// ---------------------------------------------------------------------------------------------------------
// An in-memory outbox table (key: groupKey + sequence) to put behind a mocked DynamoDBDocumentClient. It
// evaluates the condition, filter and update expressions the way DynamoDB does for the small grammar the
// sweeper and the repair tool use (and fails loudly on anything else, including an unused or undefined
// expression attribute name or value, which DynamoDB rejects too).
// ---------------------------------------------------------------------------------------------------------

export type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;

interface Inputs {
  Scan: ScanCommandInput;
  Update: UpdateCommandInput;
  BatchWrite: BatchWriteCommandInput;
}
type Kind = keyof Inputs;

interface Hook<K extends Kind> {
  readonly when: (input: Inputs[K]) => boolean;
  readonly action: () => Promise<void> | void;
}

class ExpressionError extends Error {
  constructor(message: string) {
    super(`fake outbox: ${message}`);
    this.name = 'ValidationException';
  }
}

function tokenize(expression: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(\(|\)|,|<>|<=|>=|=|<|>|[#:]?[A-Za-z_][A-Za-z0-9_]*)\s*/y;
  let index = 0;
  while (index < expression.length) {
    pattern.lastIndex = index;
    const match = pattern.exec(expression);
    if (match === null) throw new ExpressionError(`cannot read "${expression}" at ${index}`);
    tokens.push(match[1]!);
    index = pattern.lastIndex;
  }
  return tokens;
}

/** Checks that every #name and :value used is defined, and every one defined is used (as DynamoDB does). */
function checkPlaceholders(expressions: readonly (string | undefined)[], names: Names, values: Values): void {
  const used = new Set(expressions.flatMap((expression) => (expression ? tokenize(expression) : [])));
  for (const token of used) {
    if (token.startsWith('#') && names?.[token] === undefined)
      throw new ExpressionError(`${token} is not in ExpressionAttributeNames`);
    if (token.startsWith(':') && (values === undefined || !(token in values)))
      throw new ExpressionError(`${token} is not in ExpressionAttributeValues`);
  }
  for (const defined of [...Object.keys(names ?? {}), ...Object.keys(values ?? {})]) {
    if (!used.has(defined)) throw new ExpressionError(`${defined} is defined but not used`);
  }
}

class Reader {
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
    if (token === undefined) throw new ExpressionError(`expression ended early: ${this.tokens.join(' ')}`);
    return token;
  }
  expect(token: string): void {
    const actual = this.next();
    if (actual !== token) throw new ExpressionError(`expected ${token}, got ${actual}`);
  }
  done(): boolean {
    return this.position >= this.tokens.length;
  }
  attribute(token: string): string {
    if (token.startsWith(':')) throw new ExpressionError(`expected an attribute, got ${token}`);
    return token.startsWith('#') ? this.names![token]! : token;
  }
  value(token: string): unknown {
    if (!token.startsWith(':')) throw new ExpressionError(`expected a value, got ${token}`);
    return this.values![token];
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
      throw new ExpressionError(`unknown comparator ${operator}`);
  }
}

export function conditionHolds(
  expression: string | undefined,
  item: Item | undefined,
  names: Names,
  values: Values,
): boolean {
  if (expression === undefined) return true;
  const reader = new Reader(tokenize(expression), names, values);
  const operand = (): unknown => {
    const token = reader.next();
    if (token.startsWith(':')) return reader.value(token);
    const attribute = reader.attribute(token);
    return item?.[attribute];
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
      const attribute = reader.attribute(reader.next());
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
  if (!reader.done()) throw new ExpressionError(`trailing tokens in "${expression}"`);
  return result;
}

function applyUpdate(expression: string, current: Item, names: Names, values: Values): Item {
  const reader = new Reader(tokenize(expression), names, values);
  const updated: Item = { ...current };
  let clause: 'SET' | 'REMOVE' | undefined;
  while (!reader.done()) {
    const token = reader.next();
    if (token === 'SET' || token === 'REMOVE') {
      clause = token;
      continue;
    }
    if (token === ',') continue;
    const attribute = reader.attribute(token);
    if (attribute === 'groupKey' || attribute === 'sequence')
      throw new ExpressionError(`cannot update key attribute ${attribute}`);
    if (clause === 'SET') {
      reader.expect('=');
      updated[attribute] = reader.value(reader.next());
    } else if (clause === 'REMOVE') {
      delete updated[attribute];
    } else {
      throw new ExpressionError(`unsupported update expression "${expression}"`);
    }
  }
  return updated;
}

function keyOf(key: Item): string {
  if (typeof key.groupKey !== 'string' || typeof key.sequence !== 'number')
    throw new ExpressionError('a key needs a string groupKey and a number sequence');
  return `${key.groupKey}|${key.sequence}`;
}

export class FakeOutboxTable {
  /** Items per Scan page, counted before the filter (as DynamoDB's Limit). */
  pageSize = Number.POSITIVE_INFINITY;
  /** Read capacity each Scan page reports. */
  capacityPerPage = 0.5;
  /** Runs before each call is served: lets concurrent callers interleave. */
  latency: () => Promise<void> = async () => {};
  /** Every item a BatchWriteItem deleted, as it was just before. */
  readonly deleted: Item[] = [];

  private readonly items = new Map<string, Item>();
  private readonly hooks: { [K in Kind]: Hook<K>[] } = { Scan: [], Update: [], BatchWrite: [] };

  constructor(readonly tableName: string) {}

  seed(...items: readonly Item[]): void {
    for (const item of items) this.items.set(keyOf(item), { ...item });
  }

  item(groupKey: string, sequence: number): Item | undefined {
    const item = this.items.get(keyOf({ groupKey, sequence }));
    return item === undefined ? undefined : { ...item };
  }

  all(): Item[] {
    return [...this.items.values()].map((item) => ({ ...item }));
  }

  patch(groupKey: string, sequence: number, changes: Item): void {
    const key = keyOf({ groupKey, sequence });
    const current = this.items.get(key);
    if (current === undefined) throw new Error(`fake outbox: no item ${key} to patch`);
    this.items.set(key, { ...current, ...changes });
  }

  remove(groupKey: string, sequence: number): void {
    this.items.delete(keyOf({ groupKey, sequence }));
  }

  /** Runs `action` (once) just before the first later call of `kind` for which `when` holds is served. */
  before<K extends Kind>(
    kind: K,
    when: (input: Inputs[K]) => boolean,
    action: () => Promise<void> | void,
  ): void {
    (this.hooks[kind] as Hook<K>[]).push({ when, action });
  }

  async scan(input: ScanCommandInput): Promise<ScanCommandOutput> {
    await this.serve('Scan', input);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.FilterExpression], names, values);
    const all = [...this.items.entries()];
    const start =
      input.ExclusiveStartKey === undefined
        ? 0
        : all.findIndex(([key]) => key === keyOf(input.ExclusiveStartKey ?? {})) + 1;
    if (input.ExclusiveStartKey !== undefined && start === 0)
      throw new Error('fake outbox: ExclusiveStartKey is not an item of this table');
    const page = all.slice(start, start + this.pageSize);
    const last = page.at(-1)?.[1];
    const more = start + page.length < all.length;
    return {
      $metadata: {},
      Items: page
        .map(([, item]) => ({ ...item }))
        .filter((item) => conditionHolds(input.FilterExpression, item, names, values)),
      ...(more && last !== undefined
        ? { LastEvaluatedKey: { groupKey: last.groupKey, sequence: last.sequence } }
        : {}),
      ...(input.ReturnConsumedCapacity === 'TOTAL'
        ? { ConsumedCapacity: { TableName: this.tableName, CapacityUnits: this.capacityPerPage } }
        : {}),
    };
  }

  async update(input: UpdateCommandInput): Promise<UpdateCommandOutput> {
    await this.serve('Update', input);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.UpdateExpression, input.ConditionExpression], names, values);
    const key = input.Key ?? {};
    const current = this.items.get(keyOf(key));
    if (!conditionHolds(input.ConditionExpression, current, names, values)) {
      throw new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
      });
    }
    const updated = applyUpdate(
      input.UpdateExpression ?? '',
      { ...current, groupKey: key.groupKey, sequence: key.sequence },
      names,
      values,
    );
    this.items.set(keyOf(key), updated);
    return { $metadata: {}, ...(input.ReturnValues === 'ALL_NEW' ? { Attributes: { ...updated } } : {}) };
  }

  async batchWrite(input: BatchWriteCommandInput): Promise<BatchWriteCommandOutput> {
    await this.serve('BatchWrite', input);
    for (const [tableName, requests] of Object.entries(input.RequestItems ?? {})) {
      this.checkTable(tableName);
      for (const request of requests) {
        if (request.DeleteRequest?.Key === undefined)
          throw new Error('fake outbox: only DeleteRequest is supported');
        const key = keyOf(request.DeleteRequest.Key);
        const current = this.items.get(key);
        if (current !== undefined) this.deleted.push({ ...current });
        this.items.delete(key);
      }
    }
    return { $metadata: {}, UnprocessedItems: {} };
  }

  private async serve<K extends Kind>(kind: K, input: Inputs[K]): Promise<void> {
    if ('TableName' in input) this.checkTable(input.TableName);
    await this.latency();
    const hooks = this.hooks[kind] as Hook<K>[];
    const index = hooks.findIndex((hook) => hook.when(input));
    if (index >= 0) {
      const [hook] = hooks.splice(index, 1);
      await hook!.action();
    }
  }

  private checkTable(tableName: string | undefined): void {
    if (tableName !== this.tableName) throw new Error(`fake outbox: unexpected table ${tableName}`);
  }
}
