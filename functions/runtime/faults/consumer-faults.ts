import { Env } from '../environment';
import type { MessageEnvelope } from '../outbox/outbox-message';
import { chance, type FaultSource, InjectedFaultError } from './fault-injector';

/**
 * Before the effect: every message of the configured poison key fails — in every consumer, or, with `poisonGroup`,
 * only in the consumer of that group (`group`: the consumer's `CONSUMER_GROUP`; a consumer of no group is not it).
 */
export async function failIfPoison(
  faults: FaultSource,
  message: MessageEnvelope,
  group: string | undefined = process.env[Env.CONSUMER_GROUP] || undefined,
): Promise<void> {
  const { poisonKey, poisonGroup } = await faults.current();
  if (poisonKey === undefined || poisonKey !== message.groupKey) return;
  if (poisonGroup !== undefined && poisonGroup !== group) return;
  throw new InjectedFaultError(
    `poison message of key ${message.groupKey}${poisonGroup === undefined ? '' : ` in group ${poisonGroup}`}`,
  );
}

/** After the effect was committed: crash before the record is acknowledged. */
export async function maybeCrashAfterEffect(
  faults: FaultSource,
  random: () => number = Math.random,
): Promise<void> {
  if (chance((await faults.current()).consumerCrashAfterEffect, random)) {
    throw new InjectedFaultError('consumer crashed after the effect, before the ack');
  }
}
