import { parseArgs } from 'node:util';
import { readOutputs } from './local/deploy';
import { connect } from './local/stack-control';
import { redrive, replay, resolve, retryFailedMessages, status } from './ops/commands';

const USAGE = `usage: npm run ops -- <command> [options] [--json]
  status                                   outbox, queue, DLQ, inbox (held, parked) and alarm states
  retry-failed [--key K] [--message M]     FAILED outbox messages back to PENDING (the next sweep sends them)
  replay --key K                           a parked key's messages applied again, in order
  resolve --transaction T --commit|--rollback   resolve a transactional message by hand
  redrive [--dry-run]                      dead-letter queue back to the queue, per-key order kept`;

/** `npm run ops`: see and repair the stack `npm start` deployed (its outputs are read from .local/outputs.json). */
async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      key: { type: 'string' },
      message: { type: 'string' },
      transaction: { type: 'string' },
      commit: { type: 'boolean', default: false },
      rollback: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const [command] = positionals;
  const endpoint = process.env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4566';
  const c = connect(readOutputs(), endpoint.replace(/\/+$/, ''));
  let result: unknown;
  switch (command) {
    case 'status':
      result = await status(c);
      break;
    case 'retry-failed':
      result = await retryFailedMessages(c, {
        ...(values.key === undefined ? {} : { groupKey: values.key }),
        ...(values.message === undefined ? {} : { messageId: values.message }),
      });
      break;
    case 'replay':
      if (values.key === undefined) throw new Error(`replay needs --key\n${USAGE}`);
      result = await replay(c, values.key);
      break;
    case 'resolve':
      if (values.transaction === undefined || values.commit === values.rollback) {
        throw new Error(`resolve needs --transaction and exactly one of --commit, --rollback\n${USAGE}`);
      }
      result = await resolve(c, values.transaction, values.commit ? 'commit' : 'rollback');
      break;
    case 'redrive':
      result = await redrive(c, values['dry-run']);
      break;
    default:
      throw new Error(`unknown command ${command ?? '(none)'}\n${USAGE}`);
  }
  console.log(values.json ? JSON.stringify(result) : render(result));
}

/** A readable rendering: one `path  value` line per leaf. */
function render(value: unknown, path = ''): string {
  if (value === null || typeof value !== 'object') return `${path.padEnd(44)} ${String(value)}`;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  if (entries.length === 0) return `${path.padEnd(44)} (none)`;
  return entries.map(([key, child]) => render(child, path === '' ? key : `${path}.${key}`)).join('\n');
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exitCode = 1;
});
