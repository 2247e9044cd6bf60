import { describe, expect, it } from 'vitest';
import { InvalidEnvelopeError } from '../../../../functions/runtime/errors';
import { parseEnvelope } from '../../../../functions/runtime/outbox/outbox-message';

const envelope = {
  messageId: 'm-1',
  groupKey: 'order-1',
  sequence: 3,
  type: 'OrderPlaced',
  payload: { total: 5 },
  createdAt: '2026-12-07T00:00:00.000Z',
};

const body = (fields: Record<string, unknown>) => JSON.stringify(fields);

describe('parseEnvelope', () => {
  it('reads an envelope, and only its fields', () => {
    // GIVEN an envelope with one field too many
    const parsed = parseEnvelope(body({ ...envelope, extra: true }));

    // THEN it is the envelope, without the extra field
    expect(parsed).toEqual(envelope);
  });

  it.each([
    ['not JSON', '{', /message body is not JSON/],
    ['an array', '[]', /\(body\): expected an object/],
    ['null', 'null', /\(body\): expected an object/],
    ['a string', '"x"', /\(body\): expected an object/],
  ])('fails if the body is %s', (_what, text, reason) => {
    // WHEN / THEN
    expect(() => parseEnvelope(text)).toThrow(InvalidEnvelopeError);
    expect(() => parseEnvelope(text)).toThrow(reason);
  });

  it.each([
    ['messageId', ''],
    ['messageId', 1],
    ['groupKey', ''],
    ['groupKey', undefined],
    ['type', ''],
    ['type', null],
    ['createdAt', ''],
    ['createdAt', 0],
    ['sequence', 0],
    ['sequence', 1.5],
    ['sequence', '3'],
    ['sequence', undefined],
  ])('fails if %s is %j, naming the field', (field, value) => {
    // GIVEN an envelope with one field wrong
    const text = body({ ...envelope, [field]: value });

    // THEN it is refused with that field named first
    expect(() => parseEnvelope(text)).toThrow(
      new RegExp(`^message body is not an envelope: ${field}: expected`),
    );
  });

  it('names every wrong field', () => {
    expect(() => parseEnvelope(body({ payload: 1 }))).toThrow(
      'message body is not an envelope: messageId: expected a non-empty string; groupKey: expected a non-empty string; sequence: expected an integer ≥ 1; type: expected a non-empty string; createdAt: expected a non-empty string',
    );
  });
});
