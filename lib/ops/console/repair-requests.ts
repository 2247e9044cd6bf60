import { z } from 'zod';
import { BadRequestError } from './http-errors';

// The bodies of the repair routes: exactly the fields each takes (an unknown field is a mistake, answered 400).

const key = z.string().min(1).max(1024);
/** The consumer group a replay or redrive acts on (needed when the stack has several). */
const group = z.string().min(1).max(256).optional();

export const REPAIR_BODIES = {
  'retry-failed': z.strictObject({ groupKey: key.optional(), messageId: key.optional() }),
  replay: z.strictObject({ groupKey: key, group }),
  redrive: z.strictObject({ dryRun: z.boolean().optional(), group }),
  resolve: z.strictObject({ transactionId: key, outcome: z.enum(['commit', 'rollback']) }),
} as const;

export type RepairName = keyof typeof REPAIR_BODIES;
export type RepairBody<N extends RepairName> = z.infer<(typeof REPAIR_BODIES)[N]>;

export const isRepairName = (name: string): name is RepairName => Object.hasOwn(REPAIR_BODIES, name);

/** The body of a repair, checked; BadRequestError (400) with what is wrong, field by field. */
export function repairBody<N extends RepairName>(name: N, body: unknown): RepairBody<N> {
  const parsed = REPAIR_BODIES[name].safeParse(body);
  if (!parsed.success) {
    const details = parsed.error.issues.map(
      (issue) => `${issue.path.length === 0 ? 'body' : issue.path.join('.')}: ${issue.message}`,
    );
    throw new BadRequestError(`bad ${name} request: ${details.join('; ')}`);
  }
  return parsed.data as RepairBody<N>;
}

/** A JSON body's text parsed; BadRequestError (400) when it is not JSON. An empty body is `{}`. */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new BadRequestError('the request body is not JSON', { cause: error });
  }
}
