import { describe, expect, it } from 'vitest';
import { measureSweepReadRatio, readRatio } from '../../../bench/measure/sweep-read-ratio';

describe("the bench's sweep read ratio", () => {
  it("counts both read paths of a sweeper run: the audit's Scan and the index sweep", async () => {
    // WHEN
    const measured = await measureSweepReadRatio(10, 500);
    // THEN
    for (const run of [measured.unsentOnly, measured.withHistory]) {
      expect(run.auditReadUnits).toBeGreaterThan(0);
      expect(run.indexReadUnits).toBeGreaterThan(0);
      expect(run.readUnits).toBe(run.auditReadUnits + run.indexReadUnits);
    }
    expect(measured.readUnitsUnsentOnly).toBe(measured.unsentOnly.readUnits);
    expect(measured.readUnitsWithHistory).toBe(measured.withHistory.readUnits);
    expect(measured.ratio).toBe(readRatio(measured.readUnitsWithHistory, measured.readUnitsUnsentOnly));
  });

  it('reads nothing more for delivered messages and half messages resolved in a table of their own', async () => {
    // WHEN
    const measured = await measureSweepReadRatio(10, 500);
    // THEN
    expect(measured.halfMessagesIn).toBe('own-table');
    expect(measured.withHistory).toEqual(measured.unsentOnly);
    expect(measured.ratio).toBeLessThanOrEqual(1.2);
  });

  it('shows what the audit pays when the resolved half messages stay in the outbox table', async () => {
    // WHEN
    const measured = await measureSweepReadRatio(10, 500);
    // THEN: the Scan reads every tombstone
    expect(measured.ratioIfHalfMessagesInOutbox).toBeGreaterThan(1.2);
  });
});

describe('the read ratio', () => {
  it('is the reads with history over the reads without, to three decimals', () => {
    expect(readRatio(34, 34)).toBe(1);
    expect(readRatio(4178, 34)).toBe(122.882);
  });

  it('fails if the run without history read nothing', () => {
    expect(() => readRatio(34, 0)).toThrow('the run without history must read something; got 0');
  });
});
