import type { MetricsOptions } from './metrics-options';

/** Counts of events, published together: what a consumer handler counts per batch. */
export interface CountMetrics {
  /** Adds `count` to the metric `name`. */
  add(name: string, count: number): void;
  /** Publishes what was added since the last publish (nothing when nothing was), and starts again from zero. */
  publish(): void;
}

/** One line of CloudWatch's embedded metric format (EMF): CloudWatch Logs turns it into the metrics it declares. */
export interface EmfLine {
  readonly _aws: {
    readonly Timestamp: number;
    readonly CloudWatchMetrics: readonly {
      readonly Namespace: string;
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit: 'Count' }[];
    }[];
  };
  readonly [field: string]: unknown;
}

/** Writes a line to the function's standard output as it is (CloudWatch Logs reads EMF from a whole JSON line). */
function writeToStdout(line: string): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Count metrics published as EMF lines on standard output, with the dimensions of `options` (`service` and its
 * default dimensions), as Powertools Metrics publishes them — without a dependency on it. Build `options` with
 * `metricsOptionsFromEnvironment`, so the metrics land where the stack's alarms look.
 */
export function emfCountMetrics(
  options: MetricsOptions,
  write: (line: string) => void = writeToStdout,
  clock: () => Date = () => new Date(),
): CountMetrics {
  const counts = new Map<string, number>();
  const dimensions = { service: options.serviceName, ...options.defaultDimensions };
  return {
    add(name, count) {
      counts.set(name, (counts.get(name) ?? 0) + count);
    },
    publish() {
      if (counts.size === 0) return;
      const line: EmfLine = {
        _aws: {
          Timestamp: clock().getTime(),
          CloudWatchMetrics: [
            {
              Namespace: options.namespace,
              Dimensions: [Object.keys(dimensions)],
              Metrics: [...counts.keys()].map((name) => ({ Name: name, Unit: 'Count' as const })),
            },
          ],
        },
        ...dimensions,
        ...Object.fromEntries(counts),
      };
      counts.clear();
      write(JSON.stringify(line));
    },
  };
}
