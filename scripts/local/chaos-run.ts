import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { FaultConfig } from '../../functions/runtime/faults/fault-config';
import { AlertSubscriber } from './alert-subscriber';
import type { ApiResponse } from './api-client';
import { checkEffects } from './chaos-oracle';
import { ProgressBar } from './progress';
import { type Connection, setFaults, sweepNow } from './stack-control';
import { countHeldMessages, countOutboxItems, queueDepth } from './stack-queries';

/** Every fault of the kit at once, each at a rate that keeps the run going (a blanket outage is its own test). */
export const ALL_FAULTS: FaultConfig = {
  relayCrashAfterSend: 0.05,
  sendFailureRate: 0.1,
  relaySkipRecord: 0.03,
  duplicateDelivery: 0.05,
  reorderDelivery: 0.2,
  consumerCrashAfterEffect: 0.03,
  throttleRate: 0.03,
  transactionConflictRate: 0.05,
  serviceErrorRate: 0.02,
  throttleBurstRate: 0.02,
  ambiguousCommitRate: 0.05,
  ambiguousWriteRate: 0.03,
};

export interface ChaosOptions {
  readonly messages: number;
  readonly keys: number;
  /** Clients driving the API at once. */
  readonly concurrency: number;
  readonly faults: FaultConfig;
  /**
   * The longest the drain may last, after the traffic and with faults off: it ends earlier when every message is
   * terminal, or when nothing has moved for `drainStallMs`.
   */
  readonly drainTimeoutMs: number;
  /**
   * How long the drain goes on without progress (no new low of the messages still on their way) before it stops.
   * @default 300_000
   */
  readonly drainStallMs?: number;
  readonly showProgress: boolean;
}

/** The outcome, per design invariant 2: every committed message delivered, or FAILED with an alert. */
export interface ChaosReport {
  /** Messages the producer committed (from its own table: the orders' versions). */
  readonly committed: number;
  /** Committed messages whose every effect is there (view, notification, inventory), compared exactly. */
  readonly delivered: number;
  /**
   * Missing effects (a note not in the view, a notification not in the log, a reservation not on the SKU) of
   * committed messages that are nowhere else: not pending or FAILED in the outbox, not held or parked in the inbox,
   * and not possibly in the queue (see `inFlight`).
   */
  readonly lost: number;
  /** Effects applied more than once, or never committed (extra notes, notifications, inventory). */
  readonly duplicateEffects: number;
  /** Changes the producer committed more than once (a retried request applied twice: extra notes on the order). */
  readonly duplicateCommits: number;
  /** Notes and notifications applied out of their commit order. */
  readonly orderViolations: number;
  /**
   * Missing effects of committed messages that may still be in the queue when the run ended: nowhere else, the queue
   * not empty, and the key's cursor below the message (only then can the message still be applied).
   */
  readonly inFlight: number;
  /**
   * Messages still on their way when the run ended: pending in the outbox, held in the inbox, and in the queue (its
   * depth, or the messages of `inFlight` if more: the depth is approximate).
   */
  readonly nonTerminal: number;
  /** SNS alerts received about this run's messages. */
  readonly alerts: number;
  /**
   * Messages the sweeper gave up on (FAILED, kept, alerted). Some may be delivered all the same: a copy sent before
   * its outbox item could be deleted (the relay crashed after the send), which the sweep's re-sends then failed on.
   */
  readonly failed: number;
  /** FAILED messages whose effects are missing: kept in the outbox for `ops retry-failed`, never lost. */
  readonly failedUndelivered: number;
  /** Messages dead-lettered by the consumer's queue during the run. */
  readonly deadLettered: number;
  /** Keys of the run parked at the end (a message kept failing deterministically): 0 without a poison key. */
  readonly parkedKeys: number;
  readonly keys: number;
  readonly requestRetries: number;
  readonly seconds: number;
  /** The faults the traffic ran with (the drain runs without any). */
  readonly faults: FaultConfig;
}

/** What the check of every key adds up. */
export interface ChaosTotals {
  readonly committed: number;
  readonly delivered: number;
  readonly lost: number;
  readonly inFlight: number;
  /** Messages of `inFlight`: a lower bound of what is still in the queue. */
  readonly inFlightMessages: number;
  readonly duplicateEffects: number;
  readonly duplicateCommits: number;
  readonly orderViolations: number;
  readonly failed: number;
  readonly failedUndelivered: number;
  /** PENDING outbox items of the run. */
  readonly pending: number;
  /** HELD inbox items of the run. */
  readonly held: number;
  readonly parkedKeys: number;
}

/** What the run saw besides the keys' totals. */
export interface ChaosRunFacts {
  readonly totals: ChaosTotals;
  readonly alerts: number;
  /** The queue's depth at the end. */
  readonly queue: { readonly visible: number; readonly inFlight: number };
  /** Visible messages in the dead-letter queue before the run and at its end. */
  readonly deadLetteredBefore: number;
  readonly deadLetteredAfter: number;
  readonly keys: number;
  readonly requestRetries: number;
  readonly seconds: number;
  readonly faults: FaultConfig;
}

/** The run's report from what it counted: every figure of the totals, and the faults it ran with. */
export function chaosReport(facts: ChaosRunFacts): ChaosReport {
  const { totals } = facts;
  // The queue's depth is approximate: the messages known to be missing and possibly queued are a lower bound.
  const inQueue = Math.max(facts.queue.visible + facts.queue.inFlight, totals.inFlightMessages);
  return {
    committed: totals.committed,
    delivered: totals.delivered,
    lost: totals.lost,
    inFlight: totals.inFlight,
    duplicateEffects: totals.duplicateEffects,
    duplicateCommits: totals.duplicateCommits,
    orderViolations: totals.orderViolations,
    nonTerminal: totals.pending + totals.held + inQueue,
    alerts: facts.alerts,
    failed: totals.failed,
    failedUndelivered: totals.failedUndelivered,
    deadLettered: Math.max(0, facts.deadLetteredAfter - facts.deadLetteredBefore),
    parkedKeys: totals.parkedKeys,
    keys: facts.keys,
    requestRetries: facts.requestRetries,
    seconds: facts.seconds,
    faults: { ...facts.faults },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Retries, under the request's one Idempotency-Key, what the API answers with a 5xx (nothing written, or outcome
 * unknown), a 409 for the key's first attempt still running, and connection failures: the key makes every retry
 * safe, so no request needs an `expectedVersion` to avoid applying twice.
 */
async function withRetries<T>(
  call: () => Promise<ApiResponse<T>>,
  counter: { retries: number },
): Promise<ApiResponse<T>> {
  // As a patient client would: for longer than a key's claim lasts (the API function's timeout), so a claim left by an
  // attempt whose release failed has expired before the client gives up.
  const giveUpAt = Date.now() + RETRY_BUDGET_MS;
  for (let attempt = 1; ; attempt++) {
    const outOfTime = Date.now() >= giveUpAt;
    try {
      const response = await call();
      const keyInProgress =
        response.status === 409 &&
        String((response.body as { error?: unknown })?.error).includes('in progress');
      if ((response.status < 500 && !keyInProgress) || outOfTime) return response;
    } catch (error) {
      if (outOfTime) throw error;
    }
    counter.retries++;
    await sleep(Math.min(2000, 50 * 2 ** attempt));
  }
}

/** How long the driver retries one request under its key before it reports the last answer. */
const RETRY_BUDGET_MS = 60_000;

interface KeyPlan {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
  readonly notes: readonly string[];
}

/**
 * Drives the API of a deployed TEST stack with every fault on, then checks each key end to end: what the producer
 * committed (its orders) against what the consumer applied (views, inventory, inbox cursors), what is FAILED in the
 * outbox, what the alert topic said, and what is still on its way.
 */
export async function runChaos(c: Connection, options: ChaosOptions): Promise<ChaosReport> {
  if (options.keys < 1 || options.messages < options.keys) {
    throw new Error(
      `need at least one message per key; got ${options.messages} messages over ${options.keys} keys`,
    );
  }
  const started = Date.now();
  const run = randomUUID().slice(0, 8);
  const perKey = Math.floor(options.messages / options.keys);
  const plans: KeyPlan[] = Array.from({ length: options.keys }, (_, k) => ({
    orderId: `chaos-${run}-${k}`,
    sku: `chaos-${run}-sku-${k}`,
    quantity: 1 + (k % 3),
    notes: Array.from({ length: perKey - 1 }, (_, n) => `note ${n + 1}`),
  }));
  const subscriber = await AlertSubscriber.create(c, `chaos-alerts-${run}`);
  const deadLetteredBefore = await queueDepth(c, c.outputs.DeadLetterQueueUrl);
  const counter = { retries: 0 };

  // Traffic, with every fault on.
  await setFaults(c, options.faults);
  const progress = new ProgressBar('committing', plans.length * perKey, options.showProgress);
  let sent = 0;
  try {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, plans.length) }, async () => {
        while (next < plans.length) {
          const plan = plans[next++]!;
          const order = { customerId: 'chaos', items: [{ sku: plan.sku, quantity: plan.quantity }] };
          const placed = await withRetries(
            () =>
              c.api.request('POST', 'orders', { ...order, orderId: plan.orderId }, undefined, {
                'Idempotency-Key': `${plan.orderId}-place`,
              }),
            counter,
          );
          if (placed.status !== 201) throw new Error(`POST /orders answered ${placed.status}`);
          progress.update(++sent);
          for (const [index, text] of plan.notes.entries()) {
            // No expectedVersion: the Idempotency-Key alone makes a retried note safe (design.md "Retries").
            const added = await withRetries(
              () =>
                c.api.request('POST', `orders/${plan.orderId}/notes`, { text }, undefined, {
                  'Idempotency-Key': `${plan.orderId}-note-${index + 1}`,
                }),
              counter,
            );
            if (added.status !== 201) throw new Error(`POST notes answered ${added.status}`);
            progress.update(++sent);
          }
        }
      }),
    );
  } finally {
    await setFaults(c, {});
  }
  progress.finish();

  // Drain: faults off, the sweeper re-sends what the faults left behind.
  await drain(c, plans, options);

  // Check every key.
  const verify = new ProgressBar('checking  ', plans.length, options.showProgress);
  const totals = {
    committed: 0,
    delivered: 0,
    lost: 0,
    inFlight: 0,
    inFlightMessages: 0,
    duplicateEffects: 0,
    duplicateCommits: 0,
    orderViolations: 0,
    failed: 0,
    failedUndelivered: 0,
    pending: 0,
    held: 0,
    parkedKeys: 0,
  };
  const runMessageIds = new Set<string>();
  for (const [index, plan] of plans.entries()) {
    const order = await c.api.getOrder(plan.orderId);
    const committed = {
      version: order.status === 200 ? Number(order.body.version ?? 0) : 0,
      notes: (order.body.notes ?? []) as string[],
      quantity: plan.quantity,
    };
    totals.committed += committed.version;
    // Each request was sent (and retried) under its own Idempotency-Key: each note must be committed exactly once.
    totals.duplicateCommits += Math.max(0, committed.notes.length - plan.notes.length);

    // Where the messages not (fully) applied are: the outbox (PENDING or FAILED), the inbox (HELD or PARKED), or
    // the queue — possible only while it is not empty, and only above the key's cursor (read before the effects).
    const queueBefore = await queueDepth(c, c.outputs.QueueUrl);
    const accounted = new Set<number>();
    const failed = new Set<number>();
    let appliedPosition = 0;
    const inbox = await queryAll(c, {
      TableName: c.outputs.InboxTableName,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': `KEY#${plan.orderId}` },
    });
    for (const item of inbox) {
      const [kind, sequence] = String(item.sk).split('#');
      if (kind === 'HELD') totals.held++;
      if (kind === 'HELD' || kind === 'PARKED') accounted.add(Number(sequence));
      if (kind === 'CURSOR') {
        appliedPosition = Number(item.lastSequence ?? 0);
        if (item.parked === true) totals.parkedKeys++;
      }
    }
    const outbox = await queryAll(c, {
      TableName: c.outputs.OutboxTableName,
      KeyConditionExpression: 'groupKey = :key',
      ExpressionAttributeValues: { ':key': plan.orderId },
    });
    for (const item of outbox) {
      if (item.status === 'FAILED') failed.add(Number(item.sequence));
      else totals.pending++;
      accounted.add(Number(item.sequence));
      runMessageIds.add(String(item.messageId));
    }

    // What the consumer applied: the view, the notifications log, the SKU's reservations.
    const view = await c.api.getView(plan.orderId);
    const log = await c.dynamodb.send(
      new GetCommand({
        TableName: c.outputs.ProjectionTableName,
        Key: { pk: `ORDER#${plan.orderId}`, sk: 'NOTIFICATIONS' },
        ConsistentRead: true,
      }),
    );
    const inventory = await c.api.getInventory(plan.sku);
    const queueAfter = await queueDepth(c, c.outputs.QueueUrl);
    const check = checkEffects(
      committed,
      {
        view: view.status === 200 ? { notes: view.body.notes } : undefined,
        notifications: (log.Item?.entries ?? []) as string[],
        reserved: inventory.body.reserved,
      },
      {
        accounted,
        // Not empty at either end of the key's check: a message may have been in it meanwhile.
        queueNonEmpty: [queueBefore, queueAfter].some((depth) => depth.visible + depth.inFlight > 0),
        appliedPosition,
      },
    );
    totals.delivered += check.delivered;
    totals.failed += failed.size;
    totals.failedUndelivered += check.undelivered.filter((sequence) => failed.has(sequence)).length;
    totals.lost += check.lost;
    totals.inFlight += check.inFlight;
    totals.inFlightMessages += check.inFlightMessages;
    totals.duplicateEffects += check.duplicateEffects;
    totals.orderViolations += check.orderViolations;
    verify.update(index + 1);
  }
  verify.finish();

  const alerts = (await subscriber.drain()).filter(
    (alert) =>
      typeof alert === 'object' &&
      alert !== null &&
      runMessageIds.has(String((alert as { messageId?: unknown }).messageId)),
  ).length;
  const depth = await queueDepth(c, c.outputs.QueueUrl);
  const deadLetteredAfter = await queueDepth(c, c.outputs.DeadLetterQueueUrl);
  return chaosReport({
    totals,
    alerts,
    queue: depth,
    deadLetteredBefore: deadLetteredBefore.visible,
    deadLetteredAfter: deadLetteredAfter.visible,
    keys: plans.length,
    requestRetries: counter.retries,
    seconds: Math.round((Date.now() - started) / 1000),
    faults: options.faults,
  });
}

/**
 * Waits, sweeping, until nothing of the run is on its way (no PENDING outbox item, nothing held, the queue empty) —
 * as long as that count keeps reaching new lows: it stops after `drainStallMs` without one, or at `drainTimeoutMs`.
 */
async function drain(c: Connection, plans: readonly KeyPlan[], options: ChaosOptions): Promise<void> {
  const keys = plans.map((plan) => plan.orderId);
  const started = Date.now();
  const stallMs = options.drainStallMs ?? 300_000;
  let lowest = Number.POSITIVE_INFINITY;
  let lastProgress = started;
  for (;;) {
    await sweepNow(c);
    const pending = await countOutboxItems(c, keys, { status: 'PENDING' });
    const held = await countHeldMessages(c, keys);
    const depth = await queueDepth(c, c.outputs.QueueUrl);
    const onTheirWay = pending + held + depth.visible + depth.inFlight;
    const now = Date.now();
    if (onTheirWay < lowest) {
      lowest = onTheirWay;
      lastProgress = now;
    }
    if (options.showProgress) {
      process.stderr.write(
        `draining   ${Math.round((now - started) / 1000)} s: ${pending} pending, ${held} held, ` +
          `${depth.visible + depth.inFlight} in the queue\n`,
      );
    }
    if (onTheirWay === 0) return;
    const reason =
      now - started > options.drainTimeoutMs
        ? `the drain's ceiling (${options.drainTimeoutMs / 1000} s)`
        : now - lastProgress > stallMs
          ? `no progress for ${stallMs / 1000} s`
          : undefined;
    if (reason !== undefined) {
      if (options.showProgress) process.stderr.write(`draining stopped: ${reason}\n`);
      return;
    }
    await sleep(5000);
  }
}

/** Every item a (consistent) query answers, over all its pages. */
async function queryAll(
  c: Connection,
  input: Pick<QueryCommandInput, 'TableName' | 'KeyConditionExpression' | 'ExpressionAttributeValues'>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await c.dynamodb.send(
      new QueryCommand({ ...input, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start !== undefined);
  return items;
}
