/**
 * How every function of the library is bundled, by `BundledFunction` at synth time and by `npm run build` for the
 * pre-built handlers of the package: the AWS SDK bundled in, minified, CommonJS for Node.js 20 and later, with the
 * class and function names kept (errors are matched and logged by name).
 */
export const HANDLER_BUNDLING = {
  minify: true,
  target: 'node20',
  mainFields: ['module', 'main'],
  keepNames: true,
} as const;
