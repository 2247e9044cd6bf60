import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import { BundledFunction } from '../../../lib/constructs/bundled-function';
import { FaultInjection } from '../../../lib/constructs/fault-injection';
import { LIBRARY_HANDLERS, libraryHandler, packageRoot } from '../../../lib/constructs/library-handlers';
import { projectRoot } from '../../../tools/paths';

/** A folder holding a pre-built bundle, as `npm run build` writes it. */
function prebuiltBundle(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'prebuilt-'));
  writeFileSync(path.join(dir, 'index.js'), 'exports.handler = async () => ({ batchItemFailures: [] });\n');
  return dir;
}

const missingEntry = path.join(tmpdir(), 'not-here', 'handler.ts');

describe('the library handlers: from source in this repository, pre-built in the installed package', () => {
  it('finds the package root from any folder inside it', () => {
    expect(packageRoot(path.join(projectRoot, 'lib', 'constructs'))).toBe(path.resolve(projectRoot));
    expect(() => packageRoot(tmpdir())).toThrow(
      /no package.json of reliable-messaging-serverless at or above/,
    );
  });

  it.each(LIBRARY_HANDLERS)('points %s at its source and at its bundle in dist/handlers', (name) => {
    expect(libraryHandler(name)).toEqual({
      entry: path.resolve(projectRoot, 'functions', name, 'handler.ts'),
      prebuiltBundle: path.resolve(projectRoot, 'dist', 'handlers', name),
    });
  });

  it('uses the pre-built bundle as is when the source is absent (an installed package)', () => {
    // GIVEN
    const stack = new Stack(new App(), 'S');
    const bundle = prebuiltBundle();

    // WHEN
    new BundledFunction(stack, 'Relay', { entry: missingEntry, prebuiltBundle: bundle });

    // THEN the function runs index.handler of the bundle's asset, with the library's defaults
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
    });
  });

  it('fails if neither the source nor the bundle exists, saying how to build it', () => {
    const stack = new Stack(new App(), 'S');
    const empty = mkdtempSync(path.join(tmpdir(), 'prebuilt-'));
    expect(() => new BundledFunction(stack, 'Relay', { entry: missingEntry, prebuiltBundle: empty })).toThrow(
      /S\/Relay: neither the handler's source .* nor its bundle .*index.js exists \(in a clone of the repository, run `npm run build`\)/,
    );
  });

  it('fails if fault injection is asked of a pre-built bundle (it has no fault code)', () => {
    const stack = new Stack(new App(), 'S');
    expect(
      () =>
        new BundledFunction(stack, 'Relay', {
          entry: missingEntry,
          prebuiltBundle: prebuiltBundle(),
          faultInjection: new FaultInjection(stack, 'Faults'),
        }),
    ).toThrow(/S\/Relay: faultInjection needs the handler's TypeScript source/);
  });

  it('bundles from source when the source exists, even with a bundle beside it (no stale build is used)', () => {
    // GIVEN the relay's source, and a bundle
    const { entry } = libraryHandler('relay');
    const stack = new Stack(new App(), 'S');

    // WHEN
    const fn = new BundledFunction(stack, 'Relay', { entry, prebuiltBundle: prebuiltBundle() });

    // THEN esbuild bundled the source (NodejsFunction: handler index.handler of its own asset)
    expect(fn.function).toBeInstanceOf(NodejsFunction);
  });
});
