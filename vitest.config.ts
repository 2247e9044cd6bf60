import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The package's public entry points, resolved to their sources (as tsconfig.json's `paths` does for tsc, tsx and
 * esbuild): the reference application and the bench import the library by its package name, as a user's app does.
 */
const source = (path: string) => fileURLToPath(new URL(path, import.meta.url));
const resolve = {
  alias: [
    { find: /^reliable-messaging-serverless$/, replacement: source('./lib/index.ts') },
    { find: /^reliable-messaging-serverless\/testing$/, replacement: source('./lib/testing.ts') },
    { find: /^reliable-messaging-serverless\/runtime$/, replacement: source('./functions/runtime/index.ts') },
    {
      find: /^reliable-messaging-serverless\/runtime\/testing$/,
      replacement: source('./functions/runtime/testing.ts'),
    },
    // The bench's own entry (not a package export): see test/unit/project/import-boundary.test.ts.
    {
      find: /^reliable-messaging-serverless\/runtime\/bench-support$/,
      replacement: source('./functions/runtime/bench-support.ts'),
    },
  ],
};

export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      {
        resolve,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts', 'test/cdk/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        resolve,
        test: {
          // cfn-lint over the AWS synth: needs Python 3 and, the first time, PyPI (it installs cfn-lint into
          // .local/cfn-lint-venv), so it is a project of its own and the unit project runs offline without Python.
          name: 'lint-templates',
          include: ['test/lint-templates/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        resolve,
        test: {
          // Packs the tarball and installs it into a fresh `cdk init` app (needs the npm registry, no AWS account),
          // then deploys examples/shop to its own emulator: a MiniStack on port SHOP_EMULATOR_PORT (default 4599; the
          // integration project's is on 4566), or the one AWS_ENDPOINT_URL names.
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          testTimeout: 600_000,
          hookTimeout: 1_200_000,
        },
      },
      {
        resolve,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/integration/support/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          // One deployed stack is shared: run files one after another.
          fileParallelism: false,
        },
      },
    ],
  },
});
