import {
  type AttributeValue,
  ConditionalCheckFailedException,
  TransactionCanceledException,
} from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type BatchWriteCommandInput,
  type BatchWriteCommandOutput,
  DeleteCommand,
  type DeleteCommandInput,
  type DeleteCommandOutput,
  type DynamoDBDocumentClient,
  GetCommand,
  type GetCommandInput,
  type GetCommandOutput,
  PutCommand,
  type PutCommandInput,
  type PutCommandOutput,
  QueryCommand,
  type QueryCommandInput,
  type QueryCommandOutput,
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
import { marshall } from '@aws-sdk/util-dynamodb';
import type { AwsClientStub } from 'aws-sdk-client-mock';

// ---------------------------------------------------------------------------------------------------------
// Several in-memory tables (each with its own key schema, and optionally global secondary indexes) behind one
// mocked DynamoDBDocumentClient, for the half-message code, the outbox (its relay, sweeper and repair tool; see
// outbox-table.ts), the projection and the consumer's inbox. It
// evaluates the condition, filter, key-condition and update expressions the way DynamoDB does for the small
// grammar that code uses — comparisons, IN, AND, OR, NOT, parentheses, attribute_exists / attribute_not_exists /
// begins_with; `SET a = :v, b = list_append(if_not_exists(b, :empty), :x), c = c + :n`, `ADD n :delta`,
// `REMOVE a, b` — and fails loudly on anything else, including an unused or undefined expression attribute name
// or value (DynamoDB rejects those too). A transaction is all-or-nothing: one failed condition cancels it with
// the reasons per item (with the old item when ReturnValuesOnConditionCheckFailure is ALL_OLD, marshalled, as
// the real service returns it). A global secondary index is sparse (an item without its key attributes is not in
// it), sorted by its sort key, and projects the keys only, the keys and some attributes, or everything. A
// BatchWriteItem puts and deletes (up to 25 items, each once) with no conditions and leaves nothing unprocessed. A
// Scan that asks for ReturnConsumedCapacity reports scanCapacityUnitsPerPage per page; a Query reports what
// DynamoDB bills: the size of the items it read (as the index projects them, before any filter), in 4 KB units,
// rounded up, half a unit each for an eventually consistent read, at least one such unit per page. A write that
// asks for ReturnConsumedCapacity reports what DynamoDB bills (and every write adds it to `consumedWriteUnits`): the
// larger of the item's old and new size in 1 KB units, at least one, doubled in a transaction (a ConditionCheck
// included), plus for each index it changes one standard write per 1 KB of the projected index item — an item that
// enters or leaves the index, or changes its projected attributes, costs one, one whose index key changes two (the
// old index item deleted, the new one put). A write whose condition fails reports nothing (DynamoDB bills it, but
// the SDK surfaces no capacity in the error).
// ---------------------------------------------------------------------------------------------------------

export type Item = Record<string, unknown>;
type Names = Record<string, string> | undefined;
type Values = Record<string, unknown> | undefined;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

interface Inputs {
  Get: GetCommandInput;
  Put: PutCommandInput;
  Update: UpdateCommandInput;
  Delete: DeleteCommandInput;
  Query: QueryCommandInput;
  Scan: ScanCommandInput;
  TransactWrite: TransactWriteCommandInput;
  BatchWrite: BatchWriteCommandInput;
}
export type CallKind = keyof Inputs;

/** A global secondary index: its key attributes (partition key, then sort key if any) and what it projects. */
export interface IndexSchema {
  readonly keys: readonly string[];
  /** `INCLUDE` projects the keys and `include`. @default 'ALL' */
  readonly projection?: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  /** The non-key attributes an `INCLUDE` index projects. */
  readonly include?: readonly string[];
}

interface Hook<K extends CallKind> {
  readonly when: (input: Inputs[K]) => boolean;
  readonly action: () => Promise<void> | void;
}

/** The kinds of call that write. */
export type WriteKind = 'Put' | 'Update' | 'Delete' | 'TransactWrite' | 'BatchWrite';
const WRITE_KINDS: ReadonlySet<CallKind> = new Set<CallKind>([
  'Put',
  'Update',
  'Delete',
  'TransactWrite',
  'BatchWrite',
]);

/**
 * What the caller of a write sees when the write was applied and its answer was lost:
 * - `server-error`: a 500 InternalServerError (what a caller sees once the SDK gave up retrying);
 * - `timeout`: the SDK's TimeoutError (the request was sent, no answer came);
 * - `sdk-retry`: the SDK retried the same request once after the lost answer; the caller sees the answer to the
 *   retry, served against the first attempt's effect (e.g. ConditionalCheckFailed against its own write).
 */
export type LostAnswer = 'server-error' | 'timeout' | 'sdk-retry';

interface LostAnswerHook<K extends CallKind> {
  readonly when: (input: Inputs[K]) => boolean;
  readonly outcome: LostAnswer;
}

/** A 500 from DynamoDB, as the SDK surfaces it after its retries. */
export function serverErrorAfterWrite(): Error {
  return Object.assign(new Error('internal server error after the write was applied (in-memory dynamodb)'), {
    name: 'InternalServerError',
    $fault: 'server',
    $metadata: { httpStatusCode: 500 },
  });
}

/** The SDK's error for a request that was sent and timed out. */
export function timeoutAfterWrite(): Error {
  return Object.assign(new Error('request timed out after the write was applied (in-memory dynamodb)'), {
    name: 'TimeoutError',
    $metadata: {},
  });
}

class ValidationException extends Error {
  constructor(message: string) {
    super(`in-memory dynamodb: ${message}`);
    this.name = 'ValidationException';
  }
}

function tokenize(expression: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*(\(|\)|,|<>|<=|>=|=|<|>|\+|-|[#:]?[A-Za-z_][A-Za-z0-9_]*)\s*/y;
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
    if (token.startsWith(':') || /^[(),<>=+-]/.test(token))
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
    if (token === 'begins_with') {
      reader.next();
      reader.expect('(');
      const value = operand();
      reader.expect(',');
      const prefix = operand();
      reader.expect(')');
      return typeof value === 'string' && typeof prefix === 'string' && value.startsWith(prefix);
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

interface Updated {
  readonly item: Item;
  /** The attributes the update sets, adds to or removes. */
  readonly touched: ReadonlySet<string>;
}

/**
 * `SET a = :v, #b = list_append(if_not_exists(#b, :empty), :w), c = c + :n`, `ADD n :delta` (numbers) and
 * `REMOVE a, b`, each clause at most once. Operands are read from the item as it was before the update.
 */
function applyUpdate(
  expression: string,
  current: Item,
  keyAttributes: readonly string[],
  names: Names,
  values: Values,
): Updated {
  const reader = new Reader(tokenize(expression), names, values);
  const updated: Item = structuredClone(current);
  const touched = new Set<string>();
  const clauses = new Set<string>();
  const isClause = (token: string | undefined) =>
    token === 'SET' || token === 'REMOVE' || token === 'ADD' || token === 'DELETE';
  const unsupported = () => new ValidationException(`unsupported update expression "${expression}"`);
  const operand = (): unknown => {
    const token = reader.next();
    if (token === 'if_not_exists') {
      reader.expect('(');
      const attribute = reader.attribute(reader.next());
      reader.expect(',');
      const fallback = operand();
      reader.expect(')');
      return current[attribute] ?? fallback;
    }
    if (token === 'list_append') {
      reader.expect('(');
      const first = operand();
      reader.expect(',');
      const second = operand();
      reader.expect(')');
      if (!Array.isArray(first) || !Array.isArray(second))
        throw new ValidationException('list_append needs two lists');
      return [...first, ...second];
    }
    if (token.startsWith(':')) return reader.value(token);
    const value = current[reader.attribute(token)];
    if (value === undefined)
      throw new ValidationException(`the update refers to ${token}, which the item does not have`);
    return value;
  };
  let clause: string | undefined;
  while (!reader.done()) {
    const token = reader.next();
    if (isClause(token)) {
      if (clauses.has(token)) throw new ValidationException(`two ${token} clauses in "${expression}"`);
      clauses.add(token);
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
      let value = operand();
      const operator = reader.peek();
      if (operator === '+' || operator === '-') {
        reader.next();
        const right = operand();
        if (typeof value !== 'number' || typeof right !== 'number')
          throw new ValidationException(`${operator} needs two numbers`);
        value = operator === '+' ? value + right : value - right;
      }
      updated[attribute] = structuredClone(value);
    } else if (clause === 'ADD') {
      const delta = reader.value(reader.next());
      const existing = current[attribute] ?? 0;
      if (typeof delta !== 'number' || typeof existing !== 'number')
        throw new ValidationException('ADD is supported for numbers only');
      updated[attribute] = existing + delta;
    } else if (clause === 'REMOVE') {
      delete updated[attribute];
    } else {
      throw unsupported();
    }
    const next = reader.peek();
    if (next !== undefined && next !== ',' && !isClause(next)) throw unsupported();
  }
  return { item: updated, touched };
}

function picked(item: Item, attributes: Iterable<string>): Item {
  const result: Item = {};
  for (const attribute of attributes)
    if (item[attribute] !== undefined) result[attribute] = structuredClone(item[attribute]);
  return result;
}

/** An item's size as DynamoDB counts it: each attribute's name plus its value (strings in UTF-8 bytes). */
export function itemSize(item: Item): number {
  return Object.entries(item).reduce(
    (bytes, [name, value]) => bytes + Buffer.byteLength(name) + valueSize(value),
    0,
  );
}

function valueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number') return Math.ceil(String(value).replace(/^-|\./g, '').length / 2) + 1;
  if (Array.isArray(value))
    return 3 + value.reduce((bytes: number, entry) => bytes + 1 + valueSize(entry), 0);
  if (typeof value === 'object' && value !== null) return 3 + itemSize(value as Item);
  return 1;
}

/** Read units of `bytes` read by one request: 4 KB units, rounded up, halved unless consistent; at least one. */
function readUnits(bytes: number, consistent: boolean): number {
  return Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
}

/** The parallel Scan segment of an item's key: a stable hash of it, modulo the segments. */
function segmentOf(key: string, totalSegments: number): number {
  let hash = 0;
  for (const char of key) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % totalSegments;
}

/** Write units of an item of `bytes`: 1 KB units, rounded up, at least one. */
function writeUnitsOf(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / 1024));
}

/** What one write consumed: its table's units (doubled in a transaction by the caller) and its indexes'. */
interface WriteCost {
  readonly table: number;
  readonly indexes: number;
}

/** An item as the service puts it into an error (ReturnValuesOnConditionCheckFailure): in DynamoDB JSON. */
function marshalled(item: Item | undefined): Record<string, AttributeValue> | undefined {
  return item === undefined ? undefined : marshall(item, { removeUndefinedValues: true });
}

function conditionFailed(old?: Item, returnOld?: string): ConditionalCheckFailedException {
  const item = returnOld === 'ALL_OLD' ? marshalled(old) : undefined;
  return new ConditionalCheckFailedException({
    message: 'The conditional request failed',
    $metadata: {},
    ...(item === undefined ? {} : { Item: item }),
  });
}

/** `pk = :pk AND begins_with(sk, :prefix)` and the like: the partition key by equality, maybe a sort key test. */
function keyConditionHolds(
  expression: string | undefined,
  keys: readonly string[],
  names: Names,
  values: Values,
): (item: Item) => boolean {
  if (expression === undefined) throw new ValidationException('a Query needs a KeyConditionExpression');
  const [partitionKey, sortKey] = keys;
  const reader = new Reader(tokenize(expression), names, values);
  const tests: Array<{ attribute: string; holds: (value: unknown) => boolean }> = [];
  do {
    if (tests.length > 0) reader.expect('AND');
    if (reader.peek() === 'begins_with') {
      reader.next();
      reader.expect('(');
      const attribute = reader.attribute(reader.next());
      reader.expect(',');
      const prefix = reader.value(reader.next());
      reader.expect(')');
      if (attribute !== sortKey)
        throw new ValidationException(`begins_with on ${attribute}, not the sort key`);
      tests.push({
        attribute,
        holds: (value) => typeof value === 'string' && typeof prefix === 'string' && value.startsWith(prefix),
      });
      continue;
    }
    const attribute = reader.attribute(reader.next());
    const operator = reader.next();
    if (!['=', '<', '<=', '>', '>='].includes(operator))
      throw new ValidationException(`unsupported key condition "${expression}"`);
    const right = reader.value(reader.next());
    if (attribute !== sortKey && !(attribute === partitionKey && operator === '='))
      throw new ValidationException(`${attribute} ${operator} is not a key condition of this table or index`);
    tests.push({ attribute, holds: (value) => compare(value, operator, right) });
  } while (!reader.done());
  if (!tests.some((test) => test.attribute === partitionKey))
    throw new ValidationException('the key condition must test the partition key');
  if (new Set(tests.map((test) => test.attribute)).size !== tests.length)
    throw new ValidationException(`a key attribute is tested twice in "${expression}"`);
  return (item) => tests.every((test) => test.holds(item[test.attribute]));
}

/** `a, #b` (top-level attributes only). */
function projectionOf(expression: string, names: Names): string[] {
  const reader = new Reader(tokenize(expression), names, undefined);
  const attributes: string[] = [];
  while (!reader.done()) {
    if (attributes.length > 0) reader.expect(',');
    attributes.push(reader.attribute(reader.next()));
  }
  return attributes;
}

function compareKeys(left: unknown, right: unknown): number {
  if (left === right) return 0;
  return compare(left, '<', right) ? -1 : 1;
}

export class InMemoryDynamoDb {
  /** Runs before each call is served: lets concurrent callers interleave. */
  latency: () => Promise<void> = async () => {};
  /** Items per Scan page, counted before the filter (as DynamoDB's Limit). */
  scanPageSize = Number.POSITIVE_INFINITY;
  /** Items per Query page, counted before the filter (as DynamoDB's Limit). */
  queryPageSize = Number.POSITIVE_INFINITY;
  /** Read capacity each Scan page reports when the call asks for ReturnConsumedCapacity. */
  scanCapacityUnitsPerPage = 0.5;
  /**
   * When true, a Scan page reports what DynamoDB bills instead: the size of the items it read, in 4 KB units,
   * rounded up, half a unit each unless consistent, at least one such unit per page.
   */
  scanBilledBySize = false;
  /** Write units every served write consumed so far, its indexes' included (whether or not the call asked). */
  consumedWriteUnits = 0;

  private readonly tables = new Map<string, Map<string, Item>>();
  /**
   * Per table and index: the keys of the items in the index, in index order, as of the last insert or change of an
   * index key attribute (a deleted item is skipped when read), so a Query need not sort the table each time.
   */
  private readonly indexOrder = new Map<string, string[]>();
  /** Per table: every item a Delete, BatchWrite or transaction deleted, as it was just before. */
  private readonly deletedItems = new Map<string, Item[]>();
  /** Once-only lost answers per kind (see {@link loseAnswer}). */
  private readonly lostAnswers: { [K in CallKind]: LostAnswerHook<K>[] } = {
    Get: [],
    Put: [],
    Update: [],
    Delete: [],
    Query: [],
    Scan: [],
    TransactWrite: [],
    BatchWrite: [],
  };
  /** A lost answer drawn for every write (see {@link loseAnswers}). */
  private lostAnswerRate: { rate: number; random: () => number; outcomes: readonly LostAnswer[] } | undefined;
  /** Client request tokens of committed transactions, with the request they were given for. */
  private readonly transactionTokens = new Map<string, string>();
  /** How many answers were lost so far (applied writes whose caller was told otherwise). */
  lostAnswerCount = 0;
  private readonly hooks: { [K in CallKind]: Hook<K>[] } = {
    Get: [],
    Put: [],
    Update: [],
    Delete: [],
    Query: [],
    Scan: [],
    TransactWrite: [],
    BatchWrite: [],
  };

  /**
   * `schemas`: table name → its key attributes (partition key, then sort key if any); `indexes`: table name →
   * index name → its global secondary index.
   */
  constructor(
    private readonly schemas: Readonly<Record<string, readonly string[]>>,
    private readonly indexes: Readonly<Record<string, Readonly<Record<string, IndexSchema>>>> = {},
  ) {
    for (const name of Object.keys(schemas)) {
      this.tables.set(name, new Map());
      this.deletedItems.set(name, []);
    }
  }

  /**
   * Serves Get, Put, Update, Delete, Query, Scan, TransactWrite and BatchWrite of `client` from these tables;
   * anything else fails.
   */
  install(client: AwsClientStub<DynamoDBDocumentClient>): void {
    client.onAnyCommand().rejects(new Error('in-memory dynamodb: unexpected command'));
    client.on(GetCommand).callsFake((input: GetCommandInput) => this.get(input));
    client
      .on(PutCommand)
      .callsFake((input: PutCommandInput) => this.answered('Put', input, () => this.put(input)));
    client
      .on(UpdateCommand)
      .callsFake((input: UpdateCommandInput) => this.answered('Update', input, () => this.update(input)));
    client
      .on(DeleteCommand)
      .callsFake((input: DeleteCommandInput) => this.answered('Delete', input, () => this.delete(input)));
    client.on(QueryCommand).callsFake((input: QueryCommandInput) => this.query(input));
    client.on(ScanCommand).callsFake((input: ScanCommandInput) => this.scan(input));
    client
      .on(TransactWriteCommand)
      .callsFake((input: TransactWriteCommandInput) =>
        this.answered('TransactWrite', input, () => this.transactWrite(input)),
      );
    client
      .on(BatchWriteCommand)
      .callsFake((input: BatchWriteCommandInput) =>
        this.answered('BatchWrite', input, () => this.batchWrite(input)),
      );
  }

  /**
   * The first later write of `kind` for which `when` holds is applied, and then its answer is lost: the caller
   * sees `outcome` (see {@link LostAnswer}). Only writes made through the installed client are affected.
   */
  loseAnswer<K extends WriteKind>(
    kind: K,
    when: (input: Inputs[K]) => boolean = () => true,
    outcome: LostAnswer = 'server-error',
  ): void {
    (this.lostAnswers[kind] as LostAnswerHook<K>[]).push({ when, outcome });
  }

  /**
   * Every later write made through the installed client is applied, and then, with probability `rate`, its answer
   * is lost: the caller sees one of `outcomes`, drawn with `random`. `rate` 0 turns it off.
   */
  loseAnswers(
    rate: number,
    random: () => number = Math.random,
    outcomes: readonly LostAnswer[] = ['server-error', 'timeout', 'sdk-retry'],
  ): void {
    this.lostAnswerRate = rate > 0 ? { rate, random, outcomes } : undefined;
  }

  /** Serves a write through `apply`; a successful write may then have its answer lost (see {@link loseAnswer}). */
  private async answered<K extends CallKind, R>(
    kind: K,
    input: Inputs[K],
    apply: () => Promise<R>,
  ): Promise<R> {
    const result = await apply();
    if (!WRITE_KINDS.has(kind)) return result;
    const outcome = this.lostAnswerFor(kind, input);
    if (outcome === undefined) return result;
    this.lostAnswerCount++;
    if (outcome === 'server-error') throw serverErrorAfterWrite();
    if (outcome === 'timeout') throw timeoutAfterWrite();
    return apply();
  }

  private lostAnswerFor<K extends CallKind>(kind: K, input: Inputs[K]): LostAnswer | undefined {
    const hooks = this.lostAnswers[kind] as LostAnswerHook<K>[];
    const index = hooks.findIndex((hook) => hook.when(input));
    if (index >= 0) return hooks.splice(index, 1)[0]!.outcome;
    const drawn = this.lostAnswerRate;
    if (drawn === undefined || drawn.random() >= drawn.rate) return undefined;
    return drawn.outcomes[Math.floor(drawn.random() * drawn.outcomes.length)] ?? 'server-error';
  }

  seed(tableName: string, ...items: readonly Item[]): void {
    for (const item of items) this.store(tableName, this.keyOf(tableName, item), structuredClone(item));
  }

  item(tableName: string, key: Item): Item | undefined {
    const item = this.table(tableName).get(this.keyOf(tableName, key));
    return item === undefined ? undefined : structuredClone(item);
  }

  all(tableName: string): Item[] {
    return [...this.table(tableName).values()].map((item) => structuredClone(item));
  }

  /** Every item a served Delete, BatchWrite or transaction deleted from the table, as it was just before, in order. */
  deleted(tableName: string): Item[] {
    this.table(tableName);
    return this.deletedItems.get(tableName)!.map((item) => structuredClone(item));
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
    const old = this.table(tableName).get(key);
    if (!conditionHolds(input.ConditionExpression, old, names, values))
      throw conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
    if (input.ReturnValues !== undefined && input.ReturnValues !== 'NONE' && input.ReturnValues !== 'ALL_OLD')
      throw new ValidationException(`ReturnValues ${input.ReturnValues} is not supported by a Put`);
    const cost = this.store(tableName, key, structuredClone(item));
    return {
      $metadata: {},
      ...this.billed(tableName, [cost], input.ReturnConsumedCapacity),
      ...(input.ReturnValues === 'ALL_OLD' && old !== undefined ? { Attributes: structuredClone(old) } : {}),
    };
  }

  async update(input: UpdateCommandInput): Promise<UpdateCommandOutput> {
    await this.serve('Update', input);
    const tableName = this.tableNameOf(input.TableName);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.UpdateExpression, input.ConditionExpression], names, values);
    const key = this.exactKeyOf(tableName, input.Key);
    const current = this.table(tableName).get(key);
    if (!conditionHolds(input.ConditionExpression, current, names, values))
      throw conditionFailed(current, input.ReturnValuesOnConditionCheckFailure);
    const { item: updated, touched } = this.updated(
      tableName,
      input.Key ?? {},
      current,
      input.UpdateExpression,
      names,
      values,
    );
    const cost = this.store(tableName, key, updated);
    const attributes = (() => {
      switch (input.ReturnValues ?? 'NONE') {
        case 'NONE':
          return undefined;
        case 'ALL_NEW':
          return structuredClone(updated);
        case 'ALL_OLD':
          return current === undefined ? undefined : structuredClone(current);
        case 'UPDATED_NEW':
          return picked(updated, touched);
        case 'UPDATED_OLD':
          return current === undefined ? undefined : picked(current, touched);
        default:
          throw new ValidationException(`ReturnValues ${input.ReturnValues} is not supported`);
      }
    })();
    return {
      $metadata: {},
      ...(attributes === undefined ? {} : { Attributes: attributes }),
      ...this.billed(tableName, [cost], input.ReturnConsumedCapacity),
    };
  }

  async delete(input: DeleteCommandInput): Promise<DeleteCommandOutput> {
    await this.serve('Delete', input);
    const tableName = this.tableNameOf(input.TableName);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders([input.ConditionExpression], names, values);
    const key = this.exactKeyOf(tableName, input.Key);
    const old = this.table(tableName).get(key);
    if (!conditionHolds(input.ConditionExpression, old, names, values))
      throw conditionFailed(old, input.ReturnValuesOnConditionCheckFailure);
    if (input.ReturnValues !== undefined && input.ReturnValues !== 'NONE' && input.ReturnValues !== 'ALL_OLD')
      throw new ValidationException(`ReturnValues ${input.ReturnValues} is not supported by a Delete`);
    const cost = this.deleteItem(tableName, key);
    return {
      $metadata: {},
      ...(input.ReturnValues === 'ALL_OLD' && old !== undefined ? { Attributes: structuredClone(old) } : {}),
      ...this.billed(tableName, [cost], input.ReturnConsumedCapacity),
    };
  }

  async query(input: QueryCommandInput): Promise<QueryCommandOutput> {
    await this.serve('Query', input);
    const tableName = this.tableNameOf(input.TableName);
    const names = input.ExpressionAttributeNames;
    const values = input.ExpressionAttributeValues;
    checkPlaceholders(
      [input.KeyConditionExpression, input.FilterExpression, input.ProjectionExpression],
      names,
      values,
    );
    const tableKeys = this.schemas[tableName]!;
    let index: IndexSchema | undefined;
    if (input.IndexName !== undefined) {
      index = this.indexes[tableName]?.[input.IndexName];
      if (index === undefined) throw new ValidationException(`${tableName} has no index ${input.IndexName}`);
      if (input.ConsistentRead === true)
        throw new ValidationException('consistent reads are not supported on global secondary indexes');
    }
    const keys = index?.keys ?? tableKeys;
    const allKeys = [...new Set([...tableKeys, ...keys])];
    const holds = keyConditionHolds(input.KeyConditionExpression, keys, names, values);
    const [, sortKey] = keys;
    const forward = input.ScanIndexForward ?? true;
    const matching =
      input.IndexName !== undefined
        ? this.indexItems(tableName, input.IndexName, keys).filter(holds)
        : [...this.table(tableName).values()]
            .filter((item) => keys.every((attribute) => item[attribute] !== undefined) && holds(item))
            .sort((left, right) => {
              const order = sortKey === undefined ? 0 : compareKeys(left[sortKey], right[sortKey]);
              return order !== 0
                ? order
                : compareKeys(this.keyOf(tableName, left), this.keyOf(tableName, right));
            });
    if (!forward) matching.reverse();
    // A page starts after its ExclusiveStartKey's position, whether or not that item is still there (as DynamoDB).
    let start = 0;
    if (input.ExclusiveStartKey !== undefined) {
      const startItem = input.ExclusiveStartKey;
      if (allKeys.some((attribute) => startItem[attribute] === undefined))
        throw new ValidationException(`ExclusiveStartKey needs ${allKeys.join(', ')}`);
      this.exactKeyOf(tableName, picked(startItem, tableKeys));
      const after = (item: Item) => {
        const order = sortKey === undefined ? 0 : compareKeys(item[sortKey], startItem[sortKey]);
        const position =
          order !== 0 ? order : compareKeys(this.keyOf(tableName, item), this.keyOf(tableName, startItem));
        return forward ? position > 0 : position < 0;
      };
      start = matching.findIndex(after);
      if (start < 0) start = matching.length;
    }
    const pageSize = Math.min(this.queryPageSize, input.Limit ?? Number.POSITIVE_INFINITY);
    const page = matching.slice(start, start + pageSize);
    const last = page.at(-1);
    const more = start + page.length < matching.length;
    const projectedAttributes =
      index?.projection === 'KEYS_ONLY'
        ? allKeys
        : index?.projection === 'INCLUDE'
          ? [...allKeys, ...(index.include ?? [])]
          : undefined;
    const visible = (item: Item): Item =>
      projectedAttributes === undefined ? item : picked(item, projectedAttributes);
    let projected: (item: Item) => Item = (item) => structuredClone(visible(item));
    if (input.ProjectionExpression !== undefined) {
      const attributes = projectionOf(input.ProjectionExpression, names);
      if (projectedAttributes !== undefined) {
        const missing = attributes.filter((attribute) => !projectedAttributes.includes(attribute));
        if (missing.length > 0)
          throw new ValidationException(`${input.IndexName} does not project ${missing.join(', ')}`);
      }
      projected = (item) => picked(item, attributes);
    }
    return {
      $metadata: {},
      Items: page
        .filter((item) => conditionHolds(input.FilterExpression, visible(item), names, values))
        .map(projected),
      ...(more && last !== undefined ? { LastEvaluatedKey: picked(last, allKeys) } : {}),
      ...(input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES'
        ? {
            ConsumedCapacity: {
              TableName: tableName,
              CapacityUnits: readUnits(
                page.reduce((bytes, item) => bytes + itemSize(visible(item)), 0),
                input.ConsistentRead === true,
              ),
            },
          }
        : {}),
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
    // A parallel Scan's segment holds the items whose key hashes to it (every item is in exactly one segment).
    const total = input.TotalSegments;
    const segment = input.Segment;
    if ((total === undefined) !== (segment === undefined))
      throw new ValidationException('Segment and TotalSegments go together');
    if (total !== undefined && segment !== undefined && !(segment >= 0 && segment < total))
      throw new ValidationException(`Segment ${segment} is not below TotalSegments ${total}`);
    const all = [...this.table(tableName).entries()].filter(
      ([key]) => total === undefined || segmentOf(key, total) === segment,
    );
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
      ScannedCount: page.length,
      Items: page
        .map(([, item]) => structuredClone(item))
        .filter((item) => conditionHolds(input.FilterExpression, item, names, values)),
      ...(more && last !== undefined ? { LastEvaluatedKey: this.keyAttributesOf(tableName, last) } : {}),
      ...(input.ReturnConsumedCapacity === 'TOTAL' || input.ReturnConsumedCapacity === 'INDEXES'
        ? {
            ConsumedCapacity: {
              TableName: tableName,
              CapacityUnits: this.scanBilledBySize
                ? readUnits(
                    page.reduce((bytes, [, item]) => bytes + itemSize(item), 0),
                    input.ConsistentRead === true,
                  )
                : this.scanCapacityUnitsPerPage,
            },
          }
        : {}),
    };
  }

  async transactWrite(input: TransactWriteCommandInput): Promise<TransactWriteCommandOutput> {
    await this.serve('TransactWrite', input);
    // A ClientRequestToken makes a repeat of a committed transaction a success that changes nothing (as DynamoDB,
    // within its 10-minute window); the same token with another request is refused.
    const token = input.ClientRequestToken;
    const request = JSON.stringify(input.TransactItems ?? []);
    if (token !== undefined && this.transactionTokens.has(token)) {
      if (this.transactionTokens.get(token) !== request)
        throw Object.assign(new Error('in-memory dynamodb: ClientRequestToken reused with another request'), {
          name: 'IdempotentParameterMismatchException',
          $fault: 'client',
          $metadata: { httpStatusCode: 400 },
        });
      return { $metadata: {} };
    }
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
      const current = this.table(tableName).get(key);
      const holds = conditionHolds(
        operation?.ConditionExpression,
        current,
        operation?.ExpressionAttributeNames,
        operation?.ExpressionAttributeValues,
      );
      if (holds) return { Code: 'None' };
      const old =
        operation?.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' ? marshalled(current) : undefined;
      return {
        Code: 'ConditionalCheckFailed',
        Message: 'The conditional request failed',
        ...(old === undefined ? {} : { Item: old }),
      };
    });
    if (reasons.some((reason) => reason.Code !== 'None')) {
      throw new TransactionCanceledException({
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons.map((reason) => reason.Code).join(', ')}]`,
        $metadata: {},
        CancellationReasons: reasons,
      });
    }
    const costs: Array<{ tableName: string; cost: WriteCost }> = [];
    for (const [index, action] of actions.entries()) {
      const { tableName, key } = targets[index]!;
      const table = this.table(tableName);
      const current = table.get(key);
      if (action.Put)
        costs.push({ tableName, cost: this.store(tableName, key, structuredClone(action.Put.Item ?? {})) });
      else if (action.Delete) costs.push({ tableName, cost: this.deleteItem(tableName, key) });
      else if (action.ConditionCheck)
        costs.push({
          tableName,
          cost: { table: writeUnitsOf(current === undefined ? 0 : itemSize(current)), indexes: 0 },
        });
      else if (action.Update) {
        const { Key, UpdateExpression, ExpressionAttributeNames, ExpressionAttributeValues } = action.Update;
        const cost = this.store(
          tableName,
          key,
          this.updated(
            tableName,
            Key ?? {},
            table.get(key),
            UpdateExpression,
            ExpressionAttributeNames,
            ExpressionAttributeValues,
          ).item,
        );
        costs.push({ tableName, cost });
      }
    }
    if (token !== undefined) this.transactionTokens.set(token, request);
    return { $metadata: {}, ...this.billedPerTable(costs, input.ReturnConsumedCapacity, true) };
  }

  /** Puts and deletes, unconditionally; every request is processed (UnprocessedItems is always empty). */
  async batchWrite(input: BatchWriteCommandInput): Promise<BatchWriteCommandOutput> {
    await this.serve('BatchWrite', input);
    const writes = Object.entries(input.RequestItems ?? {}).flatMap(([tableName, requests]) =>
      requests.map((request) => {
        this.tableNameOf(tableName);
        const { PutRequest, DeleteRequest } = request;
        if ((PutRequest === undefined) === (DeleteRequest === undefined))
          throw new ValidationException('a batch write request needs one PutRequest or DeleteRequest');
        const key = PutRequest
          ? this.keyOf(tableName, PutRequest.Item ?? {})
          : this.exactKeyOf(tableName, DeleteRequest?.Key);
        return { tableName, key, item: PutRequest?.Item };
      }),
    );
    if (writes.length === 0 || writes.length > 25)
      throw new ValidationException(`a batch write has 1 to 25 requests, got ${writes.length}`);
    const ids = writes.map(({ tableName, key }) => `${tableName}|${key}`);
    if (new Set(ids).size !== ids.length)
      throw new ValidationException('provided list of item keys contains duplicates');
    const costs = writes.map(({ tableName, key, item }) => ({
      tableName,
      cost:
        item === undefined
          ? this.deleteItem(tableName, key)
          : this.store(tableName, key, structuredClone(item)),
    }));
    return {
      $metadata: {},
      UnprocessedItems: {},
      ...this.billedPerTable(costs, input.ReturnConsumedCapacity, false),
    };
  }

  /**
   * Stores an item; a new item, or one whose index key attributes changed, reorders the table's indexes. Returns
   * what the write costs (see {@link writeCost}).
   */
  private store(tableName: string, key: string, item: Item): WriteCost {
    const table = this.table(tableName);
    const old = table.get(key);
    const indexKeys = Object.values(this.indexes[tableName] ?? {}).flatMap((index) => index.keys);
    if (old === undefined || indexKeys.some((attribute) => old[attribute] !== item[attribute])) {
      for (const indexName of Object.keys(this.indexes[tableName] ?? {}))
        this.indexOrder.delete(`${tableName}|${indexName}`);
    }
    table.set(key, item);
    return this.writeCost(tableName, old, item);
  }

  /**
   * What DynamoDB bills for changing `old` into `next` (undefined: absent): the larger size in 1 KB units on the
   * table, and on each index the item is or was in, one unit per 1 KB of the projected index item it puts or
   * deletes — two writes when the index key changes, none when neither its key nor its projection changes.
   */
  private writeCost(tableName: string, old: Item | undefined, next: Item | undefined): WriteCost {
    const table = writeUnitsOf(
      Math.max(old === undefined ? 0 : itemSize(old), next === undefined ? 0 : itemSize(next)),
    );
    const tableKeys = this.schemas[tableName]!;
    let indexes = 0;
    for (const index of Object.values(this.indexes[tableName] ?? {})) {
      const inIndex = (item: Item | undefined) =>
        item !== undefined && index.keys.every((attribute) => item[attribute] !== undefined);
      const projected = (item: Item): Item =>
        index.projection === 'KEYS_ONLY'
          ? picked(item, [...tableKeys, ...index.keys])
          : index.projection === 'INCLUDE'
            ? picked(item, [...tableKeys, ...index.keys, ...(index.include ?? [])])
            : item;
      const before = inIndex(old) ? projected(old!) : undefined;
      const after = inIndex(next) ? projected(next!) : undefined;
      if (before === undefined && after === undefined) continue;
      if (before === undefined) indexes += writeUnitsOf(itemSize(after!));
      else if (after === undefined) indexes += writeUnitsOf(itemSize(before));
      else if (index.keys.some((attribute) => before[attribute] !== after[attribute]))
        indexes += writeUnitsOf(itemSize(before)) + writeUnitsOf(itemSize(after));
      else if (JSON.stringify(before) !== JSON.stringify(after))
        indexes += writeUnitsOf(Math.max(itemSize(before), itemSize(after)));
    }
    return { table, indexes };
  }

  /** A multi-table write's costs (BatchWriteItem, TransactWriteItems): one ConsumedCapacity entry per table. */
  private billedPerTable(
    costs: ReadonlyArray<{ tableName: string; cost: WriteCost }>,
    returnConsumedCapacity: string | undefined,
    transactional: boolean,
  ): { ConsumedCapacity?: Array<{ TableName: string; CapacityUnits: number }> } {
    const tables = [...new Set(costs.map(({ tableName }) => tableName))];
    const entries = tables.map((tableName) => ({
      TableName: tableName,
      CapacityUnits:
        this.billed(
          tableName,
          costs.filter((cost) => cost.tableName === tableName).map(({ cost }) => cost),
          'TOTAL',
          transactional,
        ).ConsumedCapacity?.CapacityUnits ?? 0,
    }));
    return returnConsumedCapacity === 'TOTAL' || returnConsumedCapacity === 'INDEXES'
      ? { ConsumedCapacity: entries }
      : {};
  }

  /** Adds a request's write costs to `consumedWriteUnits`; the ConsumedCapacity to answer when the call asks. */
  private billed(
    tableName: string,
    costs: readonly WriteCost[],
    returnConsumedCapacity: string | undefined,
    transactional = false,
  ): { ConsumedCapacity?: { TableName: string; CapacityUnits: number } } {
    const units = costs.reduce((sum, cost) => sum + cost.table * (transactional ? 2 : 1) + cost.indexes, 0);
    this.consumedWriteUnits += units;
    return returnConsumedCapacity === 'TOTAL' || returnConsumedCapacity === 'INDEXES'
      ? { ConsumedCapacity: { TableName: tableName, CapacityUnits: units } }
      : {};
  }

  /** The items of an index, in its order (by its sort key, then by the table's key). */
  private indexItems(tableName: string, indexName: string, keys: readonly string[]): Item[] {
    const table = this.table(tableName);
    const id = `${tableName}|${indexName}`;
    let order = this.indexOrder.get(id);
    if (order === undefined) {
      const [, sortKey] = keys;
      order = [...table.entries()]
        .filter(([, item]) => keys.every((attribute) => item[attribute] !== undefined))
        .map(([key, item]) => ({ key, sort: sortKey === undefined ? undefined : item[sortKey] }))
        .sort((left, right) => compareKeys(left.sort, right.sort) || compareKeys(left.key, right.key))
        .map(({ key }) => key);
      this.indexOrder.set(id, order);
    }
    return order.flatMap((key) => {
      const item = table.get(key);
      return item === undefined ? [] : [item];
    });
  }

  private deleteItem(tableName: string, key: string): WriteCost {
    const table = this.table(tableName);
    const old = table.get(key);
    if (old === undefined) return { table: 1, indexes: 0 };
    this.deletedItems.get(tableName)!.push(structuredClone(old));
    table.delete(key);
    return this.writeCost(tableName, old, undefined);
  }

  private updated(
    tableName: string,
    key: Item,
    current: Item | undefined,
    expression: string | undefined,
    names: Names,
    values: Values,
  ): Updated {
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
