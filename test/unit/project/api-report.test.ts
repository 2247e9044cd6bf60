import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { apiReport, packageEntryPoints, REPORT_PATH } from '../../../scripts/api-report';

describe('the API report (api/reliable-messaging-serverless.api.md)', () => {
  it('lists what the package exports today: a change of the public surface comes with its report', () => {
    // GIVEN the committed report, and the package's entry points as package.json exports them
    const committed = readFileSync(REPORT_PATH, 'utf8');
    const entryPoints = packageEntryPoints();

    // WHEN the report is made again from the sources
    const report = apiReport(entryPoints);

    // THEN it is the committed one
    expect(entryPoints.map((entry) => entry.specifier)).toEqual([
      'reliable-messaging-serverless',
      'reliable-messaging-serverless/testing',
      'reliable-messaging-serverless/runtime',
      'reliable-messaging-serverless/runtime/testing',
    ]);
    expect(
      report,
      'The public API differs from api/reliable-messaging-serverless.api.md: if the change is deliberate, run ' +
        '`npm run api-report` and commit the report with it (and say what changed in CHANGELOG.md)',
    ).toBe(committed);
  }, 180_000);

  describe('on a fixture entry point', () => {
    const directory = mkdtempSync(path.join(tmpdir(), 'api-report-'));
    afterAll(() => rmSync(directory, { recursive: true, force: true }));
    const source = path.join(directory, 'index.ts');
    const entry = [{ specifier: 'fixture', source }];
    const options = { strict: true, noEmit: true, skipLibCheck: true, types: [] };
    const reportOf = (text: string): string => {
      writeFileSync(source, text);
      return apiReport(entry, options, directory);
    };
    const fixture = [
      'export interface Options { readonly size?: number }',
      'export class Writer {',
      '  private secret = 1;',
      '  constructor(private readonly options: Options, public readonly name: string) {}',
      '  write(text: string): Promise<void> { return Promise.resolve(); }',
      '}',
      'export function open(name: string, options?: Options): Writer { return new Writer(options ?? {}, name); }',
      '/** @deprecated use Writer */',
      'export const OldWriter = Writer;',
      'export const LIMIT = 10 as const;',
    ].join('\n');

    it('lists each exported name, sorted, with its kind and signature, without private members', () => {
      // WHEN
      const report = reportOf(fixture);

      // THEN
      expect(report).toContain(
        [
          '## `fixture`',
          '',
          '5 names, from `index.ts`.',
          '',
          '```ts',
          'const LIMIT: 10;',
          '',
          '/** @deprecated */',
          'const OldWriter: typeof Writer;',
          '',
          'function open(name: string, options?: Options): Writer;',
          '',
          'interface Options {',
          '  readonly size?: number;',
          '}',
          '',
          'class Writer {',
          '  readonly name: string;',
          '  constructor(options: Options, name: string);',
          '  write(text: string): Promise<void>;',
          '}',
          '```',
        ].join('\n'),
      );
      expect(report).not.toContain('secret');
    });

    it('changes with any change of a signature or of the names exported', () => {
      // GIVEN the report of the fixture
      const before = reportOf(fixture);

      // WHEN a parameter is added, and when a name is exported no more
      const parameterAdded = reportOf(
        fixture.replace('write(text: string)', 'write(text: string, flush = false)'),
      );
      const nameRemoved = reportOf(fixture.replace('export const LIMIT', 'const LIMIT'));

      // THEN each report differs from the first, where the change is
      expect(parameterAdded).not.toBe(before);
      expect(parameterAdded).toContain('write(text: string, flush?: boolean): Promise<void>;');
      expect(nameRemoved).not.toBe(before);
      expect(nameRemoved).not.toContain('LIMIT');
      expect(reportOf(fixture)).toBe(before);
    });
  });
});
