import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  type GetCommandOutput,
  PutCommand,
  type PutCommandInput,
  type PutCommandOutput,
  ScanCommand,
  type ScanCommandInput,
  type ScanCommandOutput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
  type TransactWriteCommandOutput,
  UpdateCommand,
  type UpdateCommandInput,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

// ---------------------------------------------------------------------------------------------------------
// Several in-memory tables (each with its own key schema) behind one mocked DynamoDBDocumentClient, for the
// half-message code: producer, check-back, payment service and projection. It evaluates the condition, filter
// and update expressions the way DynamoDB does for the small grammar that code uses — comparisons, IN, AND,
// OR, NOT, parentheses, attribute_exists / attribute_not_exists, `SET a = :v, …` — and fails loudly on
// anything else, including an unused or undefined expression attribute name or value (DynamoDB rejects
// those too). A transaction is all-or-nothing: one failed condition cancels it with the reasons per item.
// ---------------------------------------------------------------------------------------------------------

export type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

interface Inputs {
  Get: GetCommandInput;
  Put: PutCommandInput;
  Update: UpdateCommandInput;
  Scan: ScanCommandInput;
  TransactWrite: TransactWriteCommandInput;
}
export type CallKind = keyof Inputs;

interface Hook<K extends CallKind> {
  readonly when: (input: Inputs[K]) => boolean;
  readonly action: () => Promise<void> | void;
}

class ValidationException extends Error {
  constructor(message: string) {
    super(`in-memory dynamodb: ${message}`);
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
    if (match === null) throw new ValidationException(`cannot read "${expression}" at ${index}`);
    tokens.push(match[1]!);
    index = pattern.lastIndex;
  }
  return tokens;
}

/** Every #name and :value used must be defined, and every one defined must be used (as DynamoDB checks). */
function checkPlaceholders(expressions: readonly (string | undefined)[], names: Names, values: Values): void {
  const used = new Set(expressions.flatMap((expression) => (expression ? tokenize(expression) : [])));
  for (const token of used) {
    if (token.startsWith('#') && names?.[token] === undefined)
      throw new ValidationException(`${token} is not in ExpressionAttributeNames`);
    if (token.startsWith(':') && (values === undefined || !(token in values)))
      throw new ValidationException(`${token} is not in ExpressionAttributeValues`);
  }
  for (const defined of [...Object.keys(names ?? {}), ...Object.keys(values ?? {})]) {
    if (!used.has(defined)) throw new ValidationException(`${defined} is defined but not used`);
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
    if (token === undefined)
      throw new ValidationException(`expression ended early: ${this.tokens.join(' ')}`);
    return token;
  }
  expect(token: string): void {
    const actual = this.next();
    if (actual !== token) throw new ValidationException(`expected ${token}, got ${actual}`);
  }
  done(): boolean {
    return this.position >= this.tokens.length;
  }
  attribute(token: string): string {
    if (token.startsWith(':') || /^[(),<>=]/.test(token))
      throw new ValidationException(`expected an attribute, got ${token}`);
    return token.startsWith('#') ? this.names![token]! : token;
  }
  value(token: string): unknown {
    if (!token.startsWith(':')) throw new ValidationException(`expected a value, got ${token}`);
    return this.values![token];
  }
}

function isComparable(value: unknown): value is number | string | boolean {
  return typeof value === 'number' || typeof value === 'string' || typeof value === 'boolean';
}

/** DynamoDB's comparison: false whenever an operand is missing or the types differ. */
function compare(left: unknown, operator: string, right: unknown): boolean {
  if (!isComparable(left) || !isComparable(right)) return false;
  if (typeof left !== typeof right) return operator === '<>';
  switch (operator) {
    case '=':
      return left === right;
    case '<>':
      return left !== right;
    case '<':
      return left < right;
    case '<=':
      return left <= right;
    case '>':
      return left > right;
    case '>=':
      return left >= right;
    default:
      throw new ValidationException(`unknown comparator ${operator}`);
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
    if (token === 'NOT') {
      reader.next();
      return !primary();
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
    if (operator === 'IN') {
      reader.expect('(');
      const candidates = [operand()];
      while (reader.peek() === ',') {
        reader.next();
        candidates.push(operand());
      }
      reader.expect(')');
      return candidates.some((candidate) => compare(left, '=', candidate));
    }
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
  if (!reader.done()) throw new ValidationException(`trailing tokens in "${expression}"`);
  return result;
}

/** `SET a = :v, #b = :w` (values only: no functions, no arithmetic) and `REMOVE a, b`. */
function applyUpdate(
  expression: string,
  current: Item,
  keyAttributes: readonly string[],
  names: Names,
  values: Values,
): Item {
  const reader = new Reader(tokenize(expression), names, values);
  const updated: Item = structuredClone(current);
  const touched = new Set<string>();
  let clause: 'SET' | 'REMOVE' | undefined;
  while (!reader.done()) {
    const token = reader.next();
    if (token === 'SET' || token === 'REMOVE') {
      clause = token;
      continue;
    }
    if (token === ',') continue;
    const attribute = reader.attribute(token);
    if (keyAttributes.includes(attribute))
      throw new ValidationException(`cannot update key attribute ${attribute}`);
    if (touched.has(attribute)) throw new ValidationException(`two document paths overlap: ${attribute}`);
    touched.add(attribute);
    if (clause === 'SET') {
      reader.expect('=');
      const valueToken = reader.next();
      if (
        reader.peek() !== undefined &&
        reader.peek() !== ',' &&
        reader.peek() !== 'REMOVE' &&
        reader.peek() !== 'SET'
      )
        throw new ValidationException(`unsupported update expression "${expression}"`);
      updated[attribute] = structuredClone(reader.value(valueToken));
    } else if (clause === 'REMOVE') {
      delete updated[attribute];
    } else {
      throw new ValidationException(`unsupported update expression "${expression}"`);
    }
  }
  return updated;
}

function conditionFailed(): ConditionalCheckFailedException {
  return new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} });
}

export class InMemoryDynamoDb {
  /** Runs before each call is served: lets concurrent callers interleave. */
  latency: () => Promise<void> = async () => {};
  /** Items per Scan page, counted before the filter (as DynamoDB's Limit). */
  scanPageSize = Number.POSITIVE_INFINITY;

  private readonly tables = new Map<string, Map<string, Item>>();
  private readonly hooks: { [K in CallKind]: Hook<K>[] } = {
    Get: [],
    Put: [],
    Update: [],
    Scan: [],
    TransactWrite: [],
  };

  /** `schemas`: table name → its key attributes (partition key, then sort key if any). */
  constructor(private readonly schemas: Readonly<Record<string, readonly string[]>>) {
    for (const name of Object.keys(schemas)) this.tables.set(name, new Map());
  }

  /** Serves Get, Put, Update, Scan and TransactWrite of `client` from these tables; anything else fails. */
  install(client: AwsClientStub<DynamoDBDocumentClient>): void {
    client.onAnyCommand().rejects(new Error('in-memory dynamodb: unexpected command'));
    client.on(GetCommand).callsFake((input: GetCommandInput) => this.get(input));
    client.on(PutCommand).callsFake((input: PutCommandInput) => this.put(input));
    client.on(UpdateCommand).callsFake((input: UpdateCommandInput) => this.update(input));
    client.on(ScanCommand).callsFake((input: ScanCommandInput) => this.scan(input));
    client
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) => this.transactWrite(input));
  }

  seed(tableName: string, ...items: readonly Item[]): void {
    for (const item of items) this.table(tableName).set(this.keyOf(tableName, item), structuredClone(item));
  }

  item(tableName: string, key: Item): Item | undefined {
    const item = this.table(tableName).get(this.keyOf(tableName, key));
    return item === undefined ? undefined : structuredClone(item);
  }

  all(tableName: string): Item[] {
    return [...this.table(tableName).values()].map((item) => structuredClone(item));
  }

  patch(tableName: string, key: Item, changes: Item): void {
    const current = this.item(tableName, key);
    if (current === undefined) throw new Error(`in-memory dynamodb: no item ${JSON.stringify(key)} to patch`);
    this.seed(tableName, { ...current, ...changes });
  }

  remove(tableName: string, key: Item): void {
    this.table(tableName).delete(this.keyOf(tableName, key));
  }

  /**
   * Runs `action` (once) just before the first later call of `kind` for which `when` holds is served. When the
   * action throws, that call fails with its error (and changes nothing).
   */
  before<K extends CallKind>(
    kind: K,
    when: (input: Inputs[K]) => boolean,
    action: () => Promise<void> | void,
  ): void {
    (this.hooks[kind] as Hook<K>[]).push({ when, action });
  }

  async get(input: GetCommandInput): Promise<GetCommandOutput> {
    await this.serve('Get', input);
    const tableName = this.tableNameOf(input.TableName);
    checkPlaceholders([input.ProjectionExpression], input.ExpressionAttributeNames, undefined);
    if (input.ProjectionExpression !== undefined)
      throw new ValidationException('ProjectionExpression is not supported');
    const item = this.table(tableName).get(this.exactKeyOf(tableName, input.Key));
    return { $metadata: {}, ...(item === undefined ? {} : { Item: structuredClone(item) }) };
  }

  async put(input: PutCommandInput): Promise<PutCommandOutput> {
    await this.serve('Put', input);
    const tableName = this.tableNameOf(input.TableName);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.ConditionExpression], names, values);
    const item = input.Item ?? {};
    const key = this.keyOf(tableName, item);
    if (!conditionHolds(input.ConditionExpression, this.table(tableName).get(key), names, values))
      throw conditionFailed();
    this.table(tableName).set(key, structuredClone(item));
    return { $metadata: {} };
  }

  async update(input: UpdateCommandInput): Promise<UpdateCommandOutput> {
    await this.serve('Update', input);
    const tableName = this.tableNameOf(input.TableName);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.UpdateExpression, input.ConditionExpression], names, values);
    const key = this.exactKeyOf(tableName, input.Key);
    const current = this.table(tableName).get(key);
    if (!conditionHolds(input.ConditionExpression, current, names, values)) throw conditionFailed();
    const updated = this.updated(tableName, input.Key ?? {}, current, input.UpdateExpression, names, values);
    this.table(tableName).set(key, updated);
    if (input.ReturnValues !== undefined && input.ReturnValues !== 'NONE' && input.ReturnValues !== 'ALL_NEW')
      throw new ValidationException(`ReturnValues ${input.ReturnValues} is not supported`);
    return {
      $metadata: {},
      ...(input.ReturnValues === 'ALL_NEW' ? { Attributes: structuredClone(updated) } : {}),
    };
  }

  async scan(input: ScanCommandInput): Promise<ScanCommandOutput> {
    await this.serve('Scan', input);
    const tableName = this.tableNameOf(input.TableName);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.FilterExpression, input.ProjectionExpression], names, values);
    if (input.ProjectionExpression !== undefined)
      throw new ValidationException('ProjectionExpression is not supported');
    const all = [...this.table(tableName).entries()];
    let start = 0;
    if (input.ExclusiveStartKey !== undefined) {
      const startKey = this.exactKeyOf(tableName, input.ExclusiveStartKey);
      start = all.findIndex(([key]) => key === startKey) + 1;
      if (start === 0) throw new Error('in-memory dynamodb: ExclusiveStartKey is not an item of this table');
    }
    const pageSize = Math.min(this.scanPageSize, input.Limit ?? Number.POSITIVE_INFINITY);
    const page = all.slice(start, start + pageSize);
    const last = page.at(-1)?.[1];
    const more = start + page.length < all.length;
    return {
      $metadata: {},
      Items: page
        .map(([, item]) => structuredClone(item))
        .filter((item) => conditionHolds(input.FilterExpression, item, names, values)),
      ...(more && last !== undefined ? { LastEvaluatedKey: this.keyAttributesOf(tableName, last) } : {}),
    };
  }

  async transactWrite(input: TransactWriteCommandInput): Promise<TransactWriteCommandOutput> {
    await this.serve('TransactWrite', input);
    const actions = input.TransactItems ?? [];
    if (actions.length === 0 || actions.length > 100)
      throw new ValidationException(`a transaction has 1 to 100 items, got ${actions.length}`);
    const targets = actions.map((action) => this.targetOf(action));
    const ids = targets.map(({ tableName, key }) => `${tableName}|${key}`);
    if (new Set(ids).size !== ids.length)
      throw new ValidationException('transaction request cannot include multiple operations on one item');
    const reasons = actions.map((action, index) => {
      const { tableName, key } = targets[index]!;
      const operation = action.Put ?? action.Update ?? action.Delete ?? action.ConditionCheck;
      checkPlaceholders(
        [operation?.ConditionExpression, action.Update?.UpdateExpression],
        operation?.ExpressionAttributeNames,
        operation?.ExpressionAttributeValues,
      );
      const holds = conditionHolds(
        operation?.ConditionExpression,
        this.table(tableName).get(key),
        operation?.ExpressionAttributeNames,
        operation?.ExpressionAttributeValues,
      );
      return holds
        ? { Code: 'None' }
        : { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' };
    });
    if (reasons.some((reason) => reason.Code !== 'None')) {
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`,
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    for (const [index, action] of actions.entries()) {
      const { tableName, key } = targets[index]!;
      const table = this.table(tableName);
      if (action.Put) table.set(key, structuredClone(action.Put.Item ?? {}));
      else if (action.Delete) table.delete(key);
      else if (action.Update) {
        const { Key, UpdateExpression, ExpressionAttributeNames, ExpressionAttributeValues } = action.Update;
        table.set(
          key,
          this.updated(
            tableName,
            Key ?? {},
            table.get(key),
            UpdateExpression,
            ExpressionAttributeNames,
            ExpressionAttributeValues,
          ),
        );
      }
    }
    return { $metadata: {} };
  }

  private updated(
    tableName: string,
    key: Item,
    current: Item | undefined,
    expression: string | undefined,
    names: Names,
    values: Values,
  ): Item {
    if (expression === undefined) throw new ValidationException('an update needs an UpdateExpression');
    const keyAttributes = this.schemas[tableName]!;
    return applyUpdate(expression, { ...current, ...key }, keyAttributes, names, values);
  }

  private targetOf(action: TransactItem): { tableName: string; key: string } {
    if (action.Put) {
      const tableName = this.tableNameOf(action.Put.TableName);
      return { tableName, key: this.keyOf(tableName, action.Put.Item ?? {}) };
    }
    const operation = action.Update ?? action.Delete ?? action.ConditionCheck;
    if (operation === undefined) throw new ValidationException('a transaction item needs one operation');
    const tableName = this.tableNameOf(operation.TableName);
    return { tableName, key: this.exactKeyOf(tableName, operation.Key) };
  }

  private async serve<K extends CallKind>(kind: K, input: Inputs[K]): Promise<void> {
    await this.latency();
    const hooks = this.hooks[kind] as Hook<K>[];
    const index = hooks.findIndex((hook) => hook.when(input));
    if (index >= 0) {
      const [hook] = hooks.splice(index, 1);
      await hook!.action();
    }
  }

  private tableNameOf(tableName: string | undefined): string {
    if (tableName === undefined || !this.tables.has(tableName))
      throw new Error(`in-memory dynamodb: unexpected table ${tableName}`);
    return tableName;
  }

  private table(tableName: string): Map<string, Item> {
    return this.tables.get(this.tableNameOf(tableName))!;
  }

  private keyAttributesOf(tableName: string, item: Item): Item {
    return Object.fromEntries(this.schemas[tableName]!.map((attribute) => [attribute, item[attribute]]));
  }

  private keyOf(tableName: string, item: Item): string {
    const parts = this.schemas[tableName]!.map((attribute) => {
      const value = item[attribute];
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new ValidationException(
          `${tableName}: key attribute ${attribute} is missing or not a string/number`,
        );
      return JSON.stringify(value);
    });
    return parts.join('|');
  }

  /** A Key must hold exactly the key attributes. */
  private exactKeyOf(tableName: string, key: Item | undefined): string {
    const given = Object.keys(key ?? {}).sort();
    const expected = [...this.schemas[tableName]!].sort();
    if (given.join(',') !== expected.join(','))
      throw new ValidationException(`${tableName}: the provided key element does not match the schema`);
    return this.keyOf(tableName, key ?? {});
  }
}
