import type { DynamoDBRecord } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, vi } from 'vitest';

// The GIVEN of a test of one of the library's own handlers (functions/relay, functions/sweeper): the environment its
// construct gives the function, stubbed before the handler's module is loaded (it reads its environment when it is
// loaded), and what it writes to stdout — its JSON log lines and its EMF metrics — kept for the test to read.

/** A handler loaded with its environment, and its output in the current test. */
export interface HandlerUnderTest<THandler> {
  /** The handler (loaded in beforeAll). */
  readonly handler: THandler;
  /** What the handler wrote to stdout in this test, a write an entry. */
  readonly written: string[];
  /** The JSON log line whose `message` is `message`; fails, showing what was written, if there is none. */
  logLine(message: string): Record<string, unknown>;
  /** The names of the metrics the handler published (the EMF lines on stdout), in order. */
  publishedMetrics(): string[];
}

/**
 * Registers the hooks that load `load`'s handler with `environment` and capture its stdout in every test (stderr too,
 * silenced, with `silenceStderr`); every spy and stub is restored after each test, the environment after the file.
 */
export function handlerUnderTest<THandler>(
  load: () => Promise<{ readonly handler: THandler }>,
  environment: Readonly<Record<string, string>>,
  options: { readonly silenceStderr?: boolean } = {},
): HandlerUnderTest<THandler> {
  let handler: THandler | undefined;
  const written: string[] = [];

  beforeAll(async () => {
    for (const [name, value] of Object.entries(environment)) vi.stubEnv(name, value);
    ({ handler } = await load());
  });

  afterAll(() => {
    vi.unstubAllEnvs();
  });

  beforeEach(() => {
    written.length = 0;
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      written.push(String(chunk));
      return true;
    });
    if (options.silenceStderr === true) vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  });

  afterEach(() => {
    vi.restoreAllMocks();
  });

  return {
    get handler(): THandler {
      if (handler === undefined) throw new Error('the handler is loaded in beforeAll');
      return handler;
    },
    written,
    logLine(message) {
      const line = written
        .map((text) => JSON.parse(text) as Record<string, unknown>)
        .find((entry) => entry.message === message);
      if (line === undefined) throw new Error(`no '${message}' log line in ${written.join('')}`);
      return line;
    },
    publishedMetrics() {
      return written
        .filter((line) => line.includes('"_aws"'))
        .flatMap((line) => {
          const emf = JSON.parse(line) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
          return emf._aws.CloudWatchMetrics.flatMap((set) => set.Metrics.map((metric) => metric.Name));
        });
    },
  };
}

/** The stream record of a new PENDING outbox item (message `<groupKey>-<sequence>`), as the relay receives it. */
export function outboxInsert(groupKey: string, sequence: number, traceparent: string): DynamoDBRecord {
  return {
    eventName: 'INSERT',
    eventSource: 'aws:dynamodb',
    dynamodb: {
      SequenceNumber: `${groupKey}-${sequence}`,
      Keys: { groupKey: { S: groupKey }, sequence: { N: String(sequence) } },
      NewImage: {
        groupKey: { S: groupKey },
        sequence: { N: String(sequence) },
        messageId: { S: `${groupKey}-${sequence}` },
        type: { S: 'OrderPlaced' },
        payload: { S: '{}' },
        status: { S: 'PENDING' },
        attempts: { N: '0' },
        createdAt: { S: '2026-01-01T00:00:00.000Z' },
        traceparent: { S: traceparent },
      },
    },
  };
}
