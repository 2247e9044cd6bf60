import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/ops/errors';
import { DEFAULT_CONSOLE_PORT, parseConsoleCommandLine } from '../../../scripts/console/cli-args';

const parse = (line: string) => parseConsoleCommandLine(line.split(' ').filter((word) => word !== ''));

describe('the console command line', () => {
  it('defaults to port 4700, repairs on, reports found under .local, the stack npm start deployed', () => {
    expect(parse('')).toEqual({
      kind: 'run',
      options: { target: {}, port: DEFAULT_CONSOLE_PORT, host: '127.0.0.1', readOnly: false, reports: [] },
    });
    expect(DEFAULT_CONSOLE_PORT).toBe(4700);
  });

  it('takes the ops CLI stack options, --port (0 = any), --host, --read-only and several --report', () => {
    expect(
      parse(
        '--stack Shop --region eu-west-1 --port 0 --host localhost --read-only --report a.json --report b.json',
      ),
    ).toEqual({
      kind: 'run',
      options: {
        target: { stack: 'Shop', region: 'eu-west-1' },
        port: 0,
        host: 'localhost',
        readOnly: true,
        reports: ['a.json', 'b.json'],
      },
    });
    expect(parse('--outputs out.json --endpoint http://127.0.0.1:4610')).toMatchObject({
      options: { target: { outputs: 'out.json', endpoint: 'http://127.0.0.1:4610' } },
    });
    expect(parse('--help')).toEqual({ kind: 'help' });
  });

  it.each([
    ['--stack A --outputs b.json', /--stack or --outputs, not both/],
    ['--port 70000', /--port must be an integer from 0 to 65535/],
    ['--port -1', /--port/],
    ['--port four', /--port must be an integer/],
    ['--endpoint ftp://x', /--endpoint must be an http\(s\) URL/],
    ['--json', /Unknown option '--json'/],
    ['status', /Unexpected argument 'status'/],
  ])('fails with a usage error for %s', (line, message) => {
    expect(() => parse(line)).toThrow(UsageError);
    expect(() => parse(line)).toThrow(message);
  });
});
