import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { describe, expect, it } from 'vitest';
import { MESSAGING_FUNCTION_BUNDLING, MessagingFunction } from '../../../lib/constructs/messaging-function';
import { projectRoot } from '../../../tools/paths';
import { testStack } from '../support/synth';

const entry = path.join(
  projectRoot,
  'test',
  'cdk',
  'library',
  'support',
  'fixtures',
  'document-client-user.ts',
);

/** Synthesizes one `MessagingFunction` of the fixture with real bundling (esbuild) and returns its asset's files. */
function bundle(bundling?: nodejs.BundlingOptions): { code: string; files: string[] } {
  const outdir = mkdtempSync(path.join(tmpdir(), 'messaging-function-'));
  const app = new App({ outdir });
  new MessagingFunction(new Stack(app, 'S'), 'Fn', { entry, bundling });
  app.synth();
  const [asset] = readdirSync(outdir).filter((name) => name.startsWith('asset.'));
  if (asset === undefined) throw new Error(`no asset in ${outdir}`);
  const dir = path.join(outdir, asset);
  return { code: readFileSync(path.join(dir, 'index.js'), 'utf8'), files: readdirSync(dir) };
}

/** The class of @aws-sdk/lib-dynamodb, defined in the bundle (class names are kept: `static{s(this,"…")}`). */
const DOCUMENT_CLIENT = /"DynamoDBDocumentClient"/;
/** What the bundle has instead when the SDK is left to the runtime. */
const SDK_REQUIRE = /require\(["']@aws-sdk\/(lib|client)-dynamodb["']\)/;

describe('MessagingFunction', () => {
  it('runs on Node.js 22 with 30 s and 512 MB by default, source maps enabled at run time', () => {
    // GIVEN
    const stack = testStack();

    // WHEN
    new MessagingFunction(stack, 'Fn', { entry });

    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Timeout: 30,
      MemorySize: 512,
      Handler: 'index.handler',
      Environment: { Variables: { NODE_OPTIONS: '--enable-source-maps' } },
    });
  });

  it("takes the user's runtime, timeout, memory and environment over the defaults", () => {
    // GIVEN
    const stack = testStack();

    // WHEN
    new MessagingFunction(stack, 'Fn', {
      entry,
      runtime: lambda.Runtime.NODEJS_24_X,
      timeout: Duration.seconds(10),
      memorySize: 1024,
      environment: { VIEW_TABLE_NAME: 'views', NODE_OPTIONS: '--max-old-space-size=900' },
    });

    // THEN
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Timeout: 10,
      MemorySize: 1024,
      Environment: { Variables: { VIEW_TABLE_NAME: 'views', NODE_OPTIONS: '--max-old-space-size=900' } },
    });
  });

  it('sets no NODE_OPTIONS when the bundling turns source maps off', () => {
    const stack = testStack();
    new MessagingFunction(stack, 'Fn', { entry, bundling: { sourceMap: false } });
    Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
      Environment: Match.absent(),
    });
  });

  it('bundles for the emulator host (node20), with the SDK and a source map, by default', () => {
    expect(MESSAGING_FUNCTION_BUNDLING).toMatchObject({
      target: 'node20',
      externalModules: [],
      sourceMap: true,
    });
  });

  it('puts the AWS SDK (here @aws-sdk/lib-dynamodb) in the bundle, with a source map beside it', () => {
    // WHEN the fixture, which imports the document client, is bundled
    const { code, files } = bundle();

    // THEN the asset carries the SDK's code, not a require of it
    expect(code).toMatch(DOCUMENT_CLIENT);
    expect(code).not.toMatch(SDK_REQUIRE);
    expect(files).toContain('index.js.map');
  });

  it("merges the user's bundling over the defaults: the SDK stays bundled when only sourceMap is given", () => {
    const { code, files } = bundle({ sourceMap: false });
    expect(code).toMatch(DOCUMENT_CLIENT);
    expect(code).not.toMatch(SDK_REQUIRE);
    expect(files).not.toContain('index.js.map');
  });

  it('leaves the SDK out when the user asks for it (externalModules)', () => {
    const { code } = bundle({ externalModules: ['@aws-sdk/*'] });
    expect(code).not.toMatch(DOCUMENT_CLIENT);
    expect(code).toMatch(SDK_REQUIRE);
  });

  it('finds the fixture it bundles', () => {
    expect(existsSync(entry)).toBe(true);
  });
});
