import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The header a repair (POST) carries the console's token in. */
export const REPAIR_TOKEN_HEADER = 'x-console-token';

/** A fresh repair token: 32 random bytes, base64url (43 characters). One per console run, never stored. */
export function newRepairToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Whether `given` is the token, compared in constant time: both are hashed first, so neither the length nor the
 * first differing character shows in the time taken.
 */
export function tokenMatches(given: string | undefined, token: string): boolean {
  if (given === undefined) return false;
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(token));
}
