import { OutputsNotFoundError } from './errors';

/** A table the commands read besides the library's (the producer's, the consumer's cursors), and where it was found. */
export interface FoundTable {
  readonly tableName: string;
  /** Where it was found, for messages: the command line, an output, or the template's metadata. */
  readonly source: string;
}

/**
 * A table's `reliable-messaging:<role>` metadata, checked: an object whose `names` are non-empty strings. Throws
 * OutputsNotFoundError naming the resource (`where`), the shape it must have, and what it holds.
 */
export function attributesFromMetadata<Name extends string>(
  value: unknown,
  where: string,
  role: string,
  names: readonly Name[],
): Record<Name, string> {
  const record = value !== null && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  const attributes: Partial<Record<Name, string>> = {};
  for (const name of names) {
    const field = record?.[name];
    if (typeof field === 'string' && field.trim() !== '') attributes[name] = field;
  }
  if (names.some((name) => attributes[name] === undefined)) {
    throw new OutputsNotFoundError(
      `${where}: its ${role} metadata must be {${names.map((name) => `"${name}": string`).join(', ')}}; ` +
        `got ${JSON.stringify(value) ?? 'nothing'}`,
    );
  }
  return attributes as Record<Name, string>;
}

/** The first source that names a table, by precedence (the command line's first). */
export function firstFound<T>(...sources: ReadonlyArray<T | undefined>): T | undefined {
  return sources.find((source) => source !== undefined);
}
