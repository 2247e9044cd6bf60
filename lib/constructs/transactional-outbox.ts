import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { type DurabilityProps, DurableTable } from './durable-table';
import { keyOrNew } from './encryption-key';
import { markRole } from './resource-role';

export interface TransactionalOutboxProps extends DurabilityProps {
  /**
   * Key that encrypts the outbox table and its stream.
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
}

/**
 * The outbox: a DynamoDB table of messages not yet sent, written in the same transaction as the business
 * change, and its stream (new images), which feeds the relay.
 *
 * Key: `groupKey` (string, the ordering key) + `sequence` (number, the aggregate's version), so one key's
 * messages share a partition and the stream yields them in commit order.
 */
export class TransactionalOutbox extends Construct {
  public readonly table: dynamodb.Table;
  public readonly encryptionKey: kms.IKey;

  constructor(scope: Construct, id: string, props: TransactionalOutboxProps = {}) {
    super(scope, id);
    this.encryptionKey = keyOrNew(this, 'Key', props.encryptionKey, 'Encrypts the transactional outbox');
    this.table = new DurableTable(this, 'Messages', {
      ...props,
      partitionKey: { name: 'groupKey', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sequence', type: dynamodb.AttributeType.NUMBER },
      stream: dynamodb.StreamViewType.NEW_IMAGE,
      // Only resolved transactions' records carry it: they expire after their retention.
      timeToLiveAttribute: 'expiresAt',
      encryptionKey: this.encryptionKey,
    }).table;
    markRole(this.table, 'outbox-table');
  }

  /** Lets a producer put outbox messages inside its transactions (and nothing else). */
  grantWriteMessages(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem');
  }

  /** Lets a relay remove messages it has sent. */
  grantRemoveSent(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem');
  }

  /** Lets a producer prepare, commit and roll back transactional (half) messages. */
  grantTransactionalMessages(grantee: iam.IGrantable): iam.Grant {
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return this.table.grant(
      grantee,
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:GetItem',
      'dynamodb:ConditionCheckItem',
    );
  }

  /** Lets operators and sweepers read and update messages. */
  grantReadWriteMessages(grantee: iam.IGrantable): iam.Grant {
    return this.table.grantReadWriteData(grantee);
  }
}
