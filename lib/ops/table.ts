/** A small plain-text table renderer for the ops CLI's readable output (`--json` prints the objects instead). */

export type Cell = string | number | boolean | null | undefined;

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => Cell;
  /** Default: right for a column whose values are all numbers, left otherwise. */
  readonly align?: 'left' | 'right';
}

export interface TableOptions {
  /** What to print instead of the table when there are no rows. @default '(none)' */
  readonly empty?: string;
  /** Longer cells are cut to this many characters, ending in `…`. @default 80 */
  readonly maxCellWidth?: number;
  /** Indent of every line. @default '' */
  readonly indent?: string;
}

const GAP = '  ';

/** A cell's text: one line, `-` for nothing, cut to `max` characters. */
export function cellText(value: Cell, max = 80): string {
  const text =
    value === null || value === undefined || value === '' ? '-' : String(value).replace(/\s+/g, ' ');
  return text.length > max ? `${text.slice(0, Math.max(1, max - 1))}…` : text;
}

/** Columns padded to their widest cell, a header line and a rule under it; no trailing spaces. */
export function renderTable<T>(
  columns: ReadonlyArray<Column<T>>,
  rows: readonly T[],
  options: TableOptions = {},
): string {
  const indent = options.indent ?? '';
  if (rows.length === 0) return `${indent}${options.empty ?? '(none)'}`;
  const max = options.maxCellWidth ?? 80;
  const cells = rows.map((row) => columns.map((column) => cellText(column.value(row), max)));
  const align = columns.map(
    (column, i) =>
      column.align ?? (rows.every((row) => typeof columns[i]!.value(row) === 'number') ? 'right' : 'left'),
  );
  const widths = columns.map((column, i) =>
    Math.max(column.header.length, ...cells.map((line) => line[i]!.length)),
  );
  const line = (values: readonly string[]) =>
    `${indent}${values
      .map((value, i) => (align[i] === 'right' ? value.padStart(widths[i]!) : value.padEnd(widths[i]!)))
      .join(GAP)}`.trimEnd();
  return [
    line(columns.map((column) => column.header)),
    line(widths.map((width) => '-'.repeat(width))),
    ...cells.map(line),
  ].join('\n');
}

/** `label  value` lines, the values aligned. */
export function renderPairs(pairs: ReadonlyArray<readonly [string, Cell]>, indent = ''): string {
  const width = Math.max(0, ...pairs.map(([label]) => label.length));
  return pairs
    .map(([label, value]) => `${indent}${label.padEnd(width)}${GAP}${cellText(value, 200)}`.trimEnd())
    .join('\n');
}
