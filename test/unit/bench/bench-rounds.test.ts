import { describe, expect, it } from 'vitest';
import { summarizeRounds } from '../../../bench/measure/rounds';

describe('the summary of a measurement taken in several rounds', () => {
  it('reports the middle round of an odd count as the median, with the smallest and the largest', () => {
    // WHEN
    const summary = summarizeRounds([0.72, 0.46, 0.61, 0.9, 0.55]);
    // THEN
    expect(summary).toEqual({ median: 0.61, min: 0.46, max: 0.9, rounds: 5 });
  });

  it('reports the mean of the two middle rounds of an even count as the median', () => {
    // WHEN
    const summary = summarizeRounds([4, 1, 3, 2]);
    // THEN
    expect(summary).toEqual({ median: 2.5, min: 1, max: 4, rounds: 4 });
  });

  it('reports a single round as its own median and spread', () => {
    expect(summarizeRounds([0.8])).toEqual({ median: 0.8, min: 0.8, max: 0.8, rounds: 1 });
  });

  it('does not change the rounds it was given', () => {
    // GIVEN
    const rounds = [3, 1, 2];
    // WHEN
    summarizeRounds(rounds);
    // THEN
    expect(rounds).toEqual([3, 1, 2]);
  });

  it('fails if there is no round', () => {
    expect(() => summarizeRounds([])).toThrow('summarizeRounds needs at least one round; got none');
  });

  it('fails if a round is not a finite number', () => {
    expect(() => summarizeRounds([0.5, Number.NaN, 0.7])).toThrow(
      'every round must be a finite number; got NaN',
    );
    expect(() => summarizeRounds([0.5, Number.POSITIVE_INFINITY])).toThrow(
      'every round must be a finite number; got Infinity',
    );
  });
});
