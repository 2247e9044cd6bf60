import { type Duration, Token } from 'aws-cdk-lib';

/** Throws at synth time when a numeric prop is outside its allowed range (tokens are checked at deploy time). */
export function validateRange(what: string, value: number | undefined, min: number, max: number): void {
  if (value === undefined || Token.isUnresolved(value)) return;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${what} must be an integer from ${min} to ${max}; got ${value}`);
  }
}

/** Throws at synth time when a duration prop is outside its allowed range. */
export function validateDuration(
  what: string,
  value: Duration | undefined,
  min: Duration,
  max: Duration,
): void {
  if (value === undefined || value.isUnresolved()) return;
  const seconds = value.toSeconds();
  if (seconds < min.toSeconds() || seconds > max.toSeconds()) {
    throw new Error(
      `${what} must be from ${min.toHumanString()} to ${max.toHumanString()}; got ${value.toHumanString()}`,
    );
  }
}
