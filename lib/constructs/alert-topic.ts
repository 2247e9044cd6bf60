import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { keyOrNew } from './encryption-key';
import { markRole } from './resource-role';

export interface AlertTopicProps {
  /**
   * Key that encrypts the topic. CloudWatch alarms are allowed to use it (to publish to the topic).
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
}

/** The SNS topic every alarm and alert of this library publishes to: KMS-encrypted and TLS-only. */
export class AlertTopic extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    const key = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the alert topic');
    // CloudWatch publishes alarm notifications to the encrypted topic with this key.
    key.grant(new iam.ServicePrincipal('cloudwatch.amazonaws.com'), 'kms:Decrypt', 'kms:GenerateDataKey*');
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Reliable messaging alerts',
      masterKey: key,
      enforceSSL: true,
    });
    markRole(this.topic, 'alert-topic');
  }
}
