import { Annotations, Aspects, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { keyOrNew } from './encryption-key';
import { markRole } from './resource-role';

export interface AlertTopicProps {
  /**
   * Key that encrypts the topic. CloudWatch alarms of this account and region are allowed to use it (to publish to
   * the topic); a key passed here must be a `kms.Key` of this app for that statement to reach its key policy.
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Who receives the alerts: e.g. `new subscriptions.EmailSubscription('ops@example.com')` (confirmed by a link
   * in the first mail), an SQS queue or a chat webhook behind HTTPS.
   * Without any subscription to the topic (here, through `topic.addSubscription` or an `sns.Subscription` anywhere
   * in the app), the synth warns (`reliable-messaging:alertTopicUnsubscribed`): nobody would hear an alarm.
   * @default no subscription: subscribe to the topic (output `AlertTopicArn`) yourself
   */
  readonly subscriptions?: readonly sns.ITopicSubscription[];
}

const CLOUDWATCH = new iam.ServicePrincipal('cloudwatch.amazonaws.com');

/**
 * The SNS topic every alarm and alert of this library publishes to: KMS-encrypted and TLS-only.
 *
 * `enforceSSL` gives the topic a resource policy, which replaces SNS's default one: so the policy also allows
 * CloudWatch to publish, but only for alarms of this account and region (the confused-deputy conditions
 * `aws:SourceAccount` and `aws:SourceArn`); the key policy allows the same. Functions publish through their roles.
 */
export class AlertTopic extends Construct {
  public readonly topic: sns.Topic;

  constructor(scope: Construct, id: string, props: AlertTopicProps = {}) {
    super(scope, id);
    const key = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the alert topic');
    const fromAlarms = alarmsOfThisAccount(Stack.of(this));
    // CloudWatch encrypts the alarm notification it publishes to the topic with this key (the actions AWS documents
    // for alarms that notify an encrypted topic).
    const { statementAdded } = key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublishToTheAlertTopic',
        principals: [CLOUDWATCH],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: fromAlarms,
      }),
    );
    if (!statementAdded) {
      Annotations.of(this).addWarningV2(
        'reliable-messaging:alertKeyPolicy',
        "The alert topic's key is imported: its key policy must let cloudwatch.amazonaws.com kms:Decrypt and kms:GenerateDataKey*, or no alarm reaches the topic",
      );
    }
    this.topic = new sns.Topic(this, 'Topic', {
      displayName: 'Reliable messaging alerts',
      masterKey: key,
      enforceSSL: true,
    });
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [CLOUDWATCH],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: fromAlarms,
      }),
    );
    for (const subscription of props.subscriptions ?? []) this.topic.addSubscription(subscription);
    markRole(this.topic, 'alert-topic');
    // Decided at synth, when every subscription the app adds (here or elsewhere) exists.
    Aspects.of(this).add({
      visit: (node) => {
        if (node === this) this.warnIfUnsubscribed();
      },
    });
  }

  private warnIfUnsubscribed(): void {
    const subscribed = this.node.root.node
      .findAll()
      .some((node) => node instanceof sns.CfnSubscription && node.topicArn === this.topic.topicArn);
    if (subscribed) return;
    Annotations.of(this).addWarningV2(
      ALERT_TOPIC_UNSUBSCRIBED_WARNING,
      'The alert topic has no subscriber: every alarm and alert of this stack (a parked key, a FAILED message, ' +
        'a dead-lettered message) reaches nobody. Subscribe someone: AlertTopic `subscriptions` (the reference ' +
        'app: cdk deploy -c alertEmail=ops@example.com), or subscribe to the topic (output AlertTopicArn) and ' +
        'acknowledge this warning.',
    );
  }
}

/** The id of the warning a topic without a subscriber gets (acknowledge it if you subscribe outside this app). */
export const ALERT_TOPIC_UNSUBSCRIBED_WARNING = 'reliable-messaging:alertTopicUnsubscribed';

/** The conditions that limit a service principal to CloudWatch alarms of the stack's account and region. */
function alarmsOfThisAccount(stack: Stack): Record<string, Record<string, string>> {
  return {
    StringEquals: { 'aws:SourceAccount': stack.account },
    ArnLike: {
      'aws:SourceArn': `arn:${stack.partition}:cloudwatch:${stack.region}:${stack.account}:alarm:*`,
    },
  };
}
