import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

type MetadataByPath = Record<string, { type: string; data: unknown }[]>;

/**
 * The warnings a synth into `outdir` recorded (what `cdk synth` and `cdk deploy` print), as `<construct path>: <text>`:
 * from the manifest's artifacts and from the `<stack>.metadata.json` files newer CDK versions write them to.
 */
export function synthWarnings(outdir: string): string[] {
  const manifest = JSON.parse(readFileSync(path.join(outdir, 'manifest.json'), 'utf8')) as {
    artifacts: Record<string, { metadata?: MetadataByPath }>;
  };
  const sources: MetadataByPath[] = [
    ...Object.values(manifest.artifacts).map((artifact) => artifact.metadata ?? {}),
    ...readdirSync(outdir)
      .filter((file) => file.endsWith('.metadata.json'))
      .map((file) => JSON.parse(readFileSync(path.join(outdir, file), 'utf8')) as MetadataByPath),
  ];
  return sources.flatMap((metadata) =>
    Object.entries(metadata).flatMap(([constructPath, entries]) =>
      entries
        .filter((entry) => entry.type === 'aws:cdk:warning')
        .map((entry) => `${constructPath}: ${String(entry.data)}`),
    ),
  );
}
