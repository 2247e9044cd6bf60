import { fifoConsumerHandler } from 'reliable-messaging-serverless/runtime';

/**
 * Applies each account's events once and in order to its view: the view's item is the account's cursor (the table
 * the app gives `addConsumer` as `cursorTable`), so the latest type is set in the same write that moves it.
 */
export const handler = fifoConsumerHandler({
  cursorEffect: { name: 'latest', attributes: (message) => ({ latestType: message.type }) },
});
