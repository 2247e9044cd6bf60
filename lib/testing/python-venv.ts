import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

/** A project-local Python virtualenv (under .local/) holding pinned packages: the project's own install step. */
export class PythonVenv {
  constructor(
    /** The virtualenv's directory. */
    public readonly dir: string,
    /** The packages it must hold, by name, each at exactly this version. */
    private readonly pins: Readonly<Record<string, string>>,
    /** Prefix of what it reports on stderr while installing. */
    private readonly label: string,
  ) {}

  /** Path of an executable the virtualenv installed (e.g. `ministack`, `cfn-lint`). */
  bin(name: string): string {
    return path.join(this.dir, 'bin', name);
  }

  /** Creates the virtualenv (with `$PYTHON` or python3) and installs the pinned packages, unless they are there. */
  ensureInstalled(): void {
    const missing = Object.entries(this.pins).filter(
      ([name, version]) => this.installedVersion(name) !== version,
    );
    if (missing.length === 0) return;
    if (!existsSync(this.bin('python'))) {
      mkdirSync(path.dirname(this.dir), { recursive: true });
      this.log(`creating virtualenv ${this.dir}`);
      run(process.env.PYTHON ?? 'python3', ['-m', 'venv', this.dir]);
    }
    const specs = Object.entries(this.pins).map(([name, version]) => `${name}==${version}`);
    this.log(`installing ${specs.join(' ')}`);
    run(this.bin('python'), ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', ...specs]);
  }

  private installedVersion(name: string): string | undefined {
    if (!existsSync(this.bin('python'))) return undefined;
    const result = spawnSync(
      this.bin('python'),
      ['-c', `import importlib.metadata as m; print(m.version(${JSON.stringify(name)}))`],
      { encoding: 'utf8' },
    );
    return result.status === 0 ? result.stdout.trim() : undefined;
  }

  private log(message: string): void {
    process.stderr.write(`[${this.label}] ${message}\n`);
  }
}

function run(command: string, args: readonly string[]): void {
  const result = spawnSync(command, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} failed with exit code ${result.status ?? result.signal}`);
  }
}
