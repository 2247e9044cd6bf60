import { ReliableMessagingError } from '../../../functions/runtime/errors';
import { redrive, replay, resolve, retryFailedMessages } from '../commands';
import type { OpsConnection as Connection } from '../connection';
import { groupsOf } from '../consumer-groups';
import { OpsError } from '../errors';
import { flowSnapshot } from './flow-snapshot';
import { BadRequestError, ConflictError, MethodNotAllowedError, NotFoundError } from './http-errors';
import { keyView } from './key-view';
import { repairLists } from './repair-lists';
import { type RepairName, repairBody } from './repair-requests';

/** What the routes act on. */
export interface ConsoleContext {
  readonly connection: Connection;
  readonly stackName: string;
  /** Where the outputs came from (for the page's title line). */
  readonly source: string;
  /** Repairs refused (403) and hidden from the page. */
  readonly readOnly: boolean;
  /**
   * More GET routes, by path under `/api/` (e.g. the repository's `/api/reports`: its bench and chaos runs' plots).
   * `/api/console` lists their paths so the page shows only the sections it has data for. @default none
   */
  readonly extraReads?: Readonly<Record<string, (query: URLSearchParams) => Promise<object>>>;
}

/** How often the page reads the flow again. */
export const REFRESH_SECONDS = 3;

type Handler = (context: ConsoleContext, query: URLSearchParams, body: unknown) => Promise<object>;

/** The repairs: each calls the ops command of the same name (lib/ops/commands.ts), nothing else. */
const REPAIRS: Readonly<Record<RepairName, Handler>> = {
  'retry-failed': async ({ connection }, _query, body) => {
    const { groupKey, messageId } = repairBody('retry-failed', body);
    return retryFailedMessages(connection, {
      ...(groupKey === undefined ? {} : { groupKey }),
      ...(messageId === undefined ? {} : { messageId }),
    });
  },
  replay: async ({ connection }, _query, body) => {
    const { groupKey, group } = repairBody('replay', body);
    return replay(connection, groupKey, group);
  },
  redrive: async ({ connection }, _query, body) => {
    const { dryRun, group } = repairBody('redrive', body);
    return redrive(connection, dryRun === true, group);
  },
  resolve: async ({ connection }, _query, body) => {
    const { transactionId, outcome } = repairBody('resolve', body);
    return resolve(connection, transactionId, outcome);
  },
};

const READS: Readonly<Record<string, Handler>> = {
  '/api/console': async ({ connection, stackName, source, readOnly, extraReads }) => ({
    stackName,
    source,
    readOnly,
    refreshSeconds: REFRESH_SECONDS,
    extraReads: Object.keys(extraReads ?? {}),
    groups: groupsOf(connection).map((group) => group.name),
  }),
  '/api/status': async ({ connection, stackName }, query) =>
    flowSnapshot(connection, stackName, new Date(), groupParameter(query)),
  '/api/key': async ({ connection }, query) =>
    keyView(connection, keyParameter(query), groupParameter(query)),
  '/api/repairs': async ({ connection }, query) => repairLists(connection, groupParameter(query)),
};

/** `?group=NAME`: one consumer group (an unknown one is the ops commands' usage error: 409); absent: every group. */
function groupParameter(query: URLSearchParams): string | undefined {
  const groups = query.getAll('group');
  if (groups.length > 1) throw new BadRequestError('give at most one group: ?group=NAME');
  const group = groups[0];
  if (group === undefined || group === '') return undefined;
  if (group.length > 256 || /\p{Cc}/u.test(group)) {
    throw new BadRequestError('the group must be 1 to 256 characters, none of them a control character');
  }
  return group;
}

function keyParameter(query: URLSearchParams): string {
  const keys = query.getAll('key');
  if (keys.length !== 1) throw new BadRequestError('give one key: /api/key?key=K');
  const key = keys[0]!;
  if (key.trim() === '' || key.length > 1024 || /\p{Cc}/u.test(key)) {
    throw new BadRequestError('the key must be 1 to 1024 characters, none of them a control character');
  }
  return key;
}

const REPAIR_PREFIX = '/api/repairs/';

/** Whether a path is a repair route (a POST that needs the token). */
export const isRepairPath = (path: string): boolean =>
  path.startsWith(REPAIR_PREFIX) && Object.hasOwn(REPAIRS, path.slice(REPAIR_PREFIX.length));

/**
 * Answers one API request (the Host, Origin, token and read-only checks are the server's, before this). Library refusals
 * (a transaction no longer open, a stack without a producer table) become 409 with their message.
 */
export async function handleApi(
  context: ConsoleContext,
  method: string,
  path: string,
  query: URLSearchParams,
  body: unknown,
): Promise<object> {
  const extra =
    context.extraReads !== undefined && Object.hasOwn(context.extraReads, path)
      ? context.extraReads[path]
      : undefined;
  const read: Handler | undefined = Object.hasOwn(READS, path)
    ? READS[path]
    : extra === undefined || !path.startsWith('/api/')
      ? undefined
      : (_context, query) => extra(query);
  const repair = isRepairPath(path) ? REPAIRS[path.slice(REPAIR_PREFIX.length) as RepairName] : undefined;
  if (read === undefined && repair === undefined) throw new NotFoundError(`no route ${path}`);
  if (read !== undefined && method !== 'GET') throw new MethodNotAllowedError(`${path} takes GET`);
  if (repair !== undefined && method !== 'POST') throw new MethodNotAllowedError(`${path} takes POST`);
  try {
    return await (read ?? repair)!(context, query, body);
  } catch (error) {
    if (error instanceof ReliableMessagingError || error instanceof OpsError) {
      throw new ConflictError(`${error.name}: ${error.message}`, { cause: error });
    }
    throw error;
  }
}
