import { Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import { Env } from '../../functions/runtime/environment';
import { UNSENT_INDEX, UNSENT_INDEX_ATTRIBUTES } from '../../functions/runtime/outbox/unsent-index';
import { type DurabilityProps, DurableTable } from './durable-table';
import { keyOrNew } from './encryption-key';
import { declareProducerTable, type ProducerTable } from './producer-table';
import { markRole } from './resource-role';

export interface TransactionalOutboxProps extends DurabilityProps {
  /**
   * Key that encrypts the outbox table and its stream.
   * @default a new customer-managed KMS key with rotation
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Add a table of idempotency keys (`idempotencyTable`: partition key `idempotencyKey`, TTL `expiresAt`, no
   * stream), for producers that accept an `Idempotency-Key`: a key's record is written in the same transaction as
   * the change and its outbox message. It lives in its own table so the relay's stream and the sweeper never see it.
   * @default false
   */
  readonly idempotencyKeys?: boolean;
  /**
   * Keep transactional (half) messages in a table of their own (`transactionTable`: the outbox's key schema, its
   * sparse `unsent` index for the check-back's `T#` shards, TTL `expiresAt`, no stream, the same durability and key).
   * Their 7-day tombstones then never reach the outbox table, which holds only ordinary messages (so a Scan of it,
   * such as the sweeper's audit, is O(in flight + unsent)); a commit is still one transaction, across both tables.
   * Producers and the check-back get `TRANSACTION_TABLE_NAME`.
   *
   * A deployed stack that turns it on leaves its open transactions and tombstones in the outbox table: resolve the
   * open ones first (`reliable-messaging-ops status` shows none PREPARED or FAILED) — the tombstones expire there.
   * @default false: half messages live in the outbox table
   */
  readonly transactionTable?: boolean;
}

/** What `TransactionalOutbox.addProducer` wires besides the outbox itself. */
export interface AddProducerOptions {
  /**
   * The producer's own table (its aggregates), written in the same transactions as the outbox: the function may
   * read and write it, and it is declared for the ops CLI (role `producer-table` with its key and sequence
   * attributes), so `reconcile --stack <name>` compares the outbox with it without further options. A stack
   * declares one producer table (several producers may declare the same one, with the same attributes).
   * @default no producer table: grant yours yourself; `reconcile` then needs the table on its command line
   */
  readonly producerTable?: ProducerTable;
  /**
   * Also let the producer prepare, commit and roll back transactional (half) messages (`grantTransactionalMessages`).
   * @default false
   */
  readonly transactionalMessages?: boolean;
  /**
   * Also let the producer claim, complete and release idempotency keys (`grantIdempotencyKeys`); the outbox must be
   * built with `idempotencyKeys`.
   * @default false
   */
  readonly idempotencyKeys?: boolean;
}

/**
 * The outbox: a DynamoDB table of messages not yet sent, written in the same transaction as the business
 * change, and its stream (new images), which feeds the relay.
 *
 * Key: `groupKey` (string, the ordering key) + `sequence` (number, the aggregate's version), so one key's
 * messages share a partition and the stream yields them in commit order. A sparse, sharded index (`unsent`) lists
 * the unsent messages and open transactions, for the compensation sweep and the check-back.
 */
export class TransactionalOutbox extends Construct {
  public readonly table: dynamodb.Table;
  public readonly encryptionKey: kms.IKey;
  /** Set when built with `idempotencyKeys`: the producers' idempotency keys. */
  public readonly idempotencyTable?: dynamodb.Table;
  /** Set when built with `transactionTable`: the half messages (open transactions and their tombstones). */
  public readonly transactionTable?: dynamodb.Table;

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
    // Sparse and sharded: only messages marked for the sweep (by the relay that could not send them, or by the
    // sweeper's outbox audit) and open transactions carry `sweepShard`, so the compensation sweep and the check-back
    // read O(marked + open), never the delivered history, the messages in flight or resolved transactions.
    this.table.addGlobalSecondaryIndex({
      indexName: UNSENT_INDEX,
      partitionKey: { name: 'sweepShard', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sweepOrder', type: dynamodb.AttributeType.STRING },
      projectionType: dynamodb.ProjectionType.INCLUDE,
      nonKeyAttributes: [...UNSENT_INDEX_ATTRIBUTES],
    });
    markRole(this.table, 'outbox-table');
    if (props.transactionTable) {
      this.transactionTable = new DurableTable(this, 'Transactions', {
        ...props,
        partitionKey: { name: 'groupKey', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'sequence', type: dynamodb.AttributeType.NUMBER },
        // Resolved transactions' tombstones expire after their retention.
        timeToLiveAttribute: 'expiresAt',
        encryptionKey: this.encryptionKey,
      }).table;
      // Only open transactions carry `sweepShard` (`T#<shard>`): the check-back reads O(open), never the tombstones.
      this.transactionTable.addGlobalSecondaryIndex({
        indexName: UNSENT_INDEX,
        partitionKey: { name: 'sweepShard', type: dynamodb.AttributeType.STRING },
        sortKey: { name: 'sweepOrder', type: dynamodb.AttributeType.STRING },
        projectionType: dynamodb.ProjectionType.INCLUDE,
        nonKeyAttributes: [...UNSENT_INDEX_ATTRIBUTES],
      });
      markRole(this.transactionTable, 'transaction-table');
    }
    if (props.idempotencyKeys) {
      this.idempotencyTable = new DurableTable(this, 'IdempotencyKeys', {
        ...props,
        partitionKey: { name: 'idempotencyKey', type: dynamodb.AttributeType.STRING },
        // Records expire 24 hours after their first request; one past it but not yet deleted counts as absent.
        timeToLiveAttribute: 'expiresAt',
        encryptionKey: this.encryptionKey,
      }).table;
    }
  }

  /**
   * Wires a producer in one call: lets `producer` put outbox messages in its transactions (`grantWriteMessages`),
   * sets `OUTBOX_TABLE_NAME` in its environment (what `OutboxWriter` is given), and, per `options`, grants and
   * declares its own table and grants transactional messages and idempotency keys. The consumer side's one call is
   * `FifoChannel.addConsumer`.
   */
  addProducer(producer: lambda.Function, options: AddProducerOptions = {}): void {
    if (options.idempotencyKeys && this.idempotencyTable === undefined) {
      throw new Error(
        `${this.node.path}: addProducer(${producer.node.path}) asks for idempotencyKeys, but the outbox has no ` +
          'idempotency table: build the TransactionalOutbox with idempotencyKeys: true',
      );
    }
    if (options.producerTable !== undefined) {
      declareProducerTable(this, options.producerTable);
      options.producerTable.table.grantReadWriteData(producer);
    }
    this.grantWriteMessages(producer);
    if (options.transactionalMessages) this.grantTransactionalMessages(producer);
    if (options.idempotencyKeys) this.grantIdempotencyKeys(producer);
    producer.addEnvironment(Env.OUTBOX_TABLE_NAME, this.table.tableName);
    if (options.transactionalMessages) this.addTransactionEnvironment(producer);
  }

  /** The table where half messages live: the transaction table, else the outbox table. */
  get halfMessageTable(): dynamodb.Table {
    return this.transactionTable ?? this.table;
  }

  /**
   * Sets `TRANSACTION_TABLE_NAME` in `fn`'s environment when half messages live in a table of their own (what
   * `TransactionalProducer` and the check-back are given as `transactionTableName`); a no-op otherwise.
   */
  addTransactionEnvironment(fn: lambda.Function): void {
    if (this.transactionTable !== undefined) {
      fn.addEnvironment(Env.TRANSACTION_TABLE_NAME, this.transactionTable.tableName);
    }
  }

  /**
   * Lets a producer claim, complete and release idempotency keys (inside its transactions, too), and a check-back
   * complete or release the keys of the transactions it resolves. A no-op without `idempotencyKeys`.
   */
  grantIdempotencyKeys(grantee: iam.IGrantable): iam.Grant | undefined {
    if (this.idempotencyTable === undefined) return undefined;
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return this.idempotencyTable.grant(
      grantee,
      'dynamodb:GetItem',
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:DeleteItem',
      'dynamodb:ConditionCheckItem',
    );
  }

  /** Lets a producer put outbox messages inside its transactions (and nothing else). */
  grantWriteMessages(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeIndexes(grantee);
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:PutItem', 'dynamodb:ConditionCheckItem');
  }

  /** Lets a relay remove messages it has sent. */
  grantRemoveSent(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeIndexes(grantee);
    this.encryptionKey.grantDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem');
  }

  /**
   * Lets a relay mark for the sweep the messages it could not send: one conditional `UpdateItem` per message (it
   * reads the item's condition and writes the index attributes, so it decrypts and encrypts with the table's key).
   */
  grantMarkForSweep(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeIndexes(grantee);
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return this.table.grant(grantee, 'dynamodb:UpdateItem');
  }

  /**
   * Lets a producer prepare, commit and roll back transactional (half) messages: put, read, update and check them
   * where they live; with a transaction table, also put the committed message in the outbox table (nothing more there).
   */
  grantTransactionalMessages(grantee: iam.IGrantable): iam.Grant {
    const halfMessages = this.halfMessageTable;
    this.acknowledgeIndexes(grantee, halfMessages);
    this.encryptionKey.grantEncryptDecrypt(grantee);
    const grant = halfMessages.grant(
      grantee,
      'dynamodb:PutItem',
      'dynamodb:UpdateItem',
      'dynamodb:GetItem',
      'dynamodb:ConditionCheckItem',
    );
    if (halfMessages === this.table) return grant;
    this.acknowledgeIndexes(grantee);
    return grant.combine(this.table.grant(grantee, 'dynamodb:PutItem'));
  }

  /**
   * Lets a check-back read, lease, commit and roll back half messages: query their `T#` index entries and read and
   * update them in the transaction table, and put the committed message in the outbox table. Without a transaction
   * table (half messages in the outbox table): `grantReadWriteMessages`, as stacks built before it.
   */
  grantCheckBack(grantee: iam.IGrantable): iam.Grant {
    const transactions = this.transactionTable;
    if (transactions === undefined) return this.grantReadWriteMessages(grantee);
    this.acknowledgeIndexes(grantee, transactions);
    this.acknowledgeIndexes(grantee);
    this.encryptionKey.grantEncryptDecrypt(grantee);
    return transactions
      .grant(grantee, 'dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:UpdateItem')
      .combine(this.table.grant(grantee, 'dynamodb:PutItem'));
  }

  /** Lets operators and sweepers read and update messages. */
  grantReadWriteMessages(grantee: iam.IGrantable): iam.Grant {
    this.acknowledgeIndexes(grantee);
    return this.table.grantReadWriteData(grantee);
  }

  /**
   * CDK's table grants cover `<table>/index/*`; the outbox table (and the transaction table) has one index, the
   * sparse `unsent` index.
   */
  private acknowledgeIndexes(grantee: iam.IGrantable, of: dynamodb.Table = this.table): void {
    const principal = grantee.grantPrincipal;
    if (!(principal instanceof Construct)) return;
    const table = Stack.of(this).getLogicalId(of.node.defaultChild as dynamodb.CfnTable);
    Validations.of(principal).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${table}.Arn>/index/*]`,
      reason:
        of === this.table
          ? "The outbox table's indexes only: its one index (unsent) is sparse, of the same table"
          : "The transaction table's indexes only: its one index (unsent) is sparse, of the same table",
    });
  }
}
