import type { CfnResource } from 'aws-cdk-lib';

/** The resource metadata cfn-lint reads its per-resource configuration from. */
export const CFN_LINT_METADATA = 'cfn-lint';
/** The resource metadata that says, per acknowledged cfn-lint rule, why the finding is accepted. */
export const CFN_LINT_REASONS_METADATA = 'cfn-lint-reasons';

interface CfnLintMetadata {
  readonly config?: { readonly ignore_checks?: readonly string[] };
}

/**
 * Acknowledges a cfn-lint finding on one resource: the rule goes into the resource's `cfn-lint` metadata
 * (`config.ignore_checks`, which cfn-lint honours) and the reason beside it (`cfn-lint-reasons`), so the template
 * itself says why. Acknowledge only what is by design or a rule's false positive, never a real defect.
 */
export function acknowledgeCfnLint(resource: CfnResource, rule: string, reason: string): void {
  if (!/^[A-Z]{1,2}\d{4}$/.test(rule)) {
    throw new Error(`rule must be a cfn-lint rule id such as W3005 or ES4000; got '${rule}'`);
  }
  if (reason.trim() === '') throw new Error(`acknowledging ${rule} needs a reason; got an empty one`);
  const lint = (resource.getMetadata(CFN_LINT_METADATA) ?? {}) as CfnLintMetadata;
  const checks = new Set([...(lint.config?.ignore_checks ?? []), rule]);
  resource.addMetadata(CFN_LINT_METADATA, {
    ...lint,
    config: { ...lint.config, ignore_checks: [...checks].sort() },
  });
  const reasons = (resource.getMetadata(CFN_LINT_REASONS_METADATA) ?? {}) as Record<string, string>;
  resource.addMetadata(CFN_LINT_REASONS_METADATA, { ...reasons, [rule]: reason });
}
