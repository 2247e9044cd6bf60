import type { Connection } from '../local/stack-control';
import type { Command } from './cli-args';
import { redrive, replay, resolve, retryFailedMessages, status } from './commands';
import { load } from './load';
import type { Progress } from './progress';
import { reconcile } from './reconcile';
import {
  renderLoad,
  renderReconcile,
  renderRedrive,
  renderReplay,
  renderResolve,
  renderRetried,
  renderStatus,
} from './render';

/** A command's result: the object `--json` prints, its readable rendering, and the exit code it asks for. */
export interface CommandOutcome {
  readonly result: object;
  readonly text: string;
  readonly exitCode: number;
}

/** Exit code of `reconcile` when some committed message is not terminal. */
export const NOT_TERMINAL_EXIT_CODE = 3;

/** Runs one parsed command against a connection. */
export async function runCommand(
  c: Connection,
  command: Command,
  context: { readonly stackName: string; readonly progress?: Progress },
): Promise<CommandOutcome> {
  const done = <T extends object>(result: T, text: string, exitCode = 0): CommandOutcome => ({
    result,
    text,
    exitCode,
  });
  switch (command.name) {
    case 'status': {
      const report = await status(c, new Date(), context.stackName);
      return done(report, renderStatus(report));
    }
    case 'reconcile': {
      const report = await reconcile(c, {
        ...(command.key === undefined ? {} : { key: command.key }),
        ...(command.prefix === undefined ? {} : { prefix: command.prefix }),
        ...(context.progress === undefined ? {} : { progress: context.progress }),
      });
      return done(report, renderReconcile(report), report.allTerminal ? 0 : NOT_TERMINAL_EXIT_CODE);
    }
    case 'retry-failed': {
      const result = await retryFailedMessages(c, {
        ...(command.key === undefined ? {} : { groupKey: command.key }),
        ...(command.message === undefined ? {} : { messageId: command.message }),
      });
      return done(result, renderRetried(result));
    }
    case 'replay': {
      const result = await replay(c, command.key);
      return done(result, renderReplay(result));
    }
    case 'resolve': {
      const result = await resolve(c, command.transaction, command.outcome);
      return done(result, renderResolve(result));
    }
    case 'redrive': {
      const result = await redrive(c, command.dryRun);
      return done(result, renderRedrive(result));
    }
    case 'load': {
      const report = await load(c, command, context.progress);
      return done(report, renderLoad(report));
    }
  }
}
