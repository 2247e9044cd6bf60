import { parseArgs } from 'node:util';
import {
  consoleHost,
  DEFAULT_CONSOLE_PORT,
  integer,
  TARGET_OPTIONS,
  TARGET_USAGE,
  targetOptions,
} from '../../lib/ops/cli-args';
import { UsageError } from '../../lib/ops/errors';
import type { TargetOptions } from '../../lib/ops/outputs';

export { DEFAULT_CONSOLE_PORT };

export const CONSOLE_USAGE = `usage: npm run console -- [options]

The package's console (\`npx reliable-messaging-ops console --stack <name>\`) with the repository's extras: the bench
and chaos runs' plots, and the stack \`npm start\` deployed by default. A local web page
(http://127.0.0.1:<port>/ only) to see the message flow of a deployed stack and repair it with the same code as the
ops CLI. Repairs need the token it prints at start.

options:
  --port N               the port on 127.0.0.1 (default ${DEFAULT_CONSOLE_PORT}; 0 = any free port)
  --host H               the host it listens on and answers as (default 127.0.0.1)
  --read-only            no repairs: the page hides them and the server refuses them
  --report FILE          a bench or chaos --json report to plot (repeatable); default: the newest of each
                         found in .local/*.json
${TARGET_USAGE}
  -h, --help             this help
  default: .local/outputs.json (what \`npm start\` wrote) and the local emulator (or AWS_ENDPOINT_URL)`;

export const CONSOLE_SHORT_USAGE =
  'usage: npm run console -- [--port N] [--host H] [--read-only] [--report FILE] [--stack NAME | --outputs FILE] (--help)';

export interface ConsoleOptions {
  readonly target: TargetOptions;
  readonly port: number;
  readonly host: string;
  readonly readOnly: boolean;
  readonly reports: readonly string[];
}

export type ConsoleInvocation =
  | { readonly kind: 'help' }
  | { readonly kind: 'run'; readonly options: ConsoleOptions };

const OPTIONS = {
  ...TARGET_OPTIONS,
  port: { type: 'string' },
  host: { type: 'string' },
  'read-only': { type: 'boolean' },
  report: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses the console's arguments: the ops CLI's stack options (same checks), and its own. */
export function parseConsoleCommandLine(argv: readonly string[]): ConsoleInvocation {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: false, strict: true }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), { cause: error });
  }
  if (values.help === true) return { kind: 'help' };
  const reports = values.report ?? [];
  if (reports.some((file) => file.trim() === '')) throw new UsageError('--report needs a file');
  return {
    kind: 'run',
    options: {
      target: targetOptions(values),
      port: integer('port', values.port, DEFAULT_CONSOLE_PORT, 0, 65_535),
      host: consoleHost(values.host),
      readOnly: values['read-only'] === true,
      reports,
    },
  };
}
