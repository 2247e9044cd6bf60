import type { Command } from './cli-args';
import { redrive, replay, resolve, retryFailedMessages, status } from './commands';
import type { OpsConnection as Connection } from './connection';
import type { Progress } from './progress';
import { reconcile } from './reconcile';
import {
  renderReconcile,
  renderRedrive,
  renderReplay,
  renderResolve,
  renderRetried,
  renderSettle,
  renderStatus,
} from './render';
import { waitUntilSettled } from './settle';

/** A command's result: the object `--json` prints, its readable rendering, and the exit code it asks for. */
export interface CommandOutcome {
  readonly result: object;
  readonly text: string;
  readonly exitCode: number;
}

/** The commands `runCommand` runs (`console` serves until stopped: cli.ts runs it). */
export type RunnableCommand = Exclude<Command, { readonly name: 'console' }>;

/** Exit code of `reconcile` when some committed message is not terminal (and of `wait` when it gave up). */
export const NOT_TERMINAL_EXIT_CODE = 3;

/** Runs one parsed command against a connection. */
export async function runCommand(
  c: Connection,
  command: RunnableCommand,
  context: { readonly stackName: string; readonly progress?: Progress },
): Promise<CommandOutcome> {
  const done = <T extends object>(result: T, text: string, exitCode = 0): CommandOutcome => ({
    result,
    text,
    exitCode,
  });
  switch (command.name) {
    case 'status': {
      const report = await status(c, new Date(), context.stackName, command.group);
      return done(report, renderStatus(report));
    }
    case 'reconcile': {
      const report = await reconcile(c, {
        ...filterOf(command),
        stackName: context.stackName,
        ...(context.progress === undefined ? {} : { progress: context.progress }),
      });
      return done(
        report,
        renderReconcile(report, context.stackName),
        report.allTerminal ? 0 : NOT_TERMINAL_EXIT_CODE,
      );
    }
    case 'wait': {
      const options = { ...filterOf(command), stackName: context.stackName };
      const report = await waitUntilSettled(() => reconcile(c, options), {
        timeoutMs: command.timeoutSeconds * 1000,
        ...(context.progress === undefined
          ? {}
          : {
              onPass: (_report, moving) =>
                context.progress?.note(`waiting: ${moving} message(s) still moving`),
            }),
      });
      return done(
        report,
        renderSettle(report, context.stackName),
        report.settled ? 0 : NOT_TERMINAL_EXIT_CODE,
      );
    }
    case 'retry-failed': {
      const result = await retryFailedMessages(c, {
        ...(command.key === undefined ? {} : { groupKey: command.key }),
        ...(command.message === undefined ? {} : { messageId: command.message }),
      });
      return done(result, renderRetried(result));
    }
    case 'replay': {
      const result = await replay(c, command.key, command.group);
      return done(result, renderReplay(result));
    }
    case 'resolve': {
      const result = await resolve(c, command.transaction, command.outcome);
      return done(result, renderResolve(result));
    }
    case 'redrive': {
      const result = await redrive(c, command.dryRun, command.group);
      return done(result, renderRedrive(result));
    }
  }
}

function filterOf(command: { readonly key?: string; readonly prefix?: string; readonly group?: string }) {
  return {
    ...(command.key === undefined ? {} : { key: command.key }),
    ...(command.prefix === undefined ? {} : { prefix: command.prefix }),
    ...(command.group === undefined ? {} : { group: command.group }),
  };
}
