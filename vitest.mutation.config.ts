import { defineConfig } from 'vitest/config';
import base from './vitest.config';

/**
 * The unit tests only (no CDK synth, no emulator), for StrykerJS: `npm run mutation -- --mutate <file>` checks that
 * the runtime's fences have tests that fail when a fence is removed.
 */
const unit = base.test?.projects?.[0];
export default defineConfig({
  ...(typeof unit === 'object' && unit !== null && 'resolve' in unit ? { resolve: unit.resolve } : {}),
  test: { include: ['test/unit/**/*.test.ts'], testTimeout: 60_000 },
});
