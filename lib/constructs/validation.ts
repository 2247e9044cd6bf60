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

/** What a consumer group's name may be: it names alarms, logs and `ops --group`. */
export const GROUP_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/** Throws when a consumer group's name is not a lowercase name of 1 to 40 letters, digits and hyphens. */
export function validateGroupName(what: string, value: string | undefined): void {
  if (value === undefined || GROUP_NAME_PATTERN.test(value)) return;
  throw new Error(
    `${what} must start with a lowercase letter and have 1 to 40 lowercase letters, digits and hyphens; got '${value}'`,
  );
}

/** Throws when a list of message types is empty, has a blank type or names a type twice. */
export function validateMessageTypes(what: string, value: readonly string[] | undefined): void {
  if (value === undefined) return;
  if (value.length === 0) {
    throw new Error(`${what} must name at least one message type (leave it out to apply every type); got []`);
  }
  const seen = new Set<string>();
  for (const type of value) {
    if (typeof type !== 'string' || type.trim() === '') {
      throw new Error(`${what} must not have a blank type; got ${JSON.stringify(value)}`);
    }
    if (seen.has(type)) {
      throw new Error(`${what} names '${type}' twice; got ${JSON.stringify(value)}`);
    }
    seen.add(type);
  }
}
