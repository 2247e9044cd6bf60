import { fileURLToPath } from 'node:url';
import { CfnOutput, Duration, Fn, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import {
  AlertTopic,
  BundledFunction,
  CompensationSweeper,
  type CompensationSweeperProps,
  ConsumerGroup,
  type DurabilityProps,
  DurableTable,
  EventsTopic,
  FifoChannel,
  grantItemActions,
  IdempotentConsumer,
  MessagingAlarms,
  OutboxRelay,
  TransactionalOutbox,
  TransactionCheckBack,
  type TransactionCheckBackProps,
} from 'reliable-messaging-serverless';
import { FaultInjection } from 'reliable-messaging-serverless/testing';
import { ApiCeilingProbe } from '../../bench/constructs/api-ceiling-probe';
import {
  LEAN_CONSUMER_BATCH_SIZE,
  LEAN_CONSUMER_MAX_CONCURRENCY,
  LeanBenchPipeline,
} from '../../bench/constructs/lean-bench-pipeline';
import { NaiveBaseline } from '../../bench/constructs/naive-baseline';
import { RawConsumerProbe } from '../../bench/constructs/raw-consumer-probe';
import { OrdersHttpApi } from '../constructs/orders-http-api';

export interface ReliableMessagingDemoStackProps extends StackProps {
  /**
   * Base URL of the local emulator this stack is deployed to (e.g. `http://localhost:4566`). The `ApiUrl`
   * output then has the emulator's `/_aws/execute-api/<apiId>/` form, which every HTTP client can reach.
   * @default deployed to AWS: `ApiUrl` is the API's execute-api URL
   */
  readonly emulatorEndpoint?: string;
  /**
   * Who may call the orders API (output `ApiUrl`). A stack deployed to an emulator also gets a second instance of the
   * API with the default IAM authorization (output `SignedApiUrl`), to show IAM enforced.
   * @default IAM (SigV4): `new HttpIamAuthorizer()`; callers need `execute-api:Invoke` (`ordersApi.grantInvoke`)
   */
  readonly apiAuthorizer?: apigwv2.IHttpRouteAuthorizer;
  /**
   * Durability of the tables and queues. Relax it only for throw-away stacks.
   * @default RETAIN, deletion protection and point-in-time recovery on
   */
  readonly durability?: DurabilityProps;
  /**
   * Build a TEST stack: functions carry their fault-injection code and read the faults to inject from an SSM
   * parameter (output `FaultsParameterName`). Never for a stack that serves real traffic.
   * @default false: no fault code in any bundle, no parameter, no permission to read one
   */
  readonly faultInjection?: boolean;
  /**
   * Functions log, per invocation, the requests and capacity units they used (`npm run bench` reads them).
   * @default false
   */
  readonly unitAccounting?: boolean;
  /**
   * Who receives the alarms and alerts (the alert topic's subscriptions), e.g.
   * `new subscriptions.EmailSubscription('ops@example.com')`; `cdk deploy -c alertEmail=…` sets an email one.
   * @default none: subscribe to the topic of output `AlertTopicArn` yourself
   */
  readonly alertSubscriptions?: readonly sns.ITopicSubscription[];
  /**
   * Timing of the compensation sweep and of redeliveries; tests shorten them to see recoveries in seconds.
   * @default the constructs' defaults
   */
  readonly timing?: DemoTiming;
}

/** Timings a test stack shortens. */
export interface DemoTiming {
  readonly sweeper?: Pick<
    CompensationSweeperProps,
    'gracePeriod' | 'maxAttempts' | 'maxAge' | 'backoff' | 'maxBackoff' | 'auditInterval' | 'auditGrace'
  >;
  readonly checkBack?: Pick<TransactionCheckBackProps, 'checkInterval' | 'maxChecks' | 'checkerTimeout'>;
  /** The queue's visibility timeout: how soon a failed delivery is retried. @default Duration.minutes(3) */
  readonly queueVisibilityTimeout?: Duration;
  /** Failed attempts of one message before its key is parked. @default 3 */
  readonly parkAfterFailures?: number;
  /** The consumer function's timeout (must stay under the visibility timeout). @default Duration.seconds(30) */
  readonly consumerTimeout?: Duration;
  /**
   * The orders API function's timeout: the producer's maximum lifetime, so also the half messages' prepare timeout
   * and an idempotency key's lease. @default Duration.seconds(15)
   */
  readonly producerTimeout?: Duration;
}

const functionsDir = (file: string) => fileURLToPath(new URL(`../functions/${file}`, import.meta.url));

/**
 * The reference application (design.md): an orders API whose every change commits an outbox message, a relay that
 * publishes them to an SNS FIFO topic, and three consumer groups, each with its own queue and consumer, once and in
 * order per key: `projection` (orders and inventory views), `audit` (an append-only log per order) and `shipping`
 * (a shipment status per order, from three message types).
 */
export class ReliableMessagingDemoStack extends Stack {
  public readonly outbox: TransactionalOutbox;
  /** The SNS FIFO topic the relay and the sweeper publish to (output `EventsTopicArn`). */
  public readonly topic: EventsTopic;
  /** The queue of the `projection` group (outputs `QueueUrl`, `DeadLetterQueueUrl`). */
  public readonly channel: FifoChannel;
  public readonly relay: OutboxRelay;
  /** The consumer of the `projection` group. */
  public readonly consumer: IdempotentConsumer;
  /** The `audit` group: an append-only log of every message per order. */
  public readonly auditGroup: ConsumerGroup;
  /** The `shipping` group: a shipment status per order, its cursors in the shipping table. */
  public readonly shippingGroup: ConsumerGroup;
  /** The orders API's HTTP API (output `ApiUrl`). */
  public readonly api: apigwv2.HttpApi;
  /** The orders API: routes, stage, access logs, `grantInvoke`. */
  public readonly ordersApi: OrdersHttpApi;
  /** Set only in a stack deployed to an emulator: the same API with IAM authorization (output `SignedApiUrl`). */
  public readonly signedOrdersApi?: OrdersHttpApi;
  public readonly sweeper: CompensationSweeper;
  public readonly alarms: MessagingAlarms;
  public readonly checkBack: TransactionCheckBack;
  /** Set only in a stack built with `faultInjection`. */
  public readonly faultInjection?: FaultInjection;

  constructor(scope: Construct, id: string, props: ReliableMessagingDemoStackProps = {}) {
    super(scope, id, props);
    const durability = props.durability ?? {};
    const key = new kms.Key(this, 'DataKey', {
      description: 'Encrypts the reliable messaging demo data at rest',
      enableKeyRotation: true,
      removalPolicy: durability.removalPolicy,
    });

    const orders = new DurableTable(this, 'Orders', {
      ...durability,
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
      encryptionKey: key,
    }).table;
    const projection = new DurableTable(this, 'Projection', {
      ...durability,
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      encryptionKey: key,
    }).table;

    const timing = props.timing ?? {};
    this.faultInjection = props.faultInjection ? new FaultInjection(this, 'FaultInjection') : undefined;
    const faultInjection = this.faultInjection;

    const payments = new DurableTable(this, 'Payments', {
      ...durability,
      partitionKey: { name: 'transactionId', type: dynamodb.AttributeType.STRING },
      encryptionKey: key,
    }).table;

    this.outbox = new TransactionalOutbox(this, 'Outbox', {
      ...durability,
      encryptionKey: key,
      idempotencyKeys: true,
      // Half messages (the payments' transactions) and their 7-day tombstones in a table of their own: the outbox
      // holds only ordinary messages, so the sweeper's audit Scan never reads resolved transactions.
      transactionTable: true,
    });
    const idempotencyTable = this.outbox.idempotencyTable!;
    this.topic = new EventsTopic(this, 'Events', { encryptionKey: key });
    // The projection group's queue keeps its id (and the outputs QueueUrl, DeadLetterQueueUrl) from the days of one queue.
    this.channel = new FifoChannel(this, 'Channel', {
      encryptionKey: key,
      removalPolicy: durability.removalPolicy,
      visibilityTimeout: timing.queueVisibilityTimeout,
    });
    this.topic.subscribeChannel(this.channel, { groupName: 'projection' });
    this.relay = new OutboxRelay(this, 'Relay', {
      outbox: this.outbox,
      topic: this.topic,
      faultInjection,
    });
    const alerts = new AlertTopic(this, 'Alerts', {
      encryptionKey: key,
      subscriptions: props.alertSubscriptions,
    });
    this.sweeper = new CompensationSweeper(this, 'Sweeper', {
      outbox: this.outbox,
      topic: this.topic,
      alertTopic: alerts.topic,
      faultInjection,
      ...timing.sweeper,
    });

    const consumerFunction = new BundledFunction(this, 'OrdersConsumer', {
      entry: functionsDir('consumer-handler.ts'),
      timeout: timing.consumerTimeout ?? Duration.seconds(30),
      faultInjection,
      environment: {
        PROJECTION_TABLE_NAME: projection.tableName,
        POWERTOOLS_SERVICE_NAME: 'orders-consumer',
      },
    }).function;
    // The projection reads and writes its views and inventory items (ProjectionService): no Query, Scan or delete.
    grantItemActions(projection, consumerFunction, 'GetItem', 'PutItem', 'UpdateItem');
    this.consumer = new IdempotentConsumer(this, 'Consumer', {
      ...durability,
      queue: this.channel.queue,
      groupName: 'projection',
      handler: consumerFunction,
      encryptionKey: key,
      alertTopic: alerts.topic,
      // The reference demonstrates all three strategies, one per effect (see ProjectionService).
      strategy: 'transaction',
      effectStrategies: { view: 'version', inventory: 'transaction', notifications: 'unique' },
      parkAfterFailures: timing.parkAfterFailures,
      faultInjection,
    });

    // The audit group: every message, appended per order at the next position (its effect reads the last one).
    const auditTable = new DurableTable(this, 'AuditTable', {
      ...durability,
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'position', type: dynamodb.AttributeType.NUMBER },
      encryptionKey: key,
    }).table;
    const auditFunction = new BundledFunction(this, 'AuditConsumer', {
      entry: functionsDir('audit-consumer-handler.ts'),
      timeout: timing.consumerTimeout ?? Duration.seconds(30),
      faultInjection,
      environment: {
        AUDIT_TABLE_NAME: auditTable.tableName,
        POWERTOOLS_SERVICE_NAME: 'audit-consumer',
      },
    }).function;
    // Its effect: the order's last position (Query), then a conditional put of the next one (in the transaction).
    grantItemActions(auditTable, auditFunction, 'Query', 'PutItem');
    this.auditGroup = new ConsumerGroup(this, 'Audit', {
      ...durability,
      topic: this.topic,
      groupName: 'audit',
      channel: {
        encryptionKey: key,
        removalPolicy: durability.removalPolicy,
        visibilityTimeout: timing.queueVisibilityTimeout,
      },
      handler: auditFunction,
      encryptionKey: key,
      alertTopic: alerts.topic,
      strategy: 'transaction',
      parkAfterFailures: timing.parkAfterFailures,
      faultInjection,
    });

    // The shipping group: three message types; its table is its cursor table (status and cursor in one write).
    const shippingTable = new DurableTable(this, 'ShippingTable', {
      ...durability,
      partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
      encryptionKey: key,
    }).table;
    const shippingFunction = new BundledFunction(this, 'ShippingConsumer', {
      entry: functionsDir('shipping-consumer-handler.ts'),
      timeout: timing.consumerTimeout ?? Duration.seconds(30),
      faultInjection,
      environment: {
        SHIPPING_TABLE_NAME: shippingTable.tableName,
        POWERTOOLS_SERVICE_NAME: 'shipping-consumer',
      },
    }).function;
    this.shippingGroup = new ConsumerGroup(this, 'Shipping', {
      ...durability,
      topic: this.topic,
      groupName: 'shipping',
      channel: {
        encryptionKey: key,
        removalPolicy: durability.removalPolicy,
        visibilityTimeout: timing.queueVisibilityTimeout,
      },
      handler: shippingFunction,
      encryptionKey: key,
      alertTopic: alerts.topic,
      // The consumer is granted read and write on it (IdempotentConsumer's cursorTable).
      cursorTable: { table: shippingTable, keyAttribute: 'orderId' },
      messageTypes: ['OrderPlaced', 'PaymentCaptured', 'OrderCancelled'],
      parkAfterFailures: timing.parkAfterFailures,
      faultInjection,
    });

    const producerTimeout = timing.producerTimeout ?? Duration.seconds(15);
    const apiFunction = new BundledFunction(this, 'OrdersApi', {
      entry: functionsDir('api-handler.ts'),
      timeout: producerTimeout,
      faultInjection,
      environment: {
        ORDERS_TABLE_NAME: orders.tableName,
        OUTBOX_TABLE_NAME: this.outbox.table.tableName,
        PROJECTION_TABLE_NAME: projection.tableName,
        PAYMENTS_TABLE_NAME: payments.tableName,
        IDEMPOTENCY_TABLE_NAME: idempotencyTable.tableName,
        AUDIT_TABLE_NAME: auditTable.tableName,
        SHIPPING_TABLE_NAME: shippingTable.tableName,
        PRODUCER_LIFETIME_SECONDS: String(producerTimeout.toSeconds()),
        POWERTOOLS_SERVICE_NAME: 'orders-api',
      },
    }).function;
    // Orders are the producer's aggregates: declared for the ops CLI, whose reconcile reads each order's version.
    this.outbox.addProducer(apiFunction, {
      producerTable: { table: orders, keyAttribute: 'orderId', sequenceAttribute: 'version' },
      transactionalMessages: true,
      idempotencyKeys: true,
    });
    projection.grantReadData(apiFunction);
    // GET /orders/{id}/audit (Query by order) and GET /orders/{id}/shipment (GetItem): read only.
    grantItemActions(auditTable, apiFunction, 'GetItem', 'Query');
    grantItemActions(shippingTable, apiFunction, 'GetItem', 'Query');
    payments.grantReadWriteData(apiFunction);

    const checker = new BundledFunction(this, 'PaymentChecker', {
      entry: functionsDir('payment-checker-handler.ts'),
      timeout: Duration.seconds(10),
      faultInjection,
      environment: {
        ORDERS_TABLE_NAME: orders.tableName,
        OUTBOX_TABLE_NAME: this.outbox.table.tableName,
        PAYMENTS_TABLE_NAME: payments.tableName,
        PRODUCER_LIFETIME_SECONDS: String(producerTimeout.toSeconds()),
        POWERTOOLS_SERVICE_NAME: 'payment-checker',
      },
    }).function;
    payments.grantReadData(checker);
    this.outbox.addTransactionEnvironment(checker);
    this.checkBack = new TransactionCheckBack(this, 'CheckBack', {
      outbox: this.outbox,
      checker,
      aggregateTables: [orders],
      localStepTables: [payments],
      alertTopic: alerts.topic,
      producers: [apiFunction],
      faultInjection,
      ...timing.checkBack,
    });

    this.alarms = new MessagingAlarms(this, 'Alarms', {
      alertTopic: alerts.topic,
      topic: this.topic,
      channel: this.channel,
      relay: this.relay,
      sweeper: this.sweeper,
      checkBack: this.checkBack,
      consumer: this.consumer,
      functions: { OrdersApi: apiFunction, OrdersConsumer: consumerFunction, PaymentChecker: checker },
    });
    this.alarms.addConsumerGroup(this.auditGroup, { name: 'Audit' });
    this.alarms.addConsumerGroup(this.shippingGroup, { name: 'Shipping' });

    this.ordersApi = new OrdersHttpApi(this, 'HttpApi', {
      handler: apiFunction,
      authorizer: props.apiAuthorizer,
    });
    this.api = this.ordersApi.httpApi;
    const emulatorEndpoint = props.emulatorEndpoint;
    const apiUrl = (api: apigwv2.HttpApi) =>
      emulatorEndpoint === undefined
        ? `${api.apiEndpoint}/`
        : Fn.join('', [emulatorEndpoint.replace(/\/+$/, ''), '/_aws/execute-api/', api.apiId, '/']);
    if (emulatorEndpoint !== undefined) {
      // On the emulator, ApiUrl is open (the contract's tests call it unsigned); this twin shows IAM enforced.
      this.signedOrdersApi = new OrdersHttpApi(this, 'SignedHttpApi', {
        handler: apiFunction,
        description: 'Reliable messaging reference application, IAM-authorized (emulator only)',
      });
      if (this.ordersApi.authorizationType === 'NONE') {
        Validations.of(this.ordersApi).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            "Emulator stack only: the contract's acceptance tests call ApiUrl unsigned; SignedApiUrl serves the same routes with IAM",
        });
      }
    }
    if (emulatorEndpoint !== undefined && durability.pointInTimeRecovery === false) {
      Validations.of(this).acknowledge({
        id: 'AwsSolutions-DDB3',
        reason:
          'Emulator stack only: throw-away local tables (bin/app.ts relaxes durability); MiniStack keeps no backups',
      });
    }

    new CfnOutput(this, 'ApiUrl', {
      value: apiUrl(this.api),
      description: 'Base URL of the orders API (ends with /)',
    });
    if (this.signedOrdersApi) {
      new CfnOutput(this, 'SignedApiUrl', {
        value: apiUrl(this.signedOrdersApi.httpApi),
        description: 'Base URL of the same orders API with IAM (SigV4) authorization (ends with /)',
      });
    }
    new CfnOutput(this, 'OrdersTableName', { value: orders.tableName });
    new CfnOutput(this, 'OutboxTableName', { value: this.outbox.table.tableName });
    // Where the ops CLI reads and resolves transactions (its stack outputs win over the template's roles).
    new CfnOutput(this, 'TransactionTableName', { value: this.outbox.halfMessageTable.tableName });
    new CfnOutput(this, 'InboxTableName', { value: this.consumer.inboxTable.tableName });
    new CfnOutput(this, 'ProjectionTableName', { value: projection.tableName });
    new CfnOutput(this, 'QueueUrl', { value: this.channel.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.channel.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'AlertTopicArn', { value: alerts.topic.topicArn });
    new CfnOutput(this, 'RelayFailureQueueUrl', { value: this.relay.failureQueue.queueUrl });
    new CfnOutput(this, 'RelayFunctionName', { value: this.relay.function.functionName });
    new CfnOutput(this, 'SweeperFunctionName', { value: this.sweeper.function.functionName });
    new CfnOutput(this, 'ConsumerFunctionName', { value: consumerFunction.functionName });
    new CfnOutput(this, 'PaymentsTableName', { value: payments.tableName });
    new CfnOutput(this, 'IdempotencyTableName', { value: idempotencyTable.tableName });
    new CfnOutput(this, 'CheckBackFunctionName', { value: this.checkBack.function.functionName });
    new CfnOutput(this, 'ApiFunctionName', { value: apiFunction.functionName });
    new CfnOutput(this, 'EventsTopicArn', { value: this.topic.topicArn });
    new CfnOutput(this, 'AuditTableName', { value: auditTable.tableName });
    new CfnOutput(this, 'AuditQueueUrl', { value: this.auditGroup.channel.queue.queueUrl });
    new CfnOutput(this, 'AuditDeadLetterQueueUrl', {
      value: this.auditGroup.channel.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'AuditInboxTableName', { value: this.auditGroup.consumer.inboxTable.tableName });
    new CfnOutput(this, 'AuditConsumerFunctionName', { value: auditFunction.functionName });
    new CfnOutput(this, 'ShippingTableName', { value: shippingTable.tableName });
    new CfnOutput(this, 'ShippingQueueUrl', { value: this.shippingGroup.channel.queue.queueUrl });
    new CfnOutput(this, 'ShippingDeadLetterQueueUrl', {
      value: this.shippingGroup.channel.deadLetterQueue.queueUrl,
    });
    new CfnOutput(this, 'ShippingInboxTableName', {
      value: this.shippingGroup.consumer.inboxTable.tableName,
    });
    new CfnOutput(this, 'ShippingConsumerFunctionName', { value: shippingFunction.functionName });
    if (props.unitAccounting) {
      for (const fn of [
        apiFunction,
        consumerFunction,
        auditFunction,
        shippingFunction,
        this.relay.function,
        this.sweeper.function,
      ]) {
        fn.addEnvironment('UNIT_ACCOUNTING', 'true');
      }
      const ceiling = new ApiCeilingProbe(this, 'ApiCeilingProbe', { api: this.api });
      new CfnOutput(this, 'ApiCeilingFunctionName', { value: ceiling.function.functionName });
      const naive = new NaiveBaseline(this, 'NaiveBaseline');
      new CfnOutput(this, 'NaiveQueueUrl', { value: naive.queue.queueUrl });
      new CfnOutput(this, 'NaiveTableName', { value: naive.table.tableName });
      new CfnOutput(this, 'NaiveConsumerFunctionName', { value: naive.consumer.functionName });
      const lean = new LeanBenchPipeline(this, 'LeanBenchPipeline', {
        encryptionKey: key,
        alertTopic: alerts.topic,
      });
      new CfnOutput(this, 'LeanOutboxTableName', { value: lean.outbox.table.tableName });
      new CfnOutput(this, 'LeanBusinessTableName', { value: lean.businessTable.tableName });
      new CfnOutput(this, 'LeanViewTableName', { value: lean.viewTable.tableName });
      new CfnOutput(this, 'LeanRelayFunctionName', { value: lean.relay.function.functionName });
      new CfnOutput(this, 'LeanConsumerFunctionName', { value: lean.consumerFunction.functionName });
      const rawConsumer = new RawConsumerProbe(this, 'RawConsumerProbe', {
        batchSize: LEAN_CONSUMER_BATCH_SIZE,
        maxConcurrency: LEAN_CONSUMER_MAX_CONCURRENCY,
      });
      new CfnOutput(this, 'RawConsumerQueueUrl', { value: rawConsumer.queue.queueUrl });
      new CfnOutput(this, 'RawConsumerFunctionName', { value: rawConsumer.function.functionName });
    }
    new CfnOutput(this, 'DashboardName', { value: this.alarms.dashboard.dashboardName });
    if (this.faultInjection) {
      new CfnOutput(this, 'FaultsParameterName', { value: this.faultInjection.parameter.parameterName });
    }
  }
}
