import type { MessageEnvelope } from '../outbox/outbox-message';
import { chance, type FaultSource, InjectedFaultError } from './fault-injector';

/** Before the effect: every message of the configured poison key fails. */
export async function failIfPoison(faults: FaultSource, message: MessageEnvelope): Promise<void> {
  const { poisonKey } = await faults.current();
  if (poisonKey !== undefined && poisonKey === message.groupKey) {
    throw new InjectedFaultError(`poison message of key ${message.groupKey}`);
  }
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
