import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { type Browser, chromium } from 'playwright-core';
import type { DeployedStack, LocalEmulator } from 'reliable-messaging-serverless/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localDir } from '../../tools/paths';
import { ensureChromium } from '../integration/support/chromium';
import { type AccountView, documentClient, scanAll, watchViews } from './support/account-views';
import { importInstalledTesting, type TestingEntry } from './support/installed-testing';
import { opsCli, serveConsole } from './support/shipped-cli';
import { SHOP_STACK, step } from './support/shop-app';

/**
 * The emulator of the package test: its own MiniStack on its own port (the integration project's is on 4566), or the
 * one `AWS_ENDPOINT_URL` names (LocalStack, or a MiniStack already running).
 */
const EMULATOR_PORT = Number(process.env.SHOP_EMULATOR_PORT ?? 4599);
/** Accounts driven at once, and balance changes (messages) per account. */
const ACCOUNTS = 4;
const VERSIONS = 5;

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0));
    });
  });

/**
 * examples/shop deployed to a local emulator with the installed package's `./testing` helpers, driven through its
 * producer, checked in its view, and operated with the installed package's `reliable-messaging-ops`: what
 * docs/testing-locally.md tells a user to do, step by step. Run alone with
 * `npx vitest run --project package -t 'on the local emulator'` (add `-t console` for the browser test only).
 */
export function describeShopOnTheEmulator(appDirectory: () => string): void {
  describe('the shop example on the local emulator, as its user tests it', () => {
    let app: string;
    let testing: TestingEntry;
    let emulator: LocalEmulator | undefined;
    let stack: DeployedStack;

    beforeAll(async () => {
      app = appDirectory();
      testing = await importInstalledTesting(app);
      let started = Date.now();
      emulator = await testing.startLocalEmulator({ port: EMULATOR_PORT, directory: localDir });
      step(`emulator ${emulator.endpoint}${emulator.startedHere ? ' started' : ' (running)'}`, started);
      started = Date.now();
      stack = await testing.deployStack({
        stackName: SHOP_STACK,
        endpoint: emulator.endpoint,
        appDirectory: app,
      });
      step('cdk bootstrap + cdk deploy ShopMessaging', started);
    }, 900_000);

    afterAll(async () => {
      await emulator?.stop();
    });

    it("applies every account's balance changes once and in order to its view", async () => {
      // GIVEN the deployed stack, its view table empty of this run's accounts
      const dynamodb = documentClient(stack);
      const views = testing.findResource(stack, 'Views').physicalId;
      const accountsTable = testing.findResource(stack, 'Accounts').physicalId;
      const run = randomUUID().slice(0, 8);
      const accounts = Array.from({ length: ACCOUNTS }, (_, i) => `account-${run}-${i}`);
      const watch = watchViews(dynamodb, views, accounts);

      // WHEN the producer moves each account through VERSIONS versions (accounts at once, each one in order)
      const started = Date.now();
      await Promise.all(
        accounts.map(async (accountId) => {
          for (let version = 0; version < VERSIONS; version += 1) {
            await testing.invokeFunction(stack, 'ProducerFunction', {
              accountId,
              version,
              balance: 100 * version,
            });
          }
        }),
      );
      step(`${ACCOUNTS * VERSIONS} producer invocations`, started);
      const settling = Date.now();
      const backlog = await testing.waitForMessagesSettled(stack, { timeoutMs: 240_000 });
      const histories = await watch.stop();
      step('messages settled (outbox, queue, inbox)', settling);

      // THEN nothing is left anywhere in the pipeline
      expect(backlog).toEqual({ outboxUnsent: 0, queued: 0, deadLettered: 0, heldOrParked: 0 });
      // AND the producer committed every version, and the view shows every account at its last one
      const committed = await scanAll<{ pk: string; version: number }>(dynamodb, accountsTable);
      const viewed = await scanAll<AccountView>(dynamodb, views);
      for (const accountId of accounts) {
        expect(committed.find((item) => item.pk === accountId)?.version).toBe(VERSIONS);
        expect(viewed.find((item) => item.pk === accountId)).toMatchObject({
          lastSequence: VERSIONS,
          latestType: 'BalanceChanged',
        });
        // AND, as watched, each account's lastSequence only ever moved up, one message at a time
        const history = histories.get(accountId) ?? [];
        expect(history.length).toBeGreaterThan(0);
        expect(history).toEqual([...history].sort((a, b) => a - b));
        expect(
          history.every((sequence) => Number.isInteger(sequence) && sequence >= 1 && sequence <= VERSIONS),
        ).toBe(true);
      }
    });

    it('passes the shipped status (exit 0: nothing unsent, dead-lettered or parked)', () => {
      const env = testing.emulatorEnvironment(stack.endpoint);
      const started = Date.now();
      const status = opsCli(app, ['status', '--stack', SHOP_STACK, '--json'], env);
      step('npx reliable-messaging-ops status --stack ShopMessaging', started);
      expect(status, status.stderr).toMatchObject({ exitCode: 0 });
      const report = JSON.parse(status.stdout) as {
        outbox: { pending: number; failed: number; prepared: number };
        deadLetterQueue: { visible: number; inFlight: number };
        parkedKeys: string[];
      };
      expect(report.outbox).toMatchObject({ pending: 0, failed: 0, prepared: 0 });
      expect(report.deadLetterQueue).toEqual({ visible: 0, inFlight: 0 });
      expect(report.parkedKeys).toEqual([]);
    });

    it('passes the shipped wait (exit 0: every committed message settled)', () => {
      const env = testing.emulatorEnvironment(stack.endpoint);
      const started = Date.now();
      const wait = opsCli(app, ['wait', '--stack', SHOP_STACK, '--timeout', '60', '--json'], env);
      step('npx reliable-messaging-ops wait --stack ShopMessaging', started);
      expect(wait, `${wait.stdout}\n${wait.stderr}`).toMatchObject({ exitCode: 0 });
    });

    it('passes the shipped reconcile with no option but the stack (exit 0: every committed message applied)', () => {
      const env = testing.emulatorEnvironment(stack.endpoint);
      const started = Date.now();
      const reconcile = opsCli(app, ['reconcile', '--stack', SHOP_STACK, '--json'], env);
      step('npx reliable-messaging-ops reconcile --stack ShopMessaging', started);
      expect(reconcile, `${reconcile.stdout}\n${reconcile.stderr}`).toMatchObject({ exitCode: 0 });
      // the producer's table and the consumer's cursor table, both declared in the CDK app, read by the CLI
      const report = JSON.parse(reconcile.stdout) as {
        allTerminal: boolean;
        messagesCommitted: number;
        applied: number;
      };
      expect(report.allTerminal).toBe(true);
      expect(report.messagesCommitted).toBeGreaterThanOrEqual(ACCOUNTS * VERSIONS);
      expect(report.applied).toBe(report.messagesCommitted);
    });

    describe('the shipped console in a real browser', () => {
      let browser: Browser | undefined;

      afterAll(async () => {
        await browser?.close();
      });

      it("shows the shop's flow: the outbox, queue and inbox counts that status reads; no repair without the token", async () => {
        // GIVEN the console the installed package serves for the stack (it prints a repair token; the page without it
        // can only read)
        const env = testing.emulatorEnvironment(stack.endpoint);
        const started = Date.now();
        const port = await freePort();
        const served = await serveConsole(app, ['--stack', SHOP_STACK, '--port', String(port)], env);
        try {
          expect(served.url).toContain(`127.0.0.1:${port}`);
          browser = await chromium.launch({
            executablePath: ensureChromium(),
            headless: true,
            args: ['--no-sandbox'],
          });
          const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
          const pageErrors: string[] = [];
          page.on('pageerror', (error) => pageErrors.push(error.message));

          // WHEN the page is opened
          await page.goto(served.url);
          await page.locator('body[data-ready="true"]').waitFor({ timeout: 60_000 });
          step('console served and loaded in Chromium', started);

          // THEN it names the stack, shows no error, and draws the flow with the counts status reads
          const text = async (selector: string) =>
            ((await page.locator(selector).first().textContent()) ?? '').trim();
          expect(await text('#stack-name')).toBe(SHOP_STACK);
          // and a repair without the token is refused (nothing is written)
          const repair = await page.evaluate(async () => {
            const response = await fetch('/api/repairs/redrive', {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: '{}',
            });
            return response.status;
          });
          expect(repair).toBe(403);
          expect(await page.locator('#error').isHidden()).toBe(true);
          expect(pageErrors).toEqual([]);
          const status = JSON.parse(opsCli(app, ['status', '--stack', SHOP_STACK, '--json'], env).stdout) as {
            outbox: { pending: number; failed: number };
            queue: { visible: number };
            inbox: { parkedMessages: number };
          };
          expect(Number(await text('[data-count="outbox-pending"]'))).toBe(status.outbox.pending);
          expect(Number(await text('[data-count="outbox-failed"]'))).toBe(status.outbox.failed);
          expect(Number(await text('[data-count="queue"]'))).toBe(status.queue.visible);
          expect(Number(await text('[data-count="parked"]'))).toBe(status.inbox.parkedMessages);
        } finally {
          await served.stop();
        }
      });
    });
  });
}
