import { RemovalPolicy } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

/** The given key, or a new customer-managed key with yearly rotation that outlives the stack. */
export function keyOrNew(
  scope: Construct,
  id: string,
  given: kms.IKey | undefined,
  description: string,
): kms.IKey {
  return (
    given ??
    new kms.Key(scope, id, {
      description,
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    })
  );
}
