import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, parseCommandLine, USAGE } from '../../scripts/ops/cli-args';
import { UsageError } from '../../scripts/ops/errors';

const parse = (line: string) => parseCommandLine(line.split(' ').filter((word) => word !== ''));

function usageErrorOf(line: string): UsageError {
  try {
    parse(line);
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error(`expected a UsageError for: ${line}`);
}

describe('the ops command line', () => {
  it('parses each command with its options, and the global ones', () => {
    expect(parse('status --json')).toEqual({
      kind: 'run',
      command: { name: 'status' },
      json: true,
      target: {},
    });
    expect(parse('reconcile --prefix load-')).toMatchObject({
      command: { name: 'reconcile', prefix: 'load-' },
    });
    expect(parse('retry-failed --key o-1 --message m-1')).toMatchObject({
      command: { name: 'retry-failed', key: 'o-1', message: 'm-1' },
    });
    expect(parse('replay --key o-1')).toMatchObject({ command: { name: 'replay', key: 'o-1' } });
    expect(parse('resolve --transaction t-1 --rollback')).toMatchObject({
      command: { name: 'resolve', transaction: 't-1', outcome: 'rollback' },
    });
    expect(parse('redrive --dry-run')).toMatchObject({
      command: { name: 'redrive', dryRun: true },
      json: false,
    });
    expect(parse('status --stack Prod --region eu-west-1')).toMatchObject({
      target: { stack: 'Prod', region: 'eu-west-1' },
    });
    expect(parse('status --outputs out.json --endpoint http://localhost:4566')).toMatchObject({
      target: { outputs: 'out.json', endpoint: 'http://localhost:4566' },
    });
  });

  it('gives load its defaults, and takes its flags', () => {
    expect(parse('load')).toMatchObject({
      command: {
        name: 'load',
        keys: 10,
        messages: 100,
        concurrency: 8,
        prefix: 'load',
        wait: false,
        timeoutSeconds: 600,
      },
    });
    expect(
      parse('load --keys 5 --messages 12 --concurrency 3 --prefix smoke --wait --timeout 30'),
    ).toMatchObject({
      command: {
        name: 'load',
        keys: 5,
        messages: 12,
        concurrency: 3,
        prefix: 'smoke',
        wait: true,
        timeoutSeconds: 30,
      },
    });
    // More keys than the default message count: one message (the order) per key.
    expect(parse('load --keys 500')).toMatchObject({ command: { keys: 500, messages: 500 } });
  });

  it('answers --help (or -h) with the help, whatever else is given', () => {
    expect(parse('--help')).toEqual({ kind: 'help' });
    expect(parse('reconcile -h')).toEqual({ kind: 'help' });
  });

  it('lists every command and every option in the help', () => {
    for (const [command, options] of Object.entries(COMMAND_OPTIONS)) {
      expect(USAGE).toContain(`  ${command}`);
      for (const option of options) expect(USAGE).toContain(`--${option}`);
    }
    for (const option of ['--json', '--stack', '--region', '--outputs', '--endpoint', '--help']) {
      expect(USAGE).toContain(option);
    }
    expect(USAGE).toMatch(/exit codes: .*2 bad command line, 3 reconcile/);
  });

  it.each([
    ['', /no command given/],
    ['fix-everything', /unknown command "fix-everything"/],
    ['status --frobnicate', /--frobnicate/],
    ['status --dry-run', /status does not take --dry-run/],
    ['load --key o-1', /load does not take --key/],
    ['status extra', /takes no argument "extra"/],
    ['replay', /replay needs --key/],
    ['replay --key', /argument missing|--key/],
    ['resolve --transaction t-1', /exactly one of --commit, --rollback/],
    ['resolve --transaction t-1 --commit --rollback', /exactly one of --commit, --rollback/],
    ['resolve --commit', /resolve needs --transaction/],
    ['reconcile --key a --prefix b', /--key or --prefix, not both/],
    ['status --stack S --outputs f.json', /--stack or --outputs, not both/],
    ['status --endpoint localhost:4566', /--endpoint must be an http\(s\) URL/],
    ['load --keys 0', /--keys must be an integer from 1/],
    ['load --keys 2.5', /--keys must be an integer/],
    ['load --concurrency many', /--concurrency must be an integer/],
    ['load --keys 10 --messages 5', /--messages \(5\) must be at least --keys \(10\)/],
    ['load --prefix a/b', /--prefix must be/],
    ['status --json=yes', /--json/],
  ])('fails if the command line is %j, with a usage error (exit code 2)', (line, message) => {
    // WHEN it is parsed
    const error = usageErrorOf(line);

    // THEN a UsageError says what is wrong, and asks for exit code 2
    expect(error.message).toMatch(message);
    expect(error.name).toBe('UsageError');
    expect(error.exitCode).toBe(2);
  });

  it('keeps the parser error as the cause of an unknown flag', () => {
    const error = usageErrorOf('status --nope');
    expect(error.cause).toBeInstanceOf(Error);
  });
});
