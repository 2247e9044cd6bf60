import { OPS_COMMAND, parseCommandLine, SHORT_USAGE, USAGE } from './cli-args';
import { connectOps } from './connection';
import { closeOnSignal, serveConsole } from './console/serve';
import { OpsError, UsageError } from './errors';
import { defaultTargetDependencies, type LocalDefault, resolveTarget } from './outputs';
import { stderrProgress } from './progress';
import { runCommand } from './run';

/** What a development checkout adds to the shipped CLI (this repository's own ops script, with its defaults and load). */
export interface OpsCliSetup {
  /** The target when neither --stack nor --outputs is given. @default none: they are asked for */
  readonly localDefault?: LocalDefault;
  /** The help text. @default USAGE */
  readonly usage?: string;
  /** What a bad command line is answered with. @default SHORT_USAGE */
  readonly shortUsage?: string;
}

/**
 * `npx reliable-messaging-ops <command> --stack <name>`: see and repair a deployed stack. Returns the exit code:
 * 0 done, 1 failed, 2 bad command line, 3 `reconcile` found messages that are not terminal (`wait`: gave up).
 * Writes the result on stdout, errors on stderr; never throws.
 */
export async function runOpsCli(argv: readonly string[], setup: OpsCliSetup = {}): Promise<number> {
  try {
    const invocation = parseCommandLine(argv);
    if (invocation.kind === 'help') {
      console.log(setup.usage ?? USAGE);
      return 0;
    }
    const dependencies = defaultTargetDependencies(setup.localDefault);
    const target = await resolveTarget(invocation.target, dependencies);
    const { command } = invocation;
    if (command.name === 'console') {
      const running = await serveConsole(target, command);
      await closeOnSignal(running);
      // The SDK clients' kept-alive connections would hold the process: the console was the whole run.
      process.exit(0);
    }
    const c = connectOps(
      target.outputs,
      target.endpoint,
      target.region,
      target.producerTable,
      target.cursorTable,
      target.groups,
    );
    const progress = stderrProgress(invocation.json);
    const outcome = await runCommand(c, command, {
      stackName: target.stackName,
      ...(progress === undefined ? {} : { progress }),
    });
    console.log(invocation.json ? JSON.stringify(outcome.result) : outcome.text);
    return outcome.exitCode;
  } catch (error) {
    reportError(error, setup.shortUsage ?? SHORT_USAGE);
    return error instanceof OpsError ? error.exitCode : 1;
  }
}

/** An error as the operator reads it: a usage error with the short usage, an ops error by its message. */
export function reportError(error: unknown, shortUsage = SHORT_USAGE): void {
  if (error instanceof UsageError) {
    console.error(`error: ${error.message}\n${shortUsage}`);
  } else if (error instanceof OpsError) {
    console.error(`error: ${error.message}`);
  } else {
    // Unexpected (an SDK or network failure): its name and message; the stack with OPS_DEBUG=1.
    console.error(
      process.env.OPS_DEBUG === '1' || !(error instanceof Error)
        ? error
        : `error: ${error.name}: ${error.message} (${OPS_COMMAND} --help; OPS_DEBUG=1 shows the stack)`,
    );
  }
}
