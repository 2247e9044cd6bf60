import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CFN_LINT_METADATA, CFN_LINT_REASONS_METADATA } from '../../lib/constructs/cfn-lint-acknowledgment';
import { type CfnLintFinding, cfnLint } from '../../scripts/lint/cfn-lint';
import { projectRoot } from '../../tools/paths';
import { awsSynth, type CfnTemplate, type SynthesizedStack } from '../cdk/support/aws-synth';

let stacks: SynthesizedStack[];

beforeAll(async () => {
  stacks = await awsSynth();
}, 600_000);

function readable(findings: readonly CfnLintFinding[]): string {
  return findings.map((f) => `[${f.level}] ${f.rule} at ${f.path}: ${f.message}`).join('\n');
}

/** Every acknowledged cfn-lint rule of the template: rule → the reasons given for it. */
function acknowledgments(template: CfnTemplate): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const [id, resource] of Object.entries(template.Resources)) {
    const lint = resource.Metadata?.[CFN_LINT_METADATA] as
      | { config?: { ignore_checks?: string[] } }
      | undefined;
    const reasons = (resource.Metadata?.[CFN_LINT_REASONS_METADATA] ?? {}) as Record<string, string>;
    for (const rule of lint?.config?.ignore_checks ?? []) {
      found.set(rule, [...(found.get(rule) ?? []), reasons[rule] ?? `(no reason on ${id})`]);
    }
  }
  return found;
}

describe('cfn-lint (with the serverless rules) over the AWS synth', () => {
  it('reports nothing: no error, and every warning acknowledged on its resource', () => {
    // WHEN
    const findings = cfnLint(stacks.map((stack) => stack.templateFile));
    // THEN
    expect(findings, readable(findings)).toEqual([]);
  });

  it('gives a reason for every acknowledged rule, and the guide (docs/contributing.md) lists each', () => {
    // GIVEN
    const guide = readFileSync(path.join(projectRoot, 'docs', 'contributing.md'), 'utf8');
    for (const stack of stacks) {
      // WHEN
      const acknowledged = acknowledgments(stack.template);
      // THEN
      expect([...acknowledged.keys()].sort()).toEqual([
        'ES1001',
        'ES1007',
        'ES4000',
        'ES6000',
        'W3005',
        'WS1004',
      ]);
      for (const [rule, reasons] of acknowledged) {
        for (const reason of reasons) expect(reason, rule).not.toMatch(/^\(no reason/);
        expect(guide, `docs/contributing.md names the acknowledged cfn-lint rule ${rule}`).toContain(
          `\`${rule}\``,
        );
      }
    }
  });

  it('fails if the acknowledgments are removed: cfn-lint reports those findings, errors among them', () => {
    // GIVEN
    const template = structuredClone(stacks[0]!.template);
    for (const resource of Object.values(template.Resources)) {
      if (resource.Metadata !== undefined) delete resource.Metadata[CFN_LINT_METADATA];
    }
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'cfn-lint-')), 'unacknowledged.template.json');
    writeFileSync(file, JSON.stringify(template));
    // WHEN
    const findings = cfnLint([file]);
    // THEN
    expect(new Set(findings.map((f) => f.rule))).toEqual(
      new Set(['ES1001', 'ES1007', 'ES4000', 'ES6000', 'W3005', 'WS1004']),
    );
    expect(findings.some((f) => f.level === 'Error')).toBe(true);
  });
});
