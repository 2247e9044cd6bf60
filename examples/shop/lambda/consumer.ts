import { fifoConsumerHandler, requiredEnv } from 'reliable-messaging-serverless/runtime';

/** Applies each account's events once and in order to its view (one item per account, at its last sequence). */
export const handler = fifoConsumerHandler({
  cursor: { tableName: requiredEnv('VIEW_TABLE_NAME'), key: (accountId) => ({ pk: accountId }) },
  cursorEffect: { name: 'latest', attributes: (message) => ({ latestType: message.type }) },
});
