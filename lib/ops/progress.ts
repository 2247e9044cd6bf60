import { ProgressBar } from './progress-bar';

/** Progress of long work, on stderr: a bar when the total is known, a running count when it is not. */
export interface Progress {
  bar(label: string, total: number): { update(done: number): void; finish(): void };
  counter(label: string): { update(done: number): void; finish(done: number): void };
  /** A line of news (e.g. `wait`'s passes). */
  note(text: string): void;
}

/**
 * Progress on stderr, or none: shown when stderr is a terminal or when the output is not `--json` (so a script
 * reading `--json` gets no noise on a pipe). On a terminal it redraws in place; otherwise a few plain lines.
 */
export function stderrProgress(
  json: boolean,
  stream: NodeJS.WriteStream = process.stderr,
): Progress | undefined {
  const terminal = stream.isTTY === true;
  if (json && !terminal) return undefined;
  return {
    bar: (label, total) => new ProgressBar(label, total),
    note: (text) => {
      stream.write(terminal ? `\r${text}`.padEnd(80) : `${text}\n`);
    },
    counter: (label) => {
      let last = 0;
      return {
        update(done) {
          if (!terminal || Date.now() - last < 100) return;
          last = Date.now();
          stream.write(`\r${label} ${done}`);
        },
        finish(done) {
          stream.write(terminal ? `\r${label} ${done}\n` : `${label} ${done}\n`);
        },
      };
    },
  };
}
