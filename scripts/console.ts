import { reportError } from '../lib/ops/cli';
import { closeOnSignal, serveConsole } from '../lib/ops/console/serve';
import { OpsError } from '../lib/ops/errors';
import { defaultTargetDependencies, resolveTarget } from '../lib/ops/outputs';
import { localDir } from '../tools/paths';
import { outputsFile, STACK_NAME } from '../tools/stack/outputs';
import { CONSOLE_SHORT_USAGE, CONSOLE_USAGE, parseConsoleCommandLine } from './console/cli-args';
import { loadReports, ReportFileError, readReportFile } from './console/run-reports';

/**
 * `npm run console`: the package's console (lib/ops/console, `npx reliable-messaging-ops console`) — the flow as a
 * picture with live counts and alarms, one key end to end, the repairs (with the token printed here) — plus the
 * repository's bench and chaos reports' plots. Runs until interrupted (Ctrl-C).
 */
async function main(argv: readonly string[]): Promise<void> {
  const invocation = parseConsoleCommandLine(argv);
  if (invocation.kind === 'help') {
    console.log(CONSOLE_USAGE);
    return;
  }
  const { options } = invocation;
  for (const file of options.reports) readReportFile(file); // a bad --report fails now, not on the page
  const target = await resolveTarget(
    options.target,
    defaultTargetDependencies({
      outputsFile,
      stackName: STACK_NAME,
      howToDeploy: 'deploy locally with `npm start`',
    }),
  );
  const running = await serveConsole(target, {
    port: options.port,
    host: options.host,
    readOnly: options.readOnly,
    extraReads: { '/api/reports': async () => loadReports(options.reports, localDir) },
  });
  await closeOnSignal(running);
  process.exit(0);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof ReportFileError) {
    console.error(`error: ${error.message}`);
  } else {
    reportError(error, CONSOLE_SHORT_USAGE);
  }
  process.exitCode = error instanceof OpsError ? error.exitCode : 1;
});
