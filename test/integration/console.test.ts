import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listParked } from '../../functions/runtime/consumer/key-parking';
import { status } from '../../lib/ops/commands';
import { type RunningConsole, startConsoleServer } from '../../lib/ops/console/server';
import { loadReports } from '../../scripts/console/run-reports';
import { localDir } from '../../tools/paths';
import { STACK_NAME } from '../../tools/stack/outputs';
import { setFaults } from '../../tools/stack/stack-control';
import { keyPartition, StorageKey } from '../../tools/storage-keys';
import { eventually, type Stack, stack, uniquePrefix } from './support/aws';
import { ensureChromium } from './support/chromium';

/** Where the test leaves its screenshot (under .local/, not committed: it shows this machine's paths). */
const SCREENSHOT = path.join(localDir, 'console.png');

const text = async (page: Page, selector: string) =>
  (await page.locator(selector).first().textContent()) ?? '';

describe('the console in a real browser, against the deployed stack', () => {
  let s: Stack;
  let running: RunningConsole;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    s = stack();
    const executablePath = ensureChromium();
    running = await startConsoleServer(
      {
        connection: s,
        stackName: STACK_NAME,
        source: 'integration run',
        readOnly: false,
        extraReads: { '/api/reports': async () => loadReports([], localDir) },
      },
      { port: 0 },
    );
    // Root (CI) needs --no-sandbox; the page is the console's own, on 127.0.0.1.
    browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  });

  afterAll(async () => {
    await setFaults(s, {});
    await browser?.close();
    await running?.close();
  });

  it('shows the counts, a key parked by the poison-key fault, and its replay (confirmed) releases it', async () => {
    // GIVEN a key whose messages always fail (the fault kit's poison key): an order and a note, both parked
    const poisoned = uniquePrefix('console-poison');
    await setFaults(s, { poisonKey: poisoned });
    await s.api.placeOrder({
      customerId: 'c',
      items: [{ sku: `${poisoned}-sku`, quantity: 1 }],
      orderId: poisoned,
    });
    expect((await s.api.addNote(poisoned, 'parked with its order')).status).toBe(201);
    const inbox = { dynamodb: s.dynamodb, inboxTableName: s.outputs.InboxTableName };
    // (its note is parked with it, or held behind it when it came before the order was parked: replay releases both)
    await eventually(
      'both messages of the poison key kept, the key parked',
      async () =>
        (await keptMessages(s, poisoned)) === 2 && (await listParked(inbox, poisoned)).length > 0
          ? true
          : undefined,
      150_000,
    );

    // WHEN the page is opened with the token the console printed
    await page.goto(`${running.url}#token=${running.token}`);
    await page.locator('body[data-ready="true"]').waitFor({ timeout: 30_000 });

    // THEN the token left the address bar, and the flow shows the stack's counts as `ops status` reads them
    expect(page.url()).toBe(running.url);
    const report = await status(s, new Date(), STACK_NAME);
    expect(await text(page, '#stack-name')).toBe(STACK_NAME);
    expect(Number(await text(page, '[data-count="parked"]'))).toBe(report.inbox.parkedMessages);
    expect(Number(await text(page, '[data-count="outbox-failed"]'))).toBe(report.outbox.failed);
    expect(Number(await text(page, '[data-count="open-transactions"]'))).toBe(report.outbox.prepared);
    expect(await page.locator('#alarms li[data-alarm="ParkedKeys"]').count()).toBe(1);

    // AND the key, end to end, is parked with reconcile's verdict and the fault as the reason
    await page.fill('#key-input', poisoned);
    await page.click('#key-form button[type="submit"]');
    await page.locator('[data-fact="parked"]', { hasText: 'yes' }).waitFor({ timeout: 30_000 });
    expect(await text(page, '[data-fact="committed"]')).toBe('2');
    expect(await text(page, '[data-fact="applied"]')).toBe('0');
    expect(await text(page, '#key-reconcile')).toContain(`replay --key ${poisoned}`);
    expect(await text(page, '#key-view')).toContain('poison');

    // AND it is in the parked keys, with its replay button
    const replay = page.locator(`#parked-keys button[data-repair="replay"][data-key="${poisoned}"]`);
    await replay.waitFor({ timeout: 30_000 });
    mkdirSync(localDir, { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });

    // WHEN the replay is asked for and cancelled THEN nothing happens
    await replay.click();
    await page.locator('#confirm-dialog[open]').waitFor();
    await page.click('#confirm-cancel');
    expect(await page.locator('#confirm-dialog[open]').count()).toBe(0);
    expect(await keptMessages(s, poisoned)).toBe(2);

    // WHEN the cause is fixed, and the replay asked for and confirmed
    await setFaults(s, {});
    await replay.click();
    await page.locator('#confirm-dialog[open]').waitFor();
    // (a stack of several consumer groups names the group: the reference application's poisoned key is projection's)
    const groups = (await status(s, new Date(), STACK_NAME)).groups;
    expect(await text(page, '#confirm-command')).toBe(
      `npx reliable-messaging-ops replay --key ${poisoned}${groups.length > 1 ? ` --group ${groups[0]!.group}` : ''} --stack ${STACK_NAME}`,
    );
    await page.click('#confirm-ok');

    // THEN the page reports it, the key's messages are applied in order, and the key leaves the parked list
    await page.locator('#repair-result', { hasText: 'replayed' }).waitFor({ timeout: 30_000 });
    // (both messages, or the order alone when its note was held behind it: the release applies the note)
    expect(await text(page, '#repair-result')).toMatch(
      new RegExp(`key ${poisoned}: [12] parked message\\(s\\) replayed`),
    );
    await eventually('the replayed key applied', async () => {
      const view = await s.api.getView(poisoned);
      return view.status === 200 && view.body.version === 2 ? view.body : undefined;
    });
    expect((await s.api.getView(poisoned)).body.notes).toEqual(['parked with its order']);
    await page
      .locator(`#parked-keys button[data-key="${poisoned}"]`)
      .waitFor({ state: 'detached', timeout: 30_000 });
    await page.click('#key-form button[type="submit"]');
    await page.locator('[data-fact="applied"]', { hasText: '2' }).waitFor({ timeout: 30_000 });
    expect(await text(page, '[data-fact="verdict"]')).toBe('all terminal');
  });
});

/** How many messages of `groupKey` the projection group's inbox keeps, parked or held. */
async function keptMessages(s: Stack, groupKey: string): Promise<number> {
  let kept = 0;
  for (const prefix of [StorageKey.PARKED, StorageKey.HELD]) {
    const page = await s.dynamodb.send(
      new QueryCommand({
        TableName: s.outputs.InboxTableName,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        ExpressionAttributeValues: { ':pk': keyPartition(groupKey), ':prefix': prefix },
        ConsistentRead: true,
      }),
    );
    kept += page.Items?.length ?? 0;
  }
  return kept;
}
