import { inject } from 'vitest';
import { type Connection, connect } from '../../../scripts/local/stack-control';

export { outboxItems, queueDepth, scanAll } from '../../../scripts/local/stack-queries';
export { eventually, uniquePrefix } from '../../../scripts/local/wait';

/** Clients for the stack the integration run deployed to the emulator. */
export function stack(): Connection {
  return connect(inject('outputs'), inject('endpoint'));
}

export type Stack = Connection;
