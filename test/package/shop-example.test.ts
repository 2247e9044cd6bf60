import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeShopOnTheEmulator } from './shop-on-emulator';
import { createShopApp, run, step } from './support/shop-app';

/**
 * The README's promise to a user, kept: `examples/shop` (the app of issue 15, verbatim) in a fresh
 * `cdk init app --language typescript` project that installed the packed tarball, type-checks with that project's
 * own tsconfig and synthesizes, as CommonJS (cdk init's default) and as ES modules; then deployed to a local
 * emulator and driven, operated with the shipped CLI and seen in its console (./shop-on-emulator.ts).
 */
let work: string;
let app: string;

/** The installed package's size limit (issue 21: the package a user installs is at most 5 MB unpacked). */
const PACKAGE_SIZE_LIMIT_KIB = 5120;

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

const resourcesOf = (template: Template, type: string) =>
  Object.values(template.Resources).filter((resource) => resource.Type === type);

function synth(outdir: string): Template {
  run('npx', ['cdk', 'synth', '--quiet', '--no-notices', '--output', outdir], app);
  return JSON.parse(readFileSync(path.join(app, outdir, 'ShopMessaging.template.json'), 'utf8')) as Template;
}

function expectShopMessaging(template: Template, outdir: string): void {
  const tables = resourcesOf(template, 'AWS::DynamoDB::Table');
  expect(tables.some((table) => table.Properties?.StreamSpecification !== undefined)).toBe(true); // the outbox
  expect(resourcesOf(template, 'AWS::SQS::Queue').some((queue) => queue.Properties?.FifoQueue === true)).toBe(
    true,
  );
  const mappings = resourcesOf(template, 'AWS::Lambda::EventSourceMapping');
  expect(mappings.length).toBeGreaterThanOrEqual(2); // the outbox stream → relay, the FIFO queue → consumer
  expect(resourcesOf(template, 'AWS::CloudWatch::Alarm').length).toBeGreaterThan(0);
  const consumerEnvironment = resourcesOf(template, 'AWS::Lambda::Function')
    .map(
      (fn) => (fn.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables,
    )
    .find((variables) => variables?.CURSOR_TABLE_NAME !== undefined);
  expect(Object.keys(consumerEnvironment ?? {})).toEqual(
    expect.arrayContaining([
      'INBOX_TABLE_NAME',
      'INBOX_RETENTION_SECONDS',
      'PARK_AFTER_FAILURES',
      'ALERT_TOPIC_ARN',
    ]),
  );
  // The library's handlers come pre-built from the package: their bundles are in the assembly as shipped.
  const assets = readdirSync(path.join(app, outdir))
    .filter((name) => name.startsWith('asset.'))
    .map((name) => path.join(app, outdir, name, 'index.js'))
    .filter((file) => existsSync(file))
    .map((file) => readFileSync(file, 'utf8'));
  const shipped = path.join(app, 'node_modules', 'reliable-messaging-serverless', 'dist', 'handlers');
  for (const handler of ['relay', 'sweeper', 'inbox-monitor']) {
    expect(assets).toContain(readFileSync(path.join(shipped, handler, 'index.js'), 'utf8'));
  }
}

beforeAll(() => {
  ({ work, app } = createShopApp());
}, 1_200_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

describe('the shop example, installed from the packed tarball', () => {
  it("keeps one aws-cdk-lib and one constructs: the app's own (peer dependencies)", () => {
    const installed = path.join(app, 'node_modules', 'reliable-messaging-serverless');
    expect(existsSync(path.join(installed, 'node_modules', 'aws-cdk-lib'))).toBe(false);
    expect(existsSync(path.join(installed, 'node_modules', 'constructs'))).toBe(false);
    // ships what it needs, not its sources, tests or CI scripts
    expect(existsSync(path.join(installed, 'functions'))).toBe(false);
    expect(existsSync(path.join(installed, 'reference'))).toBe(false);
    expect(existsSync(path.join(installed, 'bench'))).toBe(false);
    expect(existsSync(path.join(installed, 'test'))).toBe(false);
    expect(existsSync(path.join(installed, '.ci'))).toBe(false);
  });

  it("type-checks and synthesizes as CommonJS (cdk init's default, NodeNext)", () => {
    run('npx', ['tsc', '--noEmit'], app);
    expectShopMessaging(synth('cdk.out'), 'cdk.out');
  });

  it('type-checks (NodeNext and Bundler resolution) and synthesizes as ES modules', () => {
    const manifest = path.join(app, 'package.json');
    const original = readFileSync(manifest, 'utf8');
    writeFileSync(manifest, JSON.stringify({ ...JSON.parse(original), type: 'module' }, null, 2));
    try {
      run('npx', ['tsc', '--noEmit'], app);
      run('npx', ['tsc', '--noEmit', '--module', 'esnext', '--moduleResolution', 'bundler'], app);
      expectShopMessaging(synth('cdk.out.esm'), 'cdk.out.esm');
    } finally {
      writeFileSync(manifest, original);
    }
  });

  it.each([
    ['reliable-messaging-serverless', 'TransactionalOutbox'],
    ['reliable-messaging-serverless/testing', 'FaultInjection'],
    ['reliable-messaging-serverless/runtime', 'OutboxWriter'],
    ['reliable-messaging-serverless/runtime/testing', 'faultSourceFromEnvironment'],
  ])('loads the entry point %s from CommonJS and from an ES module', (entry, name) => {
    const required = run(
      'node',
      ['-e', `console.log(typeof require(${JSON.stringify(entry)}).${name})`],
      app,
    );
    const imported = run(
      'node',
      ['--input-type=module', '-e', `console.log(typeof (await import(${JSON.stringify(entry)})).${name})`],
      app,
    );
    expect([required.trim(), imported.trim()]).toEqual(['function', 'function']);
  });

  it('runs reliable-messaging-ops from the installed package', () => {
    expect(run('npx', ['reliable-messaging-ops', '--help'], app)).toMatch(/reliable-messaging-ops|usage/i);
  });

  it(`is at most ${PACKAGE_SIZE_LIMIT_KIB} KiB installed (du -sk node_modules/reliable-messaging-serverless)`, () => {
    const started = Date.now();
    const kib = Number(run('du', ['-sk', 'node_modules/reliable-messaging-serverless'], app).split(/\s/)[0]);
    step(`installed package size ${kib} KiB (limit ${PACKAGE_SIZE_LIMIT_KIB} KiB), measured`, started);
    expect(kib).toBeGreaterThan(0);
    expect(kib).toBeLessThanOrEqual(PACKAGE_SIZE_LIMIT_KIB);
  });
});

describeShopOnTheEmulator(() => app);
