import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../../tools/paths';

/** A CloudFormation template as `cdk synth` writes it. */
export interface CfnTemplate {
  readonly Resources: Record<string, CfnResource>;
  readonly Outputs?: Record<string, { readonly Value: unknown }>;
}

export interface CfnResource {
  readonly Type: string;
  readonly Properties?: Record<string, unknown>;
  readonly Metadata?: Record<string, unknown>;
}

/** One stack of the synthesized app: its template and the file it was written to. */
export interface SynthesizedStack {
  readonly stackName: string;
  readonly templateFile: string;
  readonly template: CfnTemplate;
}

const SYNTH_DIR_PREFIX = 'reliable-messaging-aws-synth-';

/**
 * Every input of `cdk synth`, relative to the checkout: the app (`bin/`) and what it builds — the reference
 * application's stacks and functions, the bench's fixtures and functions, the constructs and the library's functions
 * (all bundled into assets) — and what decides how: cdk.json (the app's command and context), the package's manifest,
 * its locked dependencies and tsconfig.json (tsx and esbuild resolve the package's name by its `paths`). A change to
 * any of them synthesizes again; test/unit/project/aws-synth-key.test.ts checks the list covers everything bin/app.ts
 * imports.
 */
export const SYNTH_INPUTS: readonly string[] = [
  'bin',
  'lib',
  'functions',
  'reference',
  'bench',
  'cdk.json',
  'package.json',
  'package-lock.json',
  'tsconfig.json',
];

/**
 * The stacks `cdk synth` writes for AWS: the cdk CLI runs bin/app.ts (cdk.json's `app`) with cdk.json's context and
 * no emulator context, into a directory under the system's temp dir. Synthesized once per change of the inputs: test
 * files that run in parallel share one synthesis (the first takes a lock, the others wait for its output).
 */
export async function awsSynth(): Promise<SynthesizedStack[]> {
  const outdir = path.join(os.tmpdir(), `${SYNTH_DIR_PREFIX}${synthInputsKey(projectRoot)}`);
  const manifest = path.join(outdir, 'manifest.json');
  const lock = `${outdir}.lock`;
  for (let waited = 0; !existsSync(manifest); waited += 500) {
    if (tryLock(lock)) {
      try {
        if (!existsSync(manifest)) synthesize(outdir);
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
    } else {
      if (waited > 300_000) throw new Error(`waited 5 minutes for another synthesis into ${outdir}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
  return stacksOf(outdir);
}

function synthesize(outdir: string): void {
  const partial = `${outdir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) => !name.startsWith('AWS_ENDPOINT_URL') && !name.startsWith('CDK_'),
    ),
  );
  const result = spawnSync(
    path.join(projectRoot, 'node_modules', '.bin', 'cdk'),
    ['synth', '--quiet', '--no-notices', '--output', partial],
    // No instance metadata lookups for credentials: without them the stack is account-agnostic, as in CI.
    {
      cwd: projectRoot,
      encoding: 'utf8',
      // A test sends no CLI telemetry and checks no CLI version.
      env: {
        ...env,
        AWS_EC2_METADATA_DISABLED: 'true',
        CDK_DISABLE_CLI_TELEMETRY: 'true',
        CDK_DISABLE_VERSION_CHECK: '1',
      },
    },
  );
  if (result.status !== 0) {
    throw new Error(`cdk synth failed (exit ${result.status ?? result.signal}):\n${result.stderr}`);
  }
  renameSync(partial, outdir);
  removeOldSyntheses();
}

/** Syntheses of earlier inputs, a day old or more, go (each is a few megabytes of bundles). */
function removeOldSyntheses(): void {
  for (const entry of readdirSync(os.tmpdir())) {
    if (!entry.startsWith(SYNTH_DIR_PREFIX) || entry.endsWith('.lock')) continue;
    const full = path.join(os.tmpdir(), entry);
    if (Date.now() - statSync(full).mtimeMs > 86_400_000) rmSync(full, { recursive: true, force: true });
  }
}

/** Takes the lock (a directory: creating it is atomic), or breaks one older than 10 minutes left by a dead run. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    return true;
  } catch {
    if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > 600_000) rmSync(lock, { recursive: true });
    return false;
  }
}

function stacksOf(outdir: string): SynthesizedStack[] {
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { type: string; properties?: { templateFile?: string; stackName?: string } }>;
  };
  return Object.entries(manifest.artifacts)
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([id, artifact]) => {
      const templateFile = path.join(outdir, artifact.properties?.templateFile ?? `${id}.template.json`);
      return {
        stackName: artifact.properties?.stackName ?? id,
        templateFile,
        template: JSON.parse(readFileSync(templateFile, 'utf8')) as CfnTemplate,
      };
    });
}

/**
 * The key of a synthesis: a hash of the checkout's path (two checkouts on one machine never share a synthesis) and of
 * every file under `inputs` in `root` (its path and its content). A missing input counts as missing, not as an error.
 */
export function synthInputsKey(root: string, inputs: readonly string[] = SYNTH_INPUTS): string {
  const hash = createHash('sha256').update(root).update('\0');
  const add = (relative: string) => {
    const full = path.join(root, relative);
    if (!existsSync(full)) {
      hash.update(relative).update('\0missing\0');
    } else if (statSync(full).isDirectory()) {
      for (const entry of readdirSync(full).sort()) add(path.join(relative, entry));
    } else {
      hash.update(relative).update('\0').update(readFileSync(full)).update('\0');
    }
  };
  for (const input of inputs) add(input);
  return hash.digest('hex').slice(0, 16);
}
