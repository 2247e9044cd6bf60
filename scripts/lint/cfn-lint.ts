import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { PythonVenv } from '../../lib/testing/python-venv';
import { localDir } from '../../tools/paths';

/** cfn-lint and the serverless rules, pinned, in their own project-local virtualenv. */
export const CFN_LINT_PINS = { 'cfn-lint': '1.58.0', 'cfn-lint-serverless': '0.3.6' } as const;

const venv = new PythonVenv(path.join(localDir, 'cfn-lint-venv'), CFN_LINT_PINS, 'cfn-lint');

/** One finding of cfn-lint, as its JSON output reports it. */
export interface CfnLintFinding {
  readonly rule: string;
  readonly level: string;
  readonly message: string;
  /** The template's path to the finding, e.g. `Resources/RelayFailureQueue3FF99A00`. */
  readonly path: string;
  readonly file: string;
}

interface RawFinding {
  readonly Rule: { readonly Id: string };
  readonly Level: string;
  readonly Message: string;
  readonly Filename: string;
  readonly Location: { readonly Path?: readonly (string | number)[] };
}

/**
 * Lints CloudFormation templates with cfn-lint and the serverless rules (`cfn_lint_serverless.rules`), installing
 * both into .local/cfn-lint-venv first when they are missing. Returns every finding; resource metadata
 * `cfn-lint.config.ignore_checks` acknowledges one (see lib/constructs/cfn-lint-acknowledgment.ts).
 */
export function cfnLint(templateFiles: readonly string[]): CfnLintFinding[] {
  if (templateFiles.length === 0) throw new Error('cfnLint needs at least one template file; got none');
  venv.ensureInstalled();
  const result = spawnSync(
    venv.bin('cfn-lint'),
    [...templateFiles, '--format', 'json', '--append-rules', 'cfn_lint_serverless.rules'],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  // Exit codes: 0 clean, else a bit mask of 2 (errors), 4 (warnings), 8 (informational); 1 means cfn-lint failed.
  if (result.status === null || result.status === 1 || result.stdout.trim() === '') {
    if (result.status === 0) return [];
    throw new Error(`cfn-lint failed (exit ${result.status ?? result.signal}): ${result.stderr}`);
  }
  return (JSON.parse(result.stdout) as RawFinding[]).map((raw) => ({
    rule: raw.Rule.Id,
    level: raw.Level,
    message: raw.Message,
    path: (raw.Location.Path ?? []).join('/'),
    file: raw.Filename,
  }));
}
