import fc from 'fast-check';
import { MAX_BODY_BYTES } from '../../../../reference/functions/http/request-body';
import {
  MAX_ITEMS_PER_ORDER,
  MAX_PAYMENT_AMOUNT,
  MIN_PAYMENT_AMOUNT,
} from '../../../../reference/functions/orders/order-schemas';

// ---------------------------------------------------------------------------------------------------------
// Generators of request bodies for the reference application's POST routes (design.md's contract): valid ones,
// and invalid ones by class — every class must be answered 400 with nothing written. Shared by the unit fuzz test
// (against OrdersApi and an in-memory DynamoDB) and the integration fuzz test (against the emulator).
// ---------------------------------------------------------------------------------------------------------

export const ENDPOINTS = [
  'POST /orders',
  'POST /orders/{orderId}/notes',
  'POST /orders/{orderId}/cancel',
  'POST /orders/{orderId}/payments',
] as const;
export type Endpoint = (typeof ENDPOINTS)[number];

/** The request path of `endpoint` for an order id as it appears in a URL (already encoded). */
export function pathOf(endpoint: Endpoint, encodedOrderId: string): string {
  return endpoint.slice('POST '.length).replace('{orderId}', encodedOrderId);
}

/** A JSON number literal that JSON.stringify cannot write (1e400 parses as Infinity, -0 as -0). */
export class RawNumber {
  constructor(readonly literal: string) {}
}

/** JSON text of `value`, writing each RawNumber as its literal. */
export function toJson(value: unknown): string {
  const literals: string[] = [];
  const text = JSON.stringify(value, (_key, inner: unknown) => {
    if (!(inner instanceof RawNumber)) return inner;
    literals.push(inner.literal);
    return `\u0000raw${literals.length - 1}\u0000`;
  });
  return text.replace(/"\\u0000raw(\d+)\\u0000"/g, (_match, index: string) => literals[Number(index)]!);
}

type Body = Record<string, unknown>;

/** An object with `key` set as an own property, whatever the key (even `__proto__`). */
function withField(body: Body, key: string, value: unknown): Body {
  return Object.fromEntries([...Object.entries(body).filter(([name]) => name !== key), [key, value]]);
}

function without(body: Body, keys: readonly string[]): Body {
  return Object.fromEntries(Object.entries(body).filter(([name]) => !keys.includes(name)));
}

// ---- valid values -------------------------------------------------------------------------------------------

const orderId = fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/);
const sku = fc.stringMatching(/^[A-Za-z0-9_.:-]{1,64}$/);
/** Printable text, some of it outside ASCII (each unit is one or two UTF-16 code units). */
const printable = fc.oneof(
  { weight: 8, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
  { weight: 1, arbitrary: fc.constantFrom('é', 'ß', 'Ω', '中', '😀', '\u00a0') },
);
const nonBlank = (text: string) => text.trim() !== '';
const customerId = fc.oneof(
  fc.string({ unit: printable, minLength: 1, maxLength: 64 }).filter(nonBlank),
  fc.constant('c'.repeat(128)),
);
function freeText(max: number): fc.Arbitrary<string> {
  const unit = fc.oneof({ weight: 10, arbitrary: printable }, fc.constantFrom('\n', '\t', '\r\n'));
  return fc.oneof(
    fc.string({ unit, minLength: 1, maxLength: Math.min(200, max / 2) }).filter(nonBlank),
    fc.constant('n'.repeat(max)),
  );
}
const quantity = fc.integer({ min: 1, max: 1_000_000 });
const line = fc.record({ sku, quantity });
const amount = fc.oneof(
  fc.integer({ min: 1, max: MAX_PAYMENT_AMOUNT }),
  fc.double({ min: MIN_PAYMENT_AMOUNT, max: MAX_PAYMENT_AMOUNT, noNaN: true }),
);

/** The version of the existing order the valid `expectedVersion` names. */
export const CURRENT_VERSION = 1;

const validBodies: Record<Endpoint, fc.Arbitrary<Body>> = {
  'POST /orders': fc.record(
    { customerId, items: fc.array(line, { minLength: 1, maxLength: MAX_ITEMS_PER_ORDER }), orderId },
    { requiredKeys: ['customerId', 'items'] },
  ),
  'POST /orders/{orderId}/notes': fc.record(
    { text: freeText(2000), expectedVersion: fc.constant(CURRENT_VERSION) },
    { requiredKeys: ['text'] },
  ),
  'POST /orders/{orderId}/cancel': fc.record({ reason: freeText(500) }, { requiredKeys: [] }),
  'POST /orders/{orderId}/payments': fc.record({ amount }),
};

/**
 * A valid body of `endpoint` as JSON text, sometimes pretty-printed; the cancel route's body is optional, so it
 * may be absent or blank.
 */
export function validBody(endpoint: Endpoint): fc.Arbitrary<string | undefined> {
  const text = fc
    .tuple(validBodies[endpoint], fc.constantFrom(0, 2))
    .map(([body, indent]) => JSON.stringify(body, null, indent));
  if (endpoint !== 'POST /orders/{orderId}/cancel') return text;
  return fc.oneof(text, fc.constantFrom(undefined, '', ' \n'));
}

// ---- invalid values -----------------------------------------------------------------------------------------

type JsonType = 'string' | 'number' | 'array' | 'object';

const jsonOfEveryType: Record<JsonType | 'boolean' | 'null', fc.Arbitrary<unknown>> = {
  string: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('1', '2.5', 'true', '')),
  number: fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })),
  array: fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }),
  object: fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
  boolean: fc.boolean(),
  null: fc.constant(null),
};

function wrongType(type: JsonType): fc.Arbitrary<unknown> {
  return fc.oneof(
    ...Object.entries(jsonOfEveryType)
      .filter(([name]) => name !== type)
      .map(([, arbitrary]) => arbitrary),
  );
}

const blank = fc.stringMatching(/^[ \t\n\r]{0,8}$/);
const controlCharacter = fc.oneof(fc.integer({ min: 0, max: 0x1f }), fc.integer({ min: 0x7f, max: 0x9f }));
/** A control character other than tab, line feed and carriage return. */
const controlButLineBreak = controlCharacter
  .filter((code) => code !== 0x09 && code !== 0x0a && code !== 0x0d)
  .map((code) => String.fromCharCode(code));
const loneSurrogate = fc.integer({ min: 0xd800, max: 0xdfff }).map((code) => String.fromCharCode(code));
const asciiWord = fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 10 }).filter(nonBlank);

/** `text` with `inserted` in its middle (never at either end, where trimming might remove it). */
function insideOf(text: fc.Arbitrary<string>, inserted: fc.Arbitrary<string>): fc.Arbitrary<string> {
  return fc.tuple(text, inserted, text).map(([before, middle, after]) => `${before}${middle}${after}`);
}

/** A valid id with one character inserted that `legal` (one character of the id's alphabet) refuses. */
function idWithIllegalCharacter(valid: fc.Arbitrary<string>, legal: RegExp): fc.Arbitrary<string> {
  const illegal = fc.oneof(
    fc.constantFrom(' ', '/', '#', '?', '%', '+', '\\', '"', "'", '*', '@', 'é', '😀', '\u202e', '\u200b'),
    controlCharacter.map((code) => String.fromCharCode(code)),
    loneSurrogate,
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((char) => !legal.test(char)),
  );
  return fc
    .tuple(valid, illegal, valid)
    .map(([before, char, after]) => `${before.slice(0, 30)}${char}${after.slice(0, 30)}`);
}

const orderIdClasses = {
  'is empty': fc.constant(''),
  'is over 64 characters': fc.stringMatching(/^[A-Za-z0-9_-]{65,300}$/),
  'has a character outside [A-Za-z0-9_-]': idWithIllegalCharacter(orderId, /^[A-Za-z0-9_-]$/),
};
const skuClasses = {
  'is empty': fc.constant(''),
  'is over 64 characters': fc.stringMatching(/^[A-Za-z0-9_.:-]{65,300}$/),
  'has a character outside [A-Za-z0-9_.:-]': idWithIllegalCharacter(sku, /^[A-Za-z0-9_.:-]$/),
};
function freeTextClasses(max: number) {
  return {
    'is empty or blank': blank,
    [`is over ${max} characters`]: fc.string({
      unit: 'grapheme-ascii',
      minLength: max + 1,
      maxLength: max + 300,
    }),
    'has a control character': insideOf(asciiWord, controlButLineBreak),
    'has a lone surrogate': insideOf(asciiWord, loneSurrogate),
  };
}
const quantityClasses = {
  'is zero or negative': fc.oneof(
    fc.integer({ min: -1_000_000_000, max: 0 }),
    fc.constant(new RawNumber('-0')),
  ),
  'is not an integer': fc.double({ min: -2_000_000, max: 2_000_000, noNaN: true, noInteger: true }),
  'is over 1,000,000': fc.oneof(
    fc.integer({ min: 1_000_001, max: Number.MAX_SAFE_INTEGER }),
    fc.constantFrom(
      2 ** 53,
      1e21,
      1e300,
      new RawNumber('1e400'),
      new RawNumber('123456789012345678901234567890'),
    ),
  ),
  'is a number as text': fc.integer({ min: 1, max: 100 }).map(String),
};

/** Per field: the invalid values of each class. */
interface FieldModel {
  readonly type: JsonType;
  readonly invalid: Readonly<Record<string, fc.Arbitrary<unknown>>>;
}

interface BodyModel {
  readonly required: readonly string[];
  readonly fields: Readonly<Record<string, FieldModel>>;
  readonly optional: boolean;
}

const itemsClasses: Record<string, fc.Arbitrary<unknown>> = {
  'is empty': fc.constant([]),
  [`has more than ${MAX_ITEMS_PER_ORDER} lines`]: fc.array(line, {
    minLength: MAX_ITEMS_PER_ORDER + 1,
    maxLength: MAX_ITEMS_PER_ORDER + 70,
  }),
  'has a line that is not an object': lineReplacedBy(wrongType('object')),
  'has a line without sku or quantity': lineReplacedBy(
    fc.oneof(
      line.map((l) => without(l, ['sku'])),
      line.map((l) => without(l, ['quantity'])),
      fc.constant({}),
    ),
  ),
  'has a line with an unknown field': lineReplacedBy(
    fc
      .tuple(line, fc.string({ minLength: 1, maxLength: 12 }), fc.jsonValue({ maxDepth: 1 }))
      .filter(([, key]) => key !== 'sku' && key !== 'quantity')
      .map(([l, key, value]) => withField(l, key, value)),
  ),
  ...Object.fromEntries(
    Object.entries({ ...skuClasses, 'is not a string': wrongType('string') }).map(([name, bad]) => [
      `has a line whose sku ${name}`,
      lineReplacedBy(fc.tuple(line, bad).map(([l, value]) => withField(l, 'sku', value))),
    ]),
  ),
  ...Object.fromEntries(
    Object.entries({ ...quantityClasses, 'is not a number': wrongType('number') }).map(([name, bad]) => [
      `has a line whose quantity ${name}`,
      lineReplacedBy(fc.tuple(line, bad).map(([l, value]) => withField(l, 'quantity', value))),
    ]),
  ),
};

/** Valid lines, one of them replaced by `bad`. */
function lineReplacedBy(bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown[]> {
  return fc
    .tuple(fc.array(line, { minLength: 1, maxLength: 5 }), bad, fc.nat())
    .map(([lines, badLine, at]) => {
      const copy: unknown[] = [...lines];
      copy.splice(at % (lines.length + 1), 0, badLine);
      return copy;
    });
}

const models: Record<Endpoint, BodyModel> = {
  'POST /orders': {
    required: ['customerId', 'items'],
    optional: false,
    fields: {
      customerId: {
        type: 'string',
        invalid: {
          'is empty or blank': blank,
          'is over 128 characters': fc
            .string({ unit: printable, minLength: 129, maxLength: 400 })
            .filter((text) => text.trim().length > 128),
          'has a control character': insideOf(
            asciiWord,
            controlCharacter.map((c) => String.fromCharCode(c)),
          ),
          'has a lone surrogate': insideOf(asciiWord, loneSurrogate),
        },
      },
      items: { type: 'array', invalid: itemsClasses },
      orderId: { type: 'string', invalid: orderIdClasses },
    },
  },
  'POST /orders/{orderId}/notes': {
    required: ['text'],
    optional: false,
    fields: {
      text: { type: 'string', invalid: freeTextClasses(2000) },
      expectedVersion: {
        type: 'number',
        invalid: {
          'is zero or negative': fc.integer({ min: -1_000_000, max: 0 }),
          'is not an integer': fc.double({ min: -100, max: 1e6, noNaN: true, noInteger: true }),
          'is not a safe integer': fc.constantFrom(
            2 ** 53,
            1e300,
            new RawNumber('1e400'),
            new RawNumber('98765432109876543210'),
          ),
          'is a number as text': fc.constant(String(CURRENT_VERSION)),
        },
      },
    },
  },
  'POST /orders/{orderId}/cancel': {
    required: [],
    optional: true,
    fields: { reason: { type: 'string', invalid: freeTextClasses(500) } },
  },
  'POST /orders/{orderId}/payments': {
    required: ['amount'],
    optional: false,
    fields: {
      amount: {
        type: 'number',
        invalid: {
          'is zero or negative': fc.oneof(
            fc.double({ min: -1e12, max: 0, noNaN: true }),
            fc.constantFrom(new RawNumber('-0'), new RawNumber('1e-400'), new RawNumber('-1e400')),
          ),
          'is over 1,000,000,000': fc.oneof(
            fc.double({ min: MAX_PAYMENT_AMOUNT, minExcluded: true, noNaN: true, noDefaultInfinity: true }),
            fc.constant(new RawNumber('1e400')),
          ),
          'is too small to store (under 1e-130)': fc.double({
            min: Number.MIN_VALUE,
            max: MIN_PAYMENT_AMOUNT,
            maxExcluded: true,
            noNaN: true,
          }),
          'is a number as text': fc.constantFrom('10', '0.5', '1e3'),
        },
      },
    },
  },
};

// ---- invalid bodies by class --------------------------------------------------------------------------------

/** JSON text that does not parse. */
function malformedJson(valid: fc.Arbitrary<Body>): fc.Arbitrary<string> {
  const text = valid.map((body) => JSON.stringify(body));
  return fc.oneof(
    text.chain((json) => fc.integer({ min: 1, max: json.length - 1 }).map((at) => json.slice(0, at))),
    fc.tuple(text, fc.constantFrom('}', ']', ',', 'x', '{}', '"', 'null')).map(([json, junk]) => json + junk),
    fc.constantFrom(
      "{'text': 'hi'}",
      '{text: "hi"}',
      '{"amount": 1,}',
      '{"amount": NaN}',
      '{"amount": Infinity}',
      '{"amount": 0x10}',
      '{"a": 1} // comment',
      'undefined',
      '\ufeff{}',
      '{"a":"\\x41"}',
    ),
    fc
      .string({ minLength: 1, maxLength: 40 })
      .filter((candidate) => nonBlank(candidate) && !parses(candidate)),
  );
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** `json` grown to `bytes` bytes by whitespace after its first character (still valid JSON). */
function paddedTo(json: string, bytes: number): string {
  return `${json[0]}${' '.repeat(Math.max(0, bytes - Buffer.byteLength(json)))}${json.slice(1)}`;
}

/**
 * Each class of invalid body of `endpoint` (named as the clause of "fails if …"), as JSON text or undefined for
 * no body. Every one must be answered 400 with nothing written.
 */
export function invalidBodies(endpoint: Endpoint): Record<string, fc.Arbitrary<string | undefined>> {
  const model = models[endpoint];
  const valid = validBodies[endpoint];
  const fieldNames = Object.keys(model.fields);
  const classes: Record<string, fc.Arbitrary<string | undefined>> = {
    'the body is malformed JSON': malformedJson(valid),
    'the body is JSON but not an object': fc
      .oneof(
        fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
        jsonOfEveryType.string,
        jsonOfEveryType.number,
        jsonOfEveryType.boolean,
        jsonOfEveryType.null,
        valid.map((body) => [body]),
      )
      .map((value) => JSON.stringify(value)),
    'there is an unknown field': fc
      .tuple(
        valid,
        fc.oneof(fc.string({ minLength: 0, maxLength: 16 }), fc.constantFrom('__proto__', 'constructor')),
      )
      .filter(([, key]) => !fieldNames.includes(key))
      .chain(([body, key]) =>
        fc.jsonValue({ maxDepth: 2 }).map((value) => toJson(withField(body, key, value))),
      ),
    'a field has the wrong type': fc
      .tuple(valid, fc.constantFrom(...fieldNames))
      .chain(([body, name]) =>
        wrongType(model.fields[name]!.type).map((value) => toJson(withField(body, name, value))),
      ),
    [`the body is over ${MAX_BODY_BYTES} bytes (even as valid JSON)`]: fc
      .tuple(valid, fc.integer({ min: 1, max: 4096 }), fc.boolean())
      .map(([body, over, asString]) =>
        asString
          ? JSON.stringify(withField(body, 'padding', 'p'.repeat(MAX_BODY_BYTES + over)))
          : paddedTo(JSON.stringify(body), MAX_BODY_BYTES + over),
      ),
  };
  if (!model.optional)
    classes['there is no body, or a blank one'] = fc.constantFrom(undefined, '', ' ', '\r\n\t');
  if (model.required.length > 0) {
    classes['a required field is missing'] = fc
      .tuple(valid, fc.subarray([...model.required], { minLength: 1 }))
      .map(([body, missing]) => toJson(without(body, missing)));
  }
  for (const [name, field] of Object.entries(model.fields)) {
    for (const [problem, values] of Object.entries(field.invalid)) {
      classes[`${name} ${problem}`] = fc
        .tuple(valid, values)
        .map(([body, value]) => toJson(withField(body, name, value)));
    }
  }
  return classes;
}

/** Each class of invalid orderId in a request path, URL-encoded as a client sends it. */
export const invalidPathOrderIds: Record<string, fc.Arbitrary<string>> = {
  'the orderId in the path is over 64 characters': orderIdClasses['is over 64 characters'],
  'the orderId in the path has a character outside [A-Za-z0-9_-]': orderIdClasses[
    'has a character outside [A-Za-z0-9_-]'
  ]
    .filter((id) => !/\p{Cs}/u.test(id)) // a lone surrogate cannot be URL-encoded
    .map(encodeURIComponent),
  'the orderId in the path is empty': fc.constant(''),
  'the orderId in the path is not valid URL encoding': fc
    .tuple(orderId, fc.constantFrom('%', '%E0%A4%A', '%zz', '%C3', '%FF'))
    .map(([id, bad]) => `${id}${bad}`),
};
