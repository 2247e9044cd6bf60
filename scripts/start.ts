import { randomUUID } from 'node:crypto';
import { OrdersApiClient } from '../tools/stack/api-client';
import { outputsFile } from '../tools/stack/outputs';
import { deployToEmulator } from './local/deploy';
import { startEmulator } from './local/emulator';

/**
 * `npm start`: emulator up (installed if needed, or AWS_ENDPOINT_URL), stack deployed, outputs printed,
 * a few orders placed and followed to the consumer. The stack is left running; `npm run stop` stops what
 * this started.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const unknown = args.filter((arg) => arg !== '--faults');
  if (unknown.length > 0) {
    throw new Error(`unknown option(s) ${unknown.join(' ')}; usage: npm start [-- --faults]`);
  }
  const faults = args.includes('--faults');
  const started = Date.now();
  const emulator = await startEmulator();
  console.log(`Emulator: ${emulator.endpoint}${emulator.startedHere ? ' (started now)' : ''}`);

  console.log(
    `Deploying ReliableMessagingDemo${faults ? ' with the fault-injection kit (a TEST stack)' : ''} …`,
  );
  const deployStart = Date.now();
  const outputs = await deployToEmulator(emulator.endpoint, { quiet: true, faults });
  console.log(
    `Deployed in ${((Date.now() - deployStart) / 1000).toFixed(1)} s. Outputs (also in ${outputsFile}):`,
  );
  for (const [name, value] of Object.entries(outputs)) console.log(`  ${name.padEnd(22)} ${value}`);

  const api = new OrdersApiClient(outputs.ApiUrl);
  const run = randomUUID().slice(0, 8);
  const orders = [
    {
      orderId: `demo-${run}-1`,
      items: [{ sku: `demo-widget`, quantity: 2 }],
      notes: ['gift wrap', 'leave at door'],
    },
    {
      orderId: `demo-${run}-2`,
      items: [{ sku: `demo-gadget`, quantity: 1 }],
      notes: ['call first'],
      cancel: true,
    },
    {
      orderId: `demo-${run}-3`,
      items: [
        { sku: `demo-widget`, quantity: 3 },
        { sku: 'demo-gadget', quantity: 1 },
      ],
      notes: [],
    },
  ];
  console.log('\nPlacing orders through the API …');
  for (const order of orders) {
    const placed = await api.placeOrder({ customerId: 'demo', items: order.items, orderId: order.orderId });
    console.log(`  POST /orders → ${placed.status} ${JSON.stringify(placed.body)}`);
    for (const note of order.notes) {
      const added = await api.addNote(order.orderId, note);
      console.log(`  POST /orders/${order.orderId}/notes → ${added.status} v${added.body.version}`);
    }
    if (order.cancel) {
      const cancelled = await api.cancel(order.orderId);
      console.log(`  POST /orders/${order.orderId}/cancel → ${cancelled.status} v${cancelled.body.version}`);
    }
  }

  console.log('\nWaiting for the consumer to apply them (outbox → relay → SQS FIFO → consumer) …');
  const deliveryStart = Date.now();
  for (const order of orders) {
    const expectedVersion = 1 + order.notes.length + (order.cancel ? 1 : 0);
    for (;;) {
      const view = await api.getView(order.orderId);
      if (view.status === 200 && view.body.version === expectedVersion) {
        console.log(
          `  ${order.orderId}: ${view.body.status} v${view.body.version} notes=${JSON.stringify(view.body.notes)} ` +
            `(${Date.now() - deliveryStart} ms)`,
        );
        break;
      }
      if (Date.now() - deliveryStart > 60_000)
        throw new Error(`order ${order.orderId} was not delivered within 60 s`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
  for (const sku of ['demo-widget', 'demo-gadget']) {
    const level = await api.getInventory(sku);
    console.log(`  GET /inventory/${sku} → ${JSON.stringify(level.body)}`);
  }

  console.log(
    `\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s. The stack keeps running at ${outputs.ApiUrl}`,
  );
  console.log(
    emulator.startedHere || !process.env.AWS_ENDPOINT_URL
      ? 'Stop the emulator with: npm run stop'
      : 'The emulator at AWS_ENDPOINT_URL was not started here and is left as it is.',
  );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
