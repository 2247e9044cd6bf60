import { spawn } from 'node:child_process';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CONSUMER_GROUPS, type GroupLocation, groupLocations } from '../../scripts/chaos/chaos-groups';
import { ALL_FAULTS, runChaos } from '../../scripts/chaos/chaos-run';
import { projectRoot } from '../../tools/paths';
import { setFaults } from '../../tools/stack/stack-control';
import { keyPartition, StorageKey } from '../../tools/storage-keys';
import { eventually, type Stack, stack, uniquePrefix } from './support/aws';

/** Each group of the reference stack, by name (design.md, "Consumer groups"). */
function group(s: Stack, name: GroupLocation['name']): GroupLocation {
  const found = groupLocations(s.outputs).find((location) => location.name === name);
  if (found === undefined) throw new Error(`the stack has no ${name} group`);
  return found;
}

/** The sequences of a key's messages parked in a group's inbox. */
async function parkedSequences(s: Stack, where: GroupLocation, orderId: string): Promise<number[]> {
  return storedSequences(s, where, orderId, StorageKey.PARKED);
}

/** The sequences of a key's messages stored in a group's inbox under `prefix` (`StorageKey.PARKED` or `StorageKey.HELD`). */
async function storedSequences(
  s: Stack,
  where: GroupLocation,
  orderId: string,
  prefix: string,
): Promise<number[]> {
  const page = await s.dynamodb.send(
    new QueryCommand({
      TableName: where.inboxTableName,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
      ExpressionAttributeValues: { ':pk': keyPartition(orderId), ':prefix': prefix },
      ConsistentRead: true,
    }),
  );
  return (page.Items ?? []).map((item) => Number(String(item.sk).split('#')[1]));
}

/** A key's cursor in a group (its inbox's cursor item, or the shipping state that is its cursor). */
async function cursorOf(s: Stack, where: GroupLocation, orderId: string) {
  const result = await s.dynamodb.send(
    new GetCommand({ TableName: where.cursorTableName, Key: where.cursorKey(orderId), ConsistentRead: true }),
  );
  return result.Item;
}

interface AuditView {
  readonly entries: ReadonlyArray<{ sequence: number; type: string; position: number }>;
}

const auditOf = async (s: Stack, orderId: string) =>
  (await s.api.request<AuditView>('GET', `orders/${encodeURIComponent(orderId)}/audit`)).body;
const shipmentOf = (s: Stack, orderId: string) =>
  s.api.request<{ status: string; events: number }>('GET', `orders/${encodeURIComponent(orderId)}/shipment`);

/** The audit entries of a key placed, noted twice and cancelled: its four messages, position = sequence. */
const FOUR_AUDITED = [
  { sequence: 1, type: 'OrderPlaced', position: 1 },
  { sequence: 2, type: 'OrderNoteAdded', position: 2 },
  { sequence: 3, type: 'OrderNoteAdded', position: 3 },
  { sequence: 4, type: 'OrderCancelled', position: 4 },
];

describe('consumer groups under faults: every group exactly once, in order; a poison key parks in its group only', () => {
  let s: Stack;
  beforeAll(() => {
    s = stack();
  });
  afterEach(async () => {
    await setFaults(s, {});
  });

  it('200 messages over 10 keys with every fault on: in every group none lost, none twice, none out of order, none parked', async () => {
    // GIVEN every fault of the kit on at random — WHEN 200 messages are committed through the API
    const report = await runChaos(s, {
      messages: 200,
      keys: 10,
      concurrency: 8,
      faults: ALL_FAULTS,
      drainTimeoutMs: 180_000,
      showProgress: false,
    });
    console.log(`[figures] chaos per group: ${JSON.stringify(report.groups)}`);

    // THEN each of the three groups applied every committed message, or it is FAILED (kept, alerted)
    expect(Object.keys(report.groups)).toEqual([...CONSUMER_GROUPS]);
    for (const name of CONSUMER_GROUPS) {
      expect({ name, ...report.groups[name] }).toMatchObject({
        name,
        lost: 0,
        inFlight: 0,
        duplicateEffects: 0,
        orderViolations: 0,
        nonTerminal: 0,
        parkedKeys: 0,
      });
      expect(report.groups[name]!.delivered + report.groups[name]!.failedUndelivered).toBe(report.committed);
    }
    expect(report.committed).toBe(200);
    expect(report.delivered + report.failedUndelivered).toBe(report.committed);
    expect(report.alerts).toBeGreaterThanOrEqual(report.failed);
  });

  it('a key poisoned in the audit group parks there only; the other groups and keys flow; replay --group audit repairs it', async () => {
    // GIVEN the audit group's consumer fails every message of one key (the others' consumers do not)
    const poisoned = uniquePrefix('group-poison');
    const healthy = Array.from({ length: 3 }, (_, i) => `${poisoned}-healthy-${i}`);
    await setFaults(s, { poisonKey: poisoned, poisonGroup: 'audit' });

    // WHEN it and three healthy orders are each placed, noted twice and cancelled (4 messages each)
    for (const orderId of [poisoned, ...healthy]) {
      const placed = await s.api.placeOrder({
        customerId: 'c',
        items: [{ sku: `${orderId}-sku`, quantity: 1 }],
        orderId,
      });
      expect(placed.status).toBe(201);
    }
    for (const text of ['one', 'two']) {
      for (const orderId of [poisoned, ...healthy])
        expect((await s.api.addNote(orderId, text)).status).toBe(201);
    }
    for (const orderId of [poisoned, ...healthy]) expect((await s.api.cancel(orderId)).status).toBe(200);

    // THEN every healthy key is applied in every group
    for (const orderId of healthy) {
      await eventually(`${orderId} applied in every group`, async () => {
        const view = await s.api.getView(orderId);
        const audit = await auditOf(s, orderId);
        const shipment = await shipmentOf(s, orderId);
        return view.body?.version === 4 && audit?.entries?.length === 4 && shipment.status === 200
          ? true
          : undefined;
      });
      expect((await auditOf(s, orderId)).entries).toEqual(FOUR_AUDITED);
      expect((await shipmentOf(s, orderId)).body).toMatchObject({ status: 'cancelled', events: 2 });
    }
    // AND the poisoned key is applied by the projection and the shipping group…
    await eventually(`${poisoned} applied by the projection and shipping`, async () => {
      const view = await s.api.getView(poisoned);
      const shipment = await shipmentOf(s, poisoned);
      return view.body?.version === 4 && shipment.body?.status === 'cancelled' ? true : undefined;
    });
    expect((await s.api.getView(poisoned)).body.notes).toEqual(['one', 'two']);
    expect((await shipmentOf(s, poisoned)).body).toMatchObject({ status: 'cancelled', events: 2 });
    // …and parked in the audit group only at its first message, all four messages kept there, none applied: the
    // ones that came after are parked with it, or held behind it when they arrived before it was parked (replay
    // releases both)
    const audit = group(s, 'audit');
    const kept = await eventually(
      `the four messages of ${poisoned} kept in the audit group`,
      async () => {
        const cursor = await cursorOf(s, audit, poisoned);
        const parked = await parkedSequences(s, audit, poisoned);
        const held = await storedSequences(s, audit, poisoned, StorageKey.HELD);
        return cursor?.parked === true && parked.length + held.length === 4 ? { parked, held } : undefined;
      },
      180_000,
    );
    expect(kept.parked).toContain(1);
    expect([...kept.parked, ...kept.held].sort((a, b) => a - b)).toEqual([1, 2, 3, 4]);
    expect((await auditOf(s, poisoned)).entries ?? []).toEqual([]);
    expect(await cursorOf(s, audit, poisoned)).toMatchObject({ parked: true });
    for (const name of ['projection', 'shipping'] as const) {
      expect(await parkedSequences(s, group(s, name), poisoned)).toEqual([]);
      const cursor = await cursorOf(s, group(s, name), poisoned);
      expect({ name, lastSequence: cursor?.lastSequence, parked: cursor?.parked }).toEqual({
        name,
        lastSequence: 4,
        parked: undefined,
      });
    }
    for (const orderId of healthy) {
      for (const name of CONSUMER_GROUPS)
        expect(await parkedSequences(s, group(s, name), orderId)).toEqual([]);
    }

    // WHEN the cause is fixed and the operator replays the key in the audit group
    await setFaults(s, {});
    const replay = await ops(s, ['replay', '--key', poisoned, '--group', 'audit']);

    // THEN the audit group applies its four messages in order, and the key is unparked there
    expect({ status: replay.status, stderr: replay.stderr }).toMatchObject({ status: 0 });
    await eventually(`${poisoned} audited after the replay`, async () =>
      (await auditOf(s, poisoned)).entries?.length === 4 ? true : undefined,
    );
    expect((await auditOf(s, poisoned)).entries).toEqual(FOUR_AUDITED);
    expect(await parkedSequences(s, audit, poisoned)).toEqual([]);
    const cursor = await cursorOf(s, audit, poisoned);
    expect(cursor).toMatchObject({ lastSequence: 4, heldCount: 0 });
    expect(cursor?.parked).toBeUndefined();
    // AND the other groups did not apply anything twice
    expect((await s.api.getView(poisoned)).body).toMatchObject({ version: 4, notes: ['one', 'two'] });
    expect((await shipmentOf(s, poisoned)).body).toMatchObject({ status: 'cancelled', events: 2 });
  });
});

/** Runs the ops CLI against the test stack (through its bin launcher); never throws on a non-zero exit. */
function ops(
  s: Stack,
  args: readonly string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/ops-cli.mjs', ...args], {
      cwd: projectRoot,
      env: { ...process.env, AWS_ENDPOINT_URL: s.endpoint, NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}
