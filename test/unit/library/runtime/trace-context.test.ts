import { describe, expect, it } from 'vitest';
import {
  isTraceparent,
  newTraceparent,
  traceparentFor,
  traceparentFromXRay,
  XRAY_TRACE_ENV,
} from '../../../../functions/runtime/trace-context';

const VALID = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
const XRAY = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';

describe('isTraceparent', () => {
  it('accepts a W3C traceparent of version 00', () => {
    expect(isTraceparent(VALID)).toBe(true);
    expect(isTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')).toBe(true);
  });

  it.each([
    ['another version', '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['upper-case hex', '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01'],
    ['an all-zero trace id', `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`],
    ['an all-zero parent id', `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`],
    ['a short trace id', '00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01'],
    ['a trailing field', `${VALID}-extra`],
    ['an X-Ray header', XRAY],
    ['an empty string', ''],
  ])('refuses %s', (_, value) => {
    expect(isTraceparent(value)).toBe(false);
  });

  it('refuses what is not a string', () => {
    expect(isTraceparent(undefined)).toBe(false);
    expect(isTraceparent(42)).toBe(false);
  });
});

describe('newTraceparent', () => {
  it('makes a valid, sampled traceparent, a different one each time', () => {
    const [first, second] = [newTraceparent(), newTraceparent()];
    expect(isTraceparent(first)).toBe(true);
    expect(first).toMatch(/-01$/);
    expect(second).not.toBe(first);
    expect(second.slice(3, 35)).not.toBe(first.slice(3, 35));
  });
});

describe('traceparentFromXRay', () => {
  it("takes the root's 32 hex digits as the trace id, the parent segment as the parent id, and Sampled=1 as 01", () => {
    expect(traceparentFromXRay({ [XRAY_TRACE_ENV]: XRAY })).toBe(
      '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01',
    );
  });

  it('flags an unsampled trace 00, and reads the fields in any order, with a Lineage', () => {
    const header =
      'Sampled=0;Lineage=a87bd80c:1|68fd508a:5;Parent=53995c3f42cd8ad8;Root=1-5759e988-bd862e3fe1be46a994272793';
    expect(traceparentFromXRay({ [XRAY_TRACE_ENV]: header })).toBe(
      '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-00',
    );
  });

  it('flags a trace without a sampling decision 00', () => {
    const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8';
    expect(traceparentFromXRay({ [XRAY_TRACE_ENV]: header })).toMatch(/-00$/);
  });

  it('lower-cases the ids', () => {
    const header = 'Root=1-5759E988-BD862E3FE1BE46A994272793;Parent=53995C3F42CD8AD8;Sampled=1';
    expect(traceparentFromXRay({ [XRAY_TRACE_ENV]: header })).toBe(
      '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01',
    );
  });

  it.each([
    ['without a parent', 'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1'],
    [
      'with a parent that is not 16 hex digits',
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=xyz;Sampled=1',
    ],
    [
      'with an all-zero parent',
      `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=${'0'.repeat(16)};Sampled=1`,
    ],
  ])('makes a random parent id for a trace %s', (_, header) => {
    const traceparent = traceparentFromXRay({ [XRAY_TRACE_ENV]: header });
    expect(isTraceparent(traceparent)).toBe(true);
    expect(traceparent?.slice(0, 36)).toBe('00-5759e988bd862e3fe1be46a994272793-');
    expect(traceparent?.slice(36, 52)).not.toBe('0'.repeat(16));
  });

  it.each([
    ['unset', {}],
    ['empty', { [XRAY_TRACE_ENV]: '' }],
    ['without a root', { [XRAY_TRACE_ENV]: 'Parent=53995c3f42cd8ad8;Sampled=1' }],
    ['with a root of another version', { [XRAY_TRACE_ENV]: 'Root=2-5759e988-bd862e3fe1be46a994272793' }],
    ['with a malformed root', { [XRAY_TRACE_ENV]: 'Root=1-5759e988-bd862e3f;Sampled=1' }],
    ['with an all-zero root', { [XRAY_TRACE_ENV]: `Root=1-00000000-${'0'.repeat(24)};Sampled=1` }],
  ])('answers undefined when the variable is %s', (_, env) => {
    expect(traceparentFromXRay(env)).toBeUndefined();
  });
});

describe('traceparentFor', () => {
  it('keeps the one given, even in an X-Ray trace', () => {
    expect(traceparentFor(VALID, { [XRAY_TRACE_ENV]: XRAY })).toBe(VALID);
  });

  it("derives the X-Ray trace's when none is given", () => {
    expect(traceparentFor(undefined, { [XRAY_TRACE_ENV]: XRAY })).toBe(
      '00-5759e988bd862e3fe1be46a994272793-53995c3f42cd8ad8-01',
    );
  });

  it('makes a fresh one outside a trace', () => {
    expect(isTraceparent(traceparentFor(undefined, {}))).toBe(true);
  });
});
