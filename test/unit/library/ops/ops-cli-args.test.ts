import { describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS, parseCommandLine, USAGE } from '../../../../lib/ops/cli-args';
import { UsageError } from '../../../../lib/ops/errors';

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

  it('gives wait its default timeout, and takes --timeout and a key filter', () => {
    expect(parse('wait --stack Shop')).toMatchObject({
      command: { name: 'wait', timeoutSeconds: 120 },
      target: { stack: 'Shop' },
    });
    expect(parse('wait --prefix acct- --timeout 30')).toMatchObject({
      command: { name: 'wait', prefix: 'acct-', timeoutSeconds: 30 },
    });
  });

  it('gives console its defaults (port 4700, host 127.0.0.1, repairs on), and takes its flags', () => {
    expect(parse('console --stack Shop')).toMatchObject({
      command: { name: 'console', port: 4700, host: '127.0.0.1', readOnly: false },
    });
    expect(parse('console --stack Shop --port 0 --host localhost --read-only')).toMatchObject({
      command: { name: 'console', port: 0, host: 'localhost', readOnly: true },
    });
  });

  it('takes the producer table as three options, on reconcile, wait and console', () => {
    for (const command of ['reconcile', 'wait', 'console']) {
      expect(
        parse(`${command} --producer-table accounts --key-attribute pk --sequence-attribute version`),
      ).toMatchObject({
        target: {
          producerTable: { tableName: 'accounts', keyAttribute: 'pk', sequenceAttribute: 'version' },
        },
      });
    }
  });

  it('takes the cursor table as two options, on reconcile, wait, replay and console', () => {
    for (const command of ['reconcile', 'wait', 'replay --key a', 'console']) {
      expect(parse(`${command} --cursor-table views --cursor-key-attribute pk`)).toMatchObject({
        target: { cursorTable: { tableName: 'views', keyAttribute: 'pk' } },
      });
    }
    expect(parse('reconcile')).not.toHaveProperty('target.cursorTable');
    expect(() =>
      parseCommandLine(['reconcile', '--cursor-table', 'views', '--cursor-key-attribute', ' ']),
    ).toThrow(/--cursor-key-attribute needs a value/);
  });

  it('takes --group on status, reconcile, wait, replay, redrive and console, on the command and the target', () => {
    // WHEN each command that acts on consumer groups is given --group
    for (const line of [
      'status --group audit',
      'reconcile --key o-1 --group audit',
      'wait --prefix o- --group audit',
      'replay --key o-1 --group audit',
      'redrive --dry-run --group audit',
    ]) {
      // THEN the command says the group, and so does the target (for --cursor-table)
      expect(parse(line)).toMatchObject({ command: { group: 'audit' }, target: { group: 'audit' } });
    }
    expect(parse('console --group audit')).toMatchObject({ target: { group: 'audit' } });
  });

  it('says no group when --group is not given (every group, or the only one)', () => {
    expect(parse('reconcile --key o-1')).toEqual({
      kind: 'run',
      command: { name: 'reconcile', key: 'o-1' },
      json: false,
      target: {},
    });
  });

  it('documents --group in the help: metadata or output prefix, default, and where it is needed', () => {
    expect(USAGE).toMatch(/--group NAME\s+the consumer group/);
    expect(USAGE).toContain('reliable-messaging:group metadata');
    expect(USAGE).toContain('AuditQueueUrl');
    expect(USAGE).toMatch(/replay, redrive: needed when the stack has several groups/);
    expect(USAGE).toContain('replay --key K [--group G]');
  });

  it('documents the cursor table options in the help, with their default', () => {
    expect(USAGE).toMatch(/options of reconcile, wait, replay and console:\n {2}--cursor-table NAME/);
    expect(USAGE).toContain('--cursor-key-attribute A');
    expect(USAGE).toContain("IdempotentConsumer's cursorTable, else the inbox table's cursor items");
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
    expect(USAGE).not.toMatch(/npm run|\bload\b/);
    expect(USAGE).toContain('usage: npx reliable-messaging-ops <command> --stack <name>');
  });

  it.each([
    ['', /no command given/],
    ['fix-everything', /unknown command "fix-everything"/],
    ['status --frobnicate', /--frobnicate/],
    ['status --dry-run', /status does not take --dry-run/],
    ['load', /unknown command "load"/],
    [
      'status --producer-table t --key-attribute k --sequence-attribute s',
      /status does not take --producer-table/,
    ],
    [
      'reconcile --producer-table t',
      /all three of --producer-table NAME --key-attribute A --sequence-attribute A/,
    ],
    ['reconcile --key-attribute k --sequence-attribute s', /all three of --producer-table/],
    ['status --cursor-table v --cursor-key-attribute pk', /status does not take --cursor-table/],
    ['retry-failed --cursor-table v --cursor-key-attribute pk', /retry-failed does not take --cursor-table/],
    ['reconcile --cursor-table v', /both of --cursor-table NAME --cursor-key-attribute A/],
    ['wait --cursor-key-attribute pk', /both of --cursor-table NAME --cursor-key-attribute A/],
    [
      'reconcile --cursor-table v --cursor-key-attribute lastSequence',
      /--cursor-key-attribute must be the cursor table's partition key, not "lastSequence"/,
    ],
    ['replay --key a --cursor-table v --cursor-key-attribute parked', /not "parked"/],
    ['wait --timeout 0', /--timeout must be an integer from 1/],
    ['wait --key a --prefix b', /wait takes --key or --prefix, not both/],
    ['console --port 70000', /--port must be an integer from 0 to 65535/],
    ['console --host http://x', /--host must be a host name/],
    ['console --host', /argument missing|--host/],
    ['status extra', /takes no argument "extra"/],
    ['replay', /replay needs --key/],
    ['replay --key', /argument missing|--key/],
    ['resolve --transaction t-1', /exactly one of --commit, --rollback/],
    ['resolve --transaction t-1 --commit --rollback', /exactly one of --commit, --rollback/],
    ['resolve --commit', /resolve needs --transaction/],
    ['reconcile --key a --prefix b', /--key or --prefix, not both/],
    ['status --stack S --outputs f.json', /--stack or --outputs, not both/],
    ['status --endpoint localhost:4566', /--endpoint must be an http\(s\) URL/],
    ['status --json=yes', /--json/],
    ['retry-failed --group audit', /retry-failed does not take --group/],
    ['resolve --transaction t-1 --commit --group audit', /resolve does not take --group/],
    ['status --group', /argument missing|--group/],
  ])('fails if the command line is %j, with a usage error (exit code 2)', (line, message) => {
    // WHEN it is parsed
    const error = usageErrorOf(line);

    // THEN a UsageError says what is wrong, and asks for exit code 2
    expect(error.message).toMatch(message);
    expect(error.name).toBe('UsageError');
    expect(error.exitCode).toBe(2);
  });

  it('fails if --group is empty, with a usage error', () => {
    expect(() => parseCommandLine(['status', '--group', ' '])).toThrow(
      new UsageError('--group needs a value'),
    );
  });

  it('keeps the parser error as the cause of an unknown flag', () => {
    const error = usageErrorOf('status --nope');
    expect(error.cause).toBeInstanceOf(Error);
  });
});
