import { connect } from './local/stack-control';
import { parseCommandLine, SHORT_USAGE, USAGE } from './ops/cli-args';
import { OpsError, UsageError } from './ops/errors';
import { defaultTargetDependencies, resolveTarget } from './ops/outputs';
import { stderrProgress } from './ops/progress';
import { runCommand } from './ops/run';

/**
 * `npm run ops -- <command>` (or the package's `reliable-messaging-ops` bin): see and repair a deployed stack.
 * Exit codes: 0 done, 1 failed, 2 bad command line, 3 `reconcile` found messages that are not terminal.
 */
async function main(argv: readonly string[]): Promise<number> {
  const invocation = parseCommandLine(argv);
  if (invocation.kind === 'help') {
    console.log(USAGE);
    return 0;
  }
  const target = await resolveTarget(invocation.target, defaultTargetDependencies());
  const c = connect(target.outputs, target.endpoint, target.region);
  const progress = stderrProgress(invocation.json);
  const outcome = await runCommand(c, invocation.command, {
    stackName: target.stackName,
    ...(progress === undefined ? {} : { progress }),
  });
  console.log(invocation.json ? JSON.stringify(outcome.result) : outcome.text);
  return outcome.exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n${SHORT_USAGE}`);
    } else if (error instanceof OpsError) {
      console.error(`error: ${error.message}`);
    } else {
      // Unexpected (an SDK or network failure): its name and message; the stack with OPS_DEBUG=1.
      console.error(
        process.env.OPS_DEBUG === '1' || !(error instanceof Error)
          ? error
          : `error: ${error.name}: ${error.message}`,
      );
    }
    process.exitCode = error instanceof OpsError ? error.exitCode : 1;
  },
);
