import { CONSOLE_SHORT_USAGE, CONSOLE_USAGE, parseConsoleCommandLine } from './console/cli-args';
import { loadReports, ReportFileError, readReportFile } from './console/run-reports';
import { startConsoleServer } from './console/server';
import { localDir } from './local/paths';
import { connect } from './local/stack-control';
import { OpsError, UsageError } from './ops/errors';
import { defaultTargetDependencies, resolveTarget } from './ops/outputs';

/**
 * `npm run console`: a local web page for the stack ops can read — the flow as a picture with live counts and
 * alarms, one key end to end, the repairs (with the token printed here), and the bench and chaos reports' plots.
 * Runs until interrupted (Ctrl-C).
 */
async function main(argv: readonly string[]): Promise<void> {
  const invocation = parseConsoleCommandLine(argv);
  if (invocation.kind === 'help') {
    console.log(CONSOLE_USAGE);
    return;
  }
  const { options } = invocation;
  for (const file of options.reports) readReportFile(file); // a bad --report fails now, not on the page
  const target = await resolveTarget(options.target, defaultTargetDependencies());
  const running = await startConsoleServer(
    {
      connection: connect(target.outputs, target.endpoint, target.region),
      stackName: target.stackName,
      source: target.source,
      readOnly: options.readOnly,
      reports: () => loadReports(options.reports, localDir),
    },
    { port: options.port, onError: (error) => console.error(error) },
  );
  console.log(`console of ${target.stackName} (${target.source}) at ${running.url}`);
  if (options.readOnly) {
    console.log('read-only: repairs are off');
  } else {
    console.log(`repair token: ${running.token}`);
    console.log(`open (token included, never sent to the server): ${running.url}#token=${running.token}`);
  }
  console.log('Ctrl-C stops it.');
  const stop = () => {
    void running.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  if (error instanceof UsageError) {
    console.error(`error: ${error.message}\n${CONSOLE_SHORT_USAGE}`);
  } else if (error instanceof OpsError || error instanceof ReportFileError) {
    console.error(`error: ${error.message}`);
  } else {
    console.error(error instanceof Error ? `error: ${error.name}: ${error.message}` : error);
  }
  process.exitCode = error instanceof OpsError ? error.exitCode : 1;
});
