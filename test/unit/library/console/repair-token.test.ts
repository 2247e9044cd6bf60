import { describe, expect, it } from 'vitest';
import { newRepairToken, tokenMatches } from '../../../../lib/ops/console/repair-token';

describe('the repair token', () => {
  it('is fresh for each console: 32 random bytes, base64url', () => {
    const tokens = new Set(Array.from({ length: 50 }, () => newRepairToken()));
    expect(tokens.size).toBe(50);
    for (const token of tokens) expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('matches only itself, whatever the length of what is given', () => {
    const token = newRepairToken();
    expect(tokenMatches(token, token)).toBe(true);
    expect(tokenMatches(undefined, token)).toBe(false);
    expect(tokenMatches('', token)).toBe(false);
    expect(tokenMatches(token.slice(0, -1), token)).toBe(false);
    expect(tokenMatches(`${token}x`, token)).toBe(false);
    expect(tokenMatches(token.toUpperCase(), token)).toBe(false);
  });
});
