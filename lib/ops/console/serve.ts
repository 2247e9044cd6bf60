import { OPS_COMMAND } from '../cli-args';
import { connectOps } from '../connection';
import { CursorTableAmbiguousError } from '../cursor-table';
import type { Target } from '../outputs';
import type { ConsoleContext } from './routes';
import { type RunningConsole, startConsoleServer } from './server';

export interface ServeConsoleOptions {
  readonly port: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  readonly readOnly: boolean;
  /** More GET routes (the repository's run reports). @default none */
  readonly extraReads?: ConsoleContext['extraReads'];
  /** Where the lines for the operator go. @default console.log */
  readonly print?: (line: string) => void;
}

/**
 * Serves the console of a resolved target until the process is stopped (SIGINT, SIGTERM), and prints its address and
 * (unless read-only) the repair token and the page's URL with it. Resolves with the running console.
 */
export async function serveConsole(target: Target, options: ServeConsoleOptions): Promise<RunningConsole> {
  const print = options.print ?? ((line: string) => console.log(line));
  const running = await startConsoleServer(
    {
      connection: connectOps(
        target.outputs,
        target.endpoint,
        target.region,
        target.producerTable,
        target.cursorTable,
        target.groups,
      ),
      stackName: target.stackName,
      source: target.source,
      readOnly: options.readOnly,
      ...(options.extraReads === undefined ? {} : { extraReads: options.extraReads }),
    },
    {
      port: options.port,
      ...(options.host === undefined ? {} : { host: options.host }),
      onError: (error) => console.error(error),
    },
  );
  print(`console of ${target.stackName} (${target.source}) at ${running.url}`);
  if (options.readOnly) {
    print('read-only: repairs are off');
  } else {
    print(`repair token: ${running.token}`);
    print(`open (token included, never sent to the server): ${running.url}#token=${running.token}`);
  }
  if (target.producerTable === undefined) {
    print(
      `no producer table declared: a key's view has no reconcile (see ${OPS_COMMAND} --help, --producer-table)`,
    );
  }
  if (target.cursorTable instanceof CursorTableAmbiguousError) {
    print(`${target.cursorTable.message}: until then a key's view and replay fail`);
  } else if (target.cursorTable !== undefined) {
    print(`consumer cursors: table ${target.cursorTable.tableName} (${target.cursorTable.source})`);
  }
  print('Ctrl-C stops it.');
  return running;
}

/** Resolves once SIGINT or SIGTERM asks the process to stop, after closing the console. */
export function closeOnSignal(running: RunningConsole): Promise<void> {
  return new Promise((resolve) => {
    const stop = () => {
      void running.close().then(resolve, resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}
