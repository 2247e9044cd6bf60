import { inject } from 'vitest';
import { type Connection, connect } from '../../../tools/stack/stack-control';

export { outboxItems, queueDepth, scanAll } from '../../../tools/stack/stack-queries';
export { eventually, uniquePrefix } from '../../../tools/wait';

/** Clients for the stack the integration run deployed to the emulator. */
export function stack(): Connection {
  return connect(inject('outputs'), inject('endpoint'));
}

export type Stack = Connection;
