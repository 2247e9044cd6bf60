import { randomUUID } from 'node:crypto';
import { GetCommand, QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';
import type { FaultConfig } from '../../functions/runtime/faults/fault-config';
import { ProgressBar } from '../../tools/progress';
import { AlertSubscriber } from '../../tools/stack/alert-subscriber';
import type { ApiResponse } from '../../tools/stack/api-client';
import { type Connection, setFaults, sweepNow } from '../../tools/stack/stack-control';
import { countOutboxItems, queueDepth } from '../../tools/stack/stack-queries';
import { keyPartition, StorageKey } from '../../tools/storage-keys';
import { type CommittedMessage, checkAudit, checkShipping } from './chaos-group-oracle';
import { CONSUMER_GROUPS, type ConsumerGroupName, type GroupLocation, groupLocations } from './chaos-groups';
import { type CommittedKey, checkEffects, type EffectCheck, type KeyWhereabouts } from './chaos-oracle';

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
   * A consumer group whose consumer fails every message of one key of the run (the fault kit's `poisonKey` with
   * `poisonGroup`), through the traffic and the drain: the key must be parked in that group only, applied in the
   * others. None: no key is poisoned.
   */
  readonly poisonGroup?: ConsumerGroupName;
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

/** One consumer group's outcome, compared with what the producer committed. */
export interface GroupReport {
  /** Committed messages whose every effect in this group is there, compared exactly. */
  readonly delivered: number;
  /** Missing effects in this group of committed messages that are nowhere else (see ChaosReport.lost). */
  readonly lost: number;
  /** Missing effects that may still be in this group's queue (not empty, the key's cursor below the message). */
  readonly inFlight: number;
  /** Effects this group applied more than once, or of messages never committed. */
  readonly duplicateEffects: number;
  /** Effects this group applied out of commit order. */
  readonly orderViolations: number;
  /** Messages still on their way to this group: pending in the outbox, held in its inbox, in its queue. */
  readonly nonTerminal: number;
  /** Keys of the run parked in this group at the end. */
  readonly parkedKeys: number;
  /** FAILED outbox messages (kept, alerted) this group lacks the effect of. */
  readonly failedUndelivered: number;
  /** Messages dead-lettered by this group's queue during the run. */
  readonly deadLettered: number;
}

/** The outcome, per design invariant 2: every committed message delivered, or FAILED with an alert. */
export interface ChaosReport {
  /** Messages the producer committed (from its own table: the orders' versions). */
  readonly committed: number;
  /** Committed messages whose every effect, in every group, is there (view, notification, inventory, audit…). */
  readonly delivered: number;
  /**
   * Missing effects (a note not in the view, a notification not in the log, a reservation not on the SKU, an audit
   * entry, a shipping event), summed over the groups, of committed messages that are nowhere else: not pending or
   * FAILED in the outbox, not held or parked in the group's inbox, and not possibly in its queue (see `inFlight`).
   */
  readonly lost: number;
  /** Effects applied more than once, or never committed, summed over the groups. */
  readonly duplicateEffects: number;
  /** Changes the producer committed more than once (a retried request applied twice: extra notes on the order). */
  readonly duplicateCommits: number;
  /** Effects applied out of their commit order, summed over the groups. */
  readonly orderViolations: number;
  /**
   * Missing effects of committed messages that may still be in a group's queue when the run ended: nowhere else, the
   * queue not empty, and the key's cursor below the message (only then can the message still be applied).
   */
  readonly inFlight: number;
  /**
   * Messages still on their way when the run ended: pending in the outbox, plus, per group, held in its inbox and in
   * its queue (its depth, or the messages of its `inFlight` if more: the depth is approximate).
   */
  readonly nonTerminal: number;
  /** SNS alerts received about this run's messages. */
  readonly alerts: number;
  /**
   * Messages the sweeper gave up on (FAILED, kept, alerted). Some may be delivered all the same: a copy sent before
   * its outbox item could be deleted (the relay crashed after the send), which the sweep's re-sends then failed on.
   */
  readonly failed: number;
  /** FAILED messages whose effects are missing in some group: kept in the outbox for `ops retry-failed`, never lost. */
  readonly failedUndelivered: number;
  /** Messages not FAILED whose effects are missing in a group that holds them parked (a poisoned key's). */
  readonly parkedUndelivered: number;
  /** Messages dead-lettered by the groups' queues during the run. */
  readonly deadLettered: number;
  /** Keys of the run parked at the end, summed over the groups: 0 without a poison key. */
  readonly parkedKeys: number;
  readonly keys: number;
  readonly requestRetries: number;
  readonly seconds: number;
  /** The faults the traffic ran with (the drain runs without any, but the poison key's). */
  readonly faults: FaultConfig;
  /** The key poisoned in one group, if the run poisoned one. */
  readonly poison?: { readonly key: string; readonly group: ConsumerGroupName };
  /** Each group the stack has, checked on its own. */
  readonly groups: Readonly<Partial<Record<ConsumerGroupName, GroupReport>>>;
}

/** What the check of every key adds up, across the groups. */
export interface ChaosTotals {
  readonly committed: number;
  /** Committed messages every group applied. */
  readonly delivered: number;
  readonly duplicateCommits: number;
  readonly failed: number;
  /** FAILED messages some group lacks. */
  readonly failedUndelivered: number;
  /** Messages, not FAILED, some group lacks and holds parked. */
  readonly parkedUndelivered: number;
  /** PENDING outbox items of the run. */
  readonly pending: number;
}

/** What the check of every key adds up, in one group. */
export interface GroupTotals {
  readonly delivered: number;
  readonly lost: number;
  readonly inFlight: number;
  /** Messages of `inFlight`: a lower bound of what is still in the group's queue. */
  readonly inFlightMessages: number;
  readonly duplicateEffects: number;
  readonly orderViolations: number;
  /** HELD items of the run in the group's inbox. */
  readonly held: number;
  readonly parkedKeys: number;
  readonly failedUndelivered: number;
}

/** What the run saw of one group besides its keys' totals. */
export interface GroupFacts {
  readonly totals: GroupTotals;
  /** The group's queue depth at the end. */
  readonly queue: { readonly visible: number; readonly inFlight: number };
  /** Visible messages in the group's dead-letter queue before the run and at its end. */
  readonly deadLetteredBefore: number;
  readonly deadLetteredAfter: number;
}

/** What the run saw besides the keys' totals. */
export interface ChaosRunFacts {
  readonly totals: ChaosTotals;
  readonly groups: Readonly<Partial<Record<ConsumerGroupName, GroupFacts>>>;
  readonly alerts: number;
  readonly keys: number;
  readonly requestRetries: number;
  readonly seconds: number;
  readonly faults: FaultConfig;
  readonly poison?: { readonly key: string; readonly group: ConsumerGroupName };
}

/** One group's report from what it counted; `pending` is the run's outbox, on its way to every group. */
export function groupReport(facts: GroupFacts, pending: number): GroupReport {
  const { totals } = facts;
  // The queue's depth is approximate: the messages known to be missing and possibly queued are a lower bound.
  const inQueue = Math.max(facts.queue.visible + facts.queue.inFlight, totals.inFlightMessages);
  return {
    delivered: totals.delivered,
    lost: totals.lost,
    inFlight: totals.inFlight,
    duplicateEffects: totals.duplicateEffects,
    orderViolations: totals.orderViolations,
    nonTerminal: pending + totals.held + inQueue,
    parkedKeys: totals.parkedKeys,
    failedUndelivered: totals.failedUndelivered,
    deadLettered: Math.max(0, facts.deadLetteredAfter - facts.deadLetteredBefore),
  };
}

/**
 * The run's report from what it counted: per group, and at the top the figures it always reported, now over every
 * group (sums; `delivered` = applied by every group; `nonTerminal` counts the outbox's pending messages once).
 */
export function chaosReport(facts: ChaosRunFacts): ChaosReport {
  const { totals } = facts;
  const groups: Partial<Record<ConsumerGroupName, GroupReport>> = {};
  for (const name of CONSUMER_GROUPS) {
    const group = facts.groups[name];
    if (group !== undefined) groups[name] = groupReport(group, totals.pending);
  }
  const reports = Object.values(groups);
  const sum = (figure: (group: GroupReport) => number) =>
    reports.reduce((total, group) => total + figure(group), 0);
  return {
    committed: totals.committed,
    delivered: totals.delivered,
    lost: sum((g) => g.lost),
    inFlight: sum((g) => g.inFlight),
    duplicateEffects: sum((g) => g.duplicateEffects),
    duplicateCommits: totals.duplicateCommits,
    orderViolations: sum((g) => g.orderViolations),
    nonTerminal: totals.pending + sum((g) => g.nonTerminal - totals.pending),
    alerts: facts.alerts,
    failed: totals.failed,
    failedUndelivered: totals.failedUndelivered,
    parkedUndelivered: totals.parkedUndelivered,
    deadLettered: sum((g) => g.deadLettered),
    parkedKeys: sum((g) => g.parkedKeys),
    keys: facts.keys,
    requestRetries: facts.requestRetries,
    seconds: facts.seconds,
    faults: { ...facts.faults },
    ...(facts.poison === undefined ? {} : { poison: { ...facts.poison } }),
    groups,
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
 * Drives the API of a deployed TEST stack with every fault on, then checks each key end to end, in every consumer
 * group the stack has: what the producer committed (its orders) against what each group applied (the projection's
 * views, notifications and inventory; the audit entries; the shipping state), what is FAILED in the outbox, what
 * each group holds or parked, what the alert topic said, and what is still on its way.
 */
export async function runChaos(c: Connection, options: ChaosOptions): Promise<ChaosReport> {
  if (options.keys < 1 || options.messages < options.keys) {
    throw new Error(
      `need at least one message per key; got ${options.messages} messages over ${options.keys} keys`,
    );
  }
  const groups = groupLocations(c.outputs);
  if (options.poisonGroup !== undefined && !groups.some((group) => group.name === options.poisonGroup)) {
    throw new Error(
      `--poison-group must be one of the stack's groups (${groups.map((g) => g.name).join(', ')}); got ${options.poisonGroup}`,
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
  // The first key of the run is the poisoned one, in one group only.
  const poison =
    options.poisonGroup === undefined ? undefined : { key: plans[0]!.orderId, group: options.poisonGroup };
  const poisonFaults: FaultConfig =
    poison === undefined ? {} : { poisonKey: poison.key, poisonGroup: poison.group };
  const subscriber = await AlertSubscriber.create(c, `chaos-alerts-${run}`);
  const deadLetteredBefore = new Map<ConsumerGroupName, number>();
  for (const group of groups) {
    deadLetteredBefore.set(group.name, (await queueDepth(c, group.deadLetterQueueUrl)).visible);
  }
  const counter = { retries: 0 };

  try {
    // Traffic, with every fault on.
    await setFaults(c, { ...options.faults, ...poisonFaults });
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
      // The drain runs with no fault but the poison key's (it must end parked, not applied).
      await setFaults(c, poisonFaults);
    }
    progress.finish();

    // Drain: the sweeper re-sends what the faults left behind, every group takes what reached it.
    await drain(c, plans, groups, options);
  } finally {
    if (poison !== undefined) await setFaults(c, {});
  }

  // Check every key, in every group.
  const verify = new ProgressBar('checking  ', plans.length, options.showProgress);
  const totals = {
    committed: 0,
    delivered: 0,
    duplicateCommits: 0,
    failed: 0,
    failedUndelivered: 0,
    parkedUndelivered: 0,
    pending: 0,
  };
  const groupTotals = new Map<ConsumerGroupName, MutableGroupTotals>(
    groups.map((group) => [group.name, emptyGroupTotals()]),
  );
  const runMessageIds = new Set<string>();
  for (const [index, plan] of plans.entries()) {
    const order = await c.api.getOrder(plan.orderId);
    const committed = {
      version: order.status === 200 ? Number(order.body.version ?? 0) : 0,
      notes: (order.body.notes ?? []) as string[],
      quantity: plan.quantity,
    };
    const messages = Array.from({ length: committed.version }, (_, i) => ({
      sequence: i + 1,
      type: typeOf(i + 1),
    }));
    totals.committed += committed.version;
    // Each request was sent (and retried) under its own Idempotency-Key: each note must be committed exactly once.
    totals.duplicateCommits += Math.max(0, committed.notes.length - plan.notes.length);

    // The outbox (PENDING or FAILED) is on the way to every group.
    const inOutbox = new Set<number>();
    const failed = new Set<number>();
    const outbox = await queryAll(c, {
      TableName: c.outputs.OutboxTableName,
      KeyConditionExpression: 'groupKey = :key',
      ExpressionAttributeValues: { ':key': plan.orderId },
    });
    for (const item of outbox) {
      if (item.status === 'FAILED') failed.add(Number(item.sequence));
      else totals.pending++;
      inOutbox.add(Number(item.sequence));
      runMessageIds.add(String(item.messageId));
    }
    totals.failed += failed.size;

    // Per group: where its missing messages are (its inbox, its queue — possible only while it is not empty, and
    // only above the key's cursor, read before the effects), then its effects against what was committed.
    const undeliveredAnywhere = new Set<number>();
    const parkedWhereMissing = new Set<number>();
    for (const group of groups) {
      const sums = groupTotals.get(group.name)!;
      const queueBefore = await queueDepth(c, group.queueUrl);
      const accounted = new Set(inOutbox);
      const parked = new Set<number>();
      const inbox = await queryAll(c, {
        TableName: group.inboxTableName,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keyPartition(plan.orderId) },
      });
      for (const item of inbox) {
        const sk = String(item.sk);
        const kind = [StorageKey.HELD, StorageKey.PARKED].find((prefix) => sk.startsWith(prefix));
        if (kind === undefined) continue;
        const sequence = Number(sk.slice(kind.length));
        if (kind === StorageKey.HELD) sums.held++;
        else parked.add(sequence);
        accounted.add(sequence);
      }
      const cursor = await getItem(c, group.cursorTableName, group.cursorKey(plan.orderId));
      const appliedPosition = Number(cursor?.lastSequence ?? 0);
      if (cursor?.parked === true) sums.parkedKeys++;
      const applied = await appliedEffects(c, group, plan, committed, messages);
      const queueAfter = await queueDepth(c, group.queueUrl);
      const check = applied({
        accounted,
        // Not empty at either end of the key's check: a message may have been in it meanwhile.
        queueNonEmpty: [queueBefore, queueAfter].some((depth) => depth.visible + depth.inFlight > 0),
        appliedPosition,
      });
      sums.delivered += check.delivered;
      sums.lost += check.lost;
      sums.inFlight += check.inFlight;
      sums.inFlightMessages += check.inFlightMessages;
      sums.duplicateEffects += check.duplicateEffects;
      sums.orderViolations += check.orderViolations;
      sums.failedUndelivered += check.undelivered.filter((sequence) => failed.has(sequence)).length;
      for (const sequence of check.undelivered) {
        undeliveredAnywhere.add(sequence);
        if (parked.has(sequence)) parkedWhereMissing.add(sequence);
      }
    }
    totals.delivered += committed.version - undeliveredAnywhere.size;
    totals.failedUndelivered += [...undeliveredAnywhere].filter((sequence) => failed.has(sequence)).length;
    totals.parkedUndelivered += [...parkedWhereMissing].filter((sequence) => !failed.has(sequence)).length;
    verify.update(index + 1);
  }
  verify.finish();

  const alerts = (await subscriber.drain()).filter(
    (alert) =>
      typeof alert === 'object' &&
      alert !== null &&
      runMessageIds.has(String((alert as { messageId?: unknown }).messageId)),
  ).length;
  const groupFacts: Partial<Record<ConsumerGroupName, GroupFacts>> = {};
  for (const group of groups) {
    groupFacts[group.name] = {
      totals: groupTotals.get(group.name)!,
      queue: await queueDepth(c, group.queueUrl),
      deadLetteredBefore: deadLetteredBefore.get(group.name) ?? 0,
      deadLetteredAfter: (await queueDepth(c, group.deadLetterQueueUrl)).visible,
    };
  }
  return chaosReport({
    totals,
    groups: groupFacts,
    alerts,
    keys: plans.length,
    requestRetries: counter.retries,
    seconds: Math.round((Date.now() - started) / 1000),
    faults: options.faults,
    ...(poison === undefined ? {} : { poison }),
  });
}

type MutableGroupTotals = { -readonly [K in keyof GroupTotals]: GroupTotals[K] };

const emptyGroupTotals = (): MutableGroupTotals => ({
  delivered: 0,
  lost: 0,
  inFlight: 0,
  inFlightMessages: 0,
  duplicateEffects: 0,
  orderViolations: 0,
  held: 0,
  parkedKeys: 0,
  failedUndelivered: 0,
});

/** The type of message `sequence` of a key of the run (its order, then its notes). */
const typeOf = (sequence: number) => (sequence === 1 ? 'OrderPlaced' : 'OrderNoteAdded');

/**
 * Reads what `group` applied for the key and returns its oracle, waiting only for the key's whereabouts (read around
 * it): the projection's view, notifications and inventory; the audit's entries; the shipping item.
 */
async function appliedEffects(
  c: Connection,
  group: GroupLocation,
  plan: KeyPlan,
  committed: CommittedKey,
  messages: readonly CommittedMessage[],
): Promise<(whereabouts: KeyWhereabouts) => EffectCheck> {
  if (group.name === 'audit') {
    const items = await queryAll(c, {
      TableName: group.effectTableName,
      KeyConditionExpression: 'orderId = :key',
      ExpressionAttributeValues: { ':key': plan.orderId },
    });
    const entries = items.map((item) => ({
      position: Number(item.position),
      sequence: Number(item.sequence),
      type: String(item.type),
    }));
    return (whereabouts) => checkAudit(messages, entries, whereabouts);
  }
  if (group.name === 'shipping') {
    const item = await getItem(c, group.effectTableName, { orderId: plan.orderId });
    const state =
      item === undefined
        ? undefined
        : {
            status: typeof item.status === 'string' ? item.status : undefined,
            events: Number(item.events ?? 0),
            lastSequence: Number(item.lastSequence ?? 0),
          };
    return (whereabouts) => checkShipping(messages, state, whereabouts);
  }
  const view = await c.api.getView(plan.orderId);
  const log = await getItem(c, group.effectTableName, { pk: `ORDER#${plan.orderId}`, sk: 'NOTIFICATIONS' });
  const inventory = await c.api.getInventory(plan.sku);
  const applied = {
    view: view.status === 200 ? { notes: view.body.notes } : undefined,
    notifications: (log?.entries ?? []) as string[],
    reserved: inventory.body.reserved,
  };
  return (whereabouts) => checkEffects(committed, applied, whereabouts);
}

/**
 * Waits, sweeping, until nothing of the run is on its way to any group (no PENDING outbox item; in every group
 * nothing held and the queue empty) — as long as that count keeps reaching new lows: it stops after `drainStallMs`
 * without one, or at `drainTimeoutMs`. A dead-lettered or parked message is not on its way: it waits for an operator
 * (the report counts both, per group).
 */
async function drain(
  c: Connection,
  plans: readonly KeyPlan[],
  groups: readonly GroupLocation[],
  options: ChaosOptions,
): Promise<void> {
  const keys = plans.map((plan) => plan.orderId);
  const started = Date.now();
  const stallMs = options.drainStallMs ?? 300_000;
  let lowest = Number.POSITIVE_INFINITY;
  let lastProgress = started;
  for (;;) {
    await sweepNow(c);
    const pending = await countOutboxItems(c, keys, { status: 'PENDING' });
    let onTheirWay = pending;
    const perGroup: string[] = [];
    for (const group of groups) {
      const held = await countHeld(c, group.inboxTableName, keys);
      const depth = await queueDepth(c, group.queueUrl);
      onTheirWay += held + depth.visible + depth.inFlight;
      perGroup.push(`${group.name} ${held} held, ${depth.visible + depth.inFlight} queued`);
    }
    const now = Date.now();
    if (onTheirWay < lowest) {
      lowest = onTheirWay;
      lastProgress = now;
    }
    if (options.showProgress) {
      process.stderr.write(
        `draining   ${Math.round((now - started) / 1000)} s: ${pending} pending; ${perGroup.join('; ')}\n`,
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

/** How many messages the keys have held back (waiting for a gap to close) in one group's inbox. */
async function countHeld(c: Connection, inboxTableName: string, keys: readonly string[]): Promise<number> {
  let total = 0;
  for (const key of keys) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await c.dynamodb.send(
        new QueryCommand({
          TableName: inboxTableName,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :held)',
          ExpressionAttributeValues: { ':pk': keyPartition(key), ':held': StorageKey.HELD },
          Select: 'COUNT',
          ConsistentRead: true,
          ExclusiveStartKey: start,
        }),
      );
      total += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }
  return total;
}

/** One item by its key, read consistently; undefined if there is none. */
async function getItem(
  c: Connection,
  tableName: string,
  key: Record<string, string>,
): Promise<Record<string, unknown> | undefined> {
  const result = await c.dynamodb.send(
    new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }),
  );
  return result.Item;
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
