import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from './paths';

/** Where `npm run bench` and `npm run chaos` keep their dated reports (committed: the measurements leave the prose). */
export const RESULTS_DIR = path.join(projectRoot, 'bench', 'results');

/** The date a report is filed under: the run's UTC day, `YYYY-MM-DD` (a later run of the same day replaces it). */
export const resultsDate = (at: Date): string => at.toISOString().slice(0, 10);

export const fixed = (value: number, digits = 1) => value.toFixed(digits);
export const spread = (summary: { median: number; min: number; max: number; rounds: number }, digits = 1) =>
  `${fixed(summary.median, digits)} (${fixed(summary.min, digits)}–${fixed(summary.max, digits)}, ${summary.rounds} rounds)`;
export const table = (header: readonly string[], rows: ReadonlyArray<readonly string[]>) =>
  [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ].join('\n');

/**
 * Files a report: `<kind>-<date>.json` and `.md` in `directory`, and the same as `latest.json` / `latest.md` (bench)
 * or `latest-chaos.json` / `latest-chaos.md` (chaos). Only the `npm run bench` / `npm run chaos` CLIs call it: the
 * integration tests run the measurements themselves and file nothing.
 */
export function writeResults(
  kind: 'bench' | 'chaos',
  report: unknown,
  markdown: string,
  date: string,
  directory: string = RESULTS_DIR,
): readonly string[] {
  mkdirSync(directory, { recursive: true });
  const latest = kind === 'bench' ? 'latest' : 'latest-chaos';
  const json = `${JSON.stringify(report, null, 2)}\n`;
  const files: string[] = [];
  for (const name of [`${kind}-${date}`, latest]) {
    writeFileSync(path.join(directory, `${name}.json`), json);
    writeFileSync(path.join(directory, `${name}.md`), markdown);
    files.push(path.join(directory, `${name}.json`), path.join(directory, `${name}.md`));
  }
  return files;
}
