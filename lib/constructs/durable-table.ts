import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** The durability settings every stateful resource of this library takes. */
export interface DurabilityProps {
  /**
   * What happens to the data when the resource leaves the stack.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Refuse DeleteTable while this is on.
   * @default true
   */
  readonly deletionProtection?: boolean;
  /**
   * Continuous backups: restore to any second of the last 35 days.
   * @default true
   */
  readonly pointInTimeRecovery?: boolean;
}

export interface DurableTableProps extends DurabilityProps {
  readonly partitionKey: dynamodb.Attribute;
  /** @default no sort key */
  readonly sortKey?: dynamodb.Attribute;
  /** @default no stream */
  readonly stream?: dynamodb.StreamViewType;
  /** @default no TTL */
  readonly timeToLiveAttribute?: string;
  /** Customer-managed key for encryption at rest. */
  readonly encryptionKey: kms.IKey;
}

/**
 * A DynamoDB table with this library's durability defaults: on-demand capacity, KMS encryption with a
 * customer-managed key, point-in-time recovery, deletion protection and RETAIN.
 */
export class DurableTable extends Construct {
  public readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string, props: DurableTableProps) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: props.partitionKey,
      sortKey: props.sortKey,
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      encryption: dynamodb.TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: props.encryptionKey,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: props.pointInTimeRecovery ?? true },
      deletionProtection: props.deletionProtection ?? true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      stream: props.stream,
      timeToLiveAttribute: props.timeToLiveAttribute,
    });
  }
}
