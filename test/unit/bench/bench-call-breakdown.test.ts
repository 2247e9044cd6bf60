import { describe, expect, it } from 'vitest';
import { callBreakdown } from '../../../bench/measure/call-breakdown';

const ledger = {
  component: 'consumer',
  requests: { 'dynamodb:UpdateItem': 200, 'dynamodb:GetItem': 100, 'sns:Publish': 0 },
  readUnits: 50,
  writeUnits: 200,
  sqsBilledRequests: 0,
  snsPublishes: 0,
  snsMessages: 0,
  requestMs: { 'dynamodb:UpdateItem': 1000, 'dynamodb:GetItem': 1500 },
};

describe("where a component's batches spend their time, per API", () => {
  it('gives each API its calls per message and its milliseconds per call, the longest total first', () => {
    // GIVEN 100 messages' ledger
    // WHEN
    const breakdown = callBreakdown(ledger, 100);
    // THEN
    expect(Object.keys(breakdown)).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem', 'sns:Publish']);
    expect(breakdown['dynamodb:UpdateItem']).toEqual({
      calls: 200,
      callsPerMessage: 2,
      totalMs: 1000,
      msPerCall: 5,
    });
    expect(breakdown['dynamodb:GetItem']).toEqual({
      calls: 100,
      callsPerMessage: 1,
      totalMs: 1500,
      msPerCall: 15,
    });
    expect(breakdown['sns:Publish']).toEqual({ calls: 0, callsPerMessage: 0, totalMs: 0, msPerCall: 0 });
  });

  it('counts 0 ms for the APIs of a ledger logged without timings (an older build)', () => {
    // WHEN
    const breakdown = callBreakdown({ ...ledger, requestMs: undefined }, 100);
    // THEN
    expect(breakdown['dynamodb:UpdateItem']).toMatchObject({ calls: 200, totalMs: 0, msPerCall: 0 });
  });

  it.each([0, -1, 1.5])('fails if the message count is %s', (messages) => {
    expect(() => callBreakdown(ledger, messages)).toThrow(RangeError);
  });
});
