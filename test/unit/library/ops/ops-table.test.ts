import { describe, expect, it } from 'vitest';
import { cellText, renderPairs, renderTable } from '../../../../lib/ops/table';

interface Row {
  readonly key: string;
  readonly count: number;
  readonly note?: string | null;
}

const columns = [
  { header: 'KEY', value: (row: Row) => row.key },
  { header: 'COUNT', value: (row: Row) => row.count },
  { header: 'NOTE', value: (row: Row) => row.note },
];

describe('the ops table renderer', () => {
  it('pads every column to its widest cell under a header and a rule, numbers right-aligned', () => {
    // GIVEN rows of different widths
    const rows: Row[] = [
      { key: 'order-1', count: 7, note: 'held' },
      { key: 'o-2', count: 1234, note: 'parked key' },
    ];

    // WHEN rendered
    const text = renderTable(columns, rows);

    // THEN columns line up, numbers align right, and no line ends in spaces
    expect(text.split('\n')).toEqual([
      'KEY      COUNT  NOTE',
      '-------  -----  ----------',
      'order-1      7  held',
      'o-2       1234  parked key',
    ]);
  });

  it('shows "-" for missing values and keeps each row on one line', () => {
    // GIVEN a row without a note and one whose note has line breaks
    const rows: Row[] = [
      { key: 'a', count: 1, note: undefined },
      { key: 'b', count: 2, note: 'first\nsecond' },
    ];

    // WHEN rendered
    const lines = renderTable(columns, rows).split('\n');

    // THEN the missing value is "-", and the multi-line cell is one line
    expect(lines).toHaveLength(4);
    expect(lines[2]).toBe('a        1  -');
    expect(lines[3]).toBe('b        2  first second');
  });

  it('cuts cells longer than the maximum with an ellipsis', () => {
    // GIVEN a long cell and a maximum width of 10
    const text = renderTable(columns, [{ key: 'k', count: 1, note: 'x'.repeat(50) }], { maxCellWidth: 10 });

    // THEN the cell is 10 characters, ending in …
    expect(text.split('\n')[2]).toBe(`k        1  ${'x'.repeat(9)}…`);
    expect(cellText('abcdef', 4)).toBe('abc…');
  });

  it('prints the empty text instead of a header when there are no rows', () => {
    expect(renderTable(columns, [])).toBe('(none)');
    expect(renderTable(columns, [], { empty: 'nothing parked', indent: '  ' })).toBe('  nothing parked');
  });

  it('aligns a column left when asked, even if its values are numbers', () => {
    const text = renderTable([{ header: 'N', value: (n: number) => n, align: 'left' }], [1, 100]);
    expect(text.split('\n')).toEqual(['N', '---', '1', '100']);
  });

  it('renders label/value pairs with the values aligned', () => {
    expect(
      renderPairs([
        ['keys checked', 3],
        ['applied', 12],
        ['missing', undefined],
      ]).split('\n'),
    ).toEqual(['keys checked  3', 'applied       12', 'missing       -']);
  });
});
