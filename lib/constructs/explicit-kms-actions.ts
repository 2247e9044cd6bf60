import { type IAspect, Lazy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';

/**
 * The KMS wildcard actions CDK's grants write (`key.grantEncryptDecrypt`, behind `table.grantReadWriteData`,
 * `queue.grantSendMessages`, `topic.grantPublish`, …), each with the exact actions it stands for today.
 */
export const KMS_WILDCARD_EXPANSIONS: Readonly<Record<string, readonly string[]>> = {
  'kms:GenerateDataKey*': [
    'kms:GenerateDataKey',
    'kms:GenerateDataKeyPair',
    'kms:GenerateDataKeyPairWithoutPlaintext',
    'kms:GenerateDataKeyWithoutPlaintext',
  ],
  'kms:ReEncrypt*': ['kms:ReEncryptFrom', 'kms:ReEncryptTo'],
};

interface Statement {
  Action?: string | string[];
  [key: string]: unknown;
}

/** A policy document (as CloudFormation gets it) with each KMS wildcard action replaced by the actions it names. */
export function expandKmsWildcards(document: unknown): unknown {
  if (typeof document !== 'object' || document === null) return document;
  const doc = document as { Statement?: Statement[] };
  if (!Array.isArray(doc.Statement)) return document;
  return {
    ...doc,
    Statement: doc.Statement.map((statement) => {
      if (statement.Action === undefined) return statement;
      const actions = Array.isArray(statement.Action) ? statement.Action : [statement.Action];
      const expanded = [...new Set(actions.flatMap((action) => KMS_WILDCARD_EXPANSIONS[action] ?? [action]))];
      return { ...statement, Action: expanded.length === 1 ? expanded[0] : expanded };
    }),
  };
}

/**
 * Least privilege without wildcard actions: rewrites every IAM policy in its scope so that `kms:GenerateDataKey*`
 * and `kms:ReEncrypt*` become the explicit actions they grant today (same permissions, nothing a future KMS action
 * would add). The rewrite happens when the template is written, so grants added after the aspect ran are covered.
 */
export class ExplicitKmsActions implements IAspect {
  private readonly rewritten = new WeakSet<iam.CfnPolicy>();

  visit(node: IConstruct): void {
    if (!(node instanceof iam.CfnPolicy) || this.rewritten.has(node)) return;
    this.rewritten.add(node);
    const original: unknown = node.policyDocument;
    node.policyDocument = Lazy.uncachedAny({
      produce: (context) => expandKmsWildcards(context.resolve(original)),
    });
  }
}
