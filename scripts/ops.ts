import { reportError, runOpsCli } from '../lib/ops/cli';
import { SHORT_USAGE, USAGE } from '../lib/ops/cli-args';
import { OpsError } from '../lib/ops/errors';
import { defaultTargetDependencies, type LocalDefault, resolveTarget } from '../lib/ops/outputs';
import { stderrProgress } from '../lib/ops/progress';
import { outputsFile, STACK_NAME, type StackOutputs } from '../tools/stack/outputs';
import { connect } from '../tools/stack/stack-control';
import { load, renderLoad } from './ops/load';
import { LOAD_USAGE, parseLoadCommandLine } from './ops/load-args';

/**
 * `npm run ops -- <command>`: the package's CLI (lib/ops/cli.ts: `npx reliable-messaging-ops`), with the
 * repository's defaults — the stack `npm start` deployed (.local/outputs.json, on the local emulator) when no
 * --stack or --outputs is given — and the repository-only `load` (the reference application's orders API).
 */
const LOCAL_DEFAULT: LocalDefault = {
  outputsFile,
  stackName: STACK_NAME,
  howToDeploy: 'deploy locally with `npm start`',
};

const REPOSITORY_USAGE = `${USAGE}

${LOAD_USAGE}

in this repository (npm run ops -- <command>): without --stack or --outputs, .local/outputs.json (what
\`npm start\` wrote) and the local emulator (or AWS_ENDPOINT_URL)`;

const REPOSITORY_SHORT_USAGE = SHORT_USAGE.replace('|console>', '|console|load>');

async function runLoad(argv: readonly string[]): Promise<number> {
  try {
    const invocation = parseLoadCommandLine(argv);
    const target = await resolveTarget(invocation.target, defaultTargetDependencies(LOCAL_DEFAULT));
    const c = connect(target.outputs as StackOutputs, target.endpoint, target.region);
    const progress = stderrProgress(invocation.json);
    const report = await load(c, invocation.options, progress);
    console.log(invocation.json ? JSON.stringify(report) : renderLoad(report));
    return 0;
  } catch (error) {
    reportError(error, REPOSITORY_SHORT_USAGE);
    return error instanceof OpsError ? error.exitCode : 1;
  }
}

const argv = process.argv.slice(2);
const isLoad =
  argv.find((word) => !word.startsWith('-')) === 'load' && !argv.includes('--help') && !argv.includes('-h');
process.exitCode = isLoad
  ? await runLoad(argv.filter((_word, index) => index !== argv.indexOf('load')))
  : await runOpsCli(argv, {
      localDefault: LOCAL_DEFAULT,
      usage: REPOSITORY_USAGE,
      shortUsage: REPOSITORY_SHORT_USAGE,
    });
