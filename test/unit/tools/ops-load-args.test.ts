import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../lib/ops/errors';
import { parseLoadCommandLine } from '../../../scripts/ops/load-args';

const parse = (line: string) => parseLoadCommandLine(line.split(' ').filter((word) => word !== ''));

describe("the repository's load command line (npm run ops -- load)", () => {
  it('gives load its defaults, and takes its flags', () => {
    expect(parse('')).toEqual({
      options: { keys: 10, messages: 100, concurrency: 8, prefix: 'load', wait: false, timeoutSeconds: 600 },
      json: false,
      target: {},
    });
    expect(
      parse('--keys 5 --messages 12 --concurrency 3 --prefix smoke --wait --timeout 30 --json --stack S'),
    ).toEqual({
      options: { keys: 5, messages: 12, concurrency: 3, prefix: 'smoke', wait: true, timeoutSeconds: 30 },
      json: true,
      target: { stack: 'S' },
    });
    // More keys than the default message count: one message (the order) per key.
    expect(parse('--keys 500').options).toMatchObject({ keys: 500, messages: 500 });
  });

  it.each([
    ['--key o-1', /load does not take --key/],
    ['extra', /load takes no argument "extra"/],
    ['--keys 0', /--keys must be an integer from 1/],
    ['--keys 2.5', /--keys must be an integer/],
    ['--concurrency many', /--concurrency must be an integer/],
    ['--keys 10 --messages 5', /--messages \(5\) must be at least --keys \(10\)/],
    ['--prefix a/b', /--prefix must be/],
  ])('fails if the command line is "load %s", with a usage error', (line, message) => {
    expect(() => parse(line)).toThrow(message);
    expect(() => parse(line)).toThrow(UsageError);
  });
});
