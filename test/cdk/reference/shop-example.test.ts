import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  CURSOR_TABLE_METADATA,
  PRODUCER_TABLE_METADATA,
  RESOURCE_ROLE_METADATA,
} from '../../../lib/constructs/resource-roles';
import { projectRoot } from '../../../tools/paths';

/**
 * The README's quick start (examples/shop) as `cdk synth` runs it, from this repository's sources (the package test
 * runs it from the packed tarball): its shape, which tests outside this repository rely on, and the easy path.
 */
let template: Template;

beforeAll(() => {
  const outdir = mkdtempSync(path.join(tmpdir(), 'shop-synth-'));
  execFileSync(path.join(projectRoot, 'node_modules', '.bin', 'tsx'), ['bin/shopapp.ts'], {
    cwd: path.join(projectRoot, 'examples', 'shop'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      CDK_OUTDIR: outdir,
      CDK_CONTEXT_JSON: JSON.stringify({ 'aws:cdk:bundling-stacks': [] }),
    },
  });
  template = Template.fromJSON(
    JSON.parse(readFileSync(path.join(outdir, 'ShopMessaging.template.json'), 'utf8')) as Record<
      string,
      unknown
    >,
  );
}, 120_000);

/** The logical id of the one resource of `type` whose id starts with `prefix` (a direct child of the stack). */
function resourceOf(
  type: string,
  prefix: string,
): { Properties: Record<string, unknown>; Metadata?: object } {
  const found = Object.entries(template.findResources(type)).filter(([id]) =>
    new RegExp(`^${prefix}[0-9A-F]{8}$`).test(id),
  );
  expect(found.map(([id]) => id)).toHaveLength(1);
  return found[0]![1] as { Properties: Record<string, unknown>; Metadata?: object };
}

describe('examples/shop', () => {
  it('keeps its shape: ProducerFunction, ConsumerFunction, Accounts and Views, children of ShopMessaging', () => {
    resourceOf('AWS::Lambda::Function', 'ProducerFunction');
    resourceOf('AWS::Lambda::Function', 'ConsumerFunction');
    for (const table of ['Accounts', 'Views']) {
      expect(resourceOf('AWS::DynamoDB::GlobalTable', table).Properties.KeySchema).toEqual([
        { AttributeName: 'pk', KeyType: 'HASH' },
      ]);
    }
  });

  it('runs its functions on Node.js 22, the producer told the outbox and the accounts table', () => {
    const producer = resourceOf('AWS::Lambda::Function', 'ProducerFunction');
    expect(producer.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: {
          OUTBOX_TABLE_NAME: { Ref: expect.stringMatching(/^MessagingOutboxMessages/) },
          ACCOUNTS_TABLE_NAME: { Ref: expect.stringMatching(/^Accounts/) },
        },
      },
    });
    expect(resourceOf('AWS::Lambda::Function', 'ConsumerFunction').Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Environment: {
        Variables: {
          CURSOR_TABLE_NAME: { Ref: expect.stringMatching(/^Views/) },
          CURSOR_KEY_ATTRIBUTE: 'pk',
        },
      },
    });
  });

  it("declares the views table as the consumer's cursor table for reconcile: key pk", () => {
    expect(resourceOf('AWS::DynamoDB::GlobalTable', 'Views').Metadata).toMatchObject({
      [RESOURCE_ROLE_METADATA]: 'cursor-table',
      [CURSOR_TABLE_METADATA]: { keyAttribute: 'pk' },
    });
  });

  it('declares the accounts table for reconcile: key pk, sequence version', () => {
    expect(resourceOf('AWS::DynamoDB::GlobalTable', 'Accounts').Metadata).toMatchObject({
      [RESOURCE_ROLE_METADATA]: 'producer-table',
      [PRODUCER_TABLE_METADATA]: { keyAttribute: 'pk', sequenceAttribute: 'version' },
    });
  });

  it('consumes the channel and alarms on it', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      FunctionName: { Ref: Match.stringLikeRegexp('^ConsumerFunction') },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'UnreadableMessages' });
  });
});
