import { chance, type FaultSource, InjectedFaultError } from 'reliable-messaging-serverless/runtime/testing';
import type { PaymentHooks } from './payment-service';

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The faults a half-message producer can suffer: a local step that starts late (`slowLocalStepMs`), a crash before
 * its local step, and one between it and the commit.
 */
export function paymentFaultHooks(
  faults: FaultSource,
  random: () => number = Math.random,
  sleep: (ms: number) => Promise<void> = defaultSleep,
): PaymentHooks {
  return {
    async beforeLocalStep() {
      const { slowLocalStepMs } = await faults.current();
      if (slowLocalStepMs !== undefined && slowLocalStepMs > 0) await sleep(slowLocalStepMs);
      if (chance((await faults.current()).producerCrashBeforeLocalStep, random)) {
        throw new InjectedFaultError('producer crashed after prepare, before the local step');
      }
    },
    async beforeCommit() {
      if (chance((await faults.current()).producerCrashBeforeCommit, random)) {
        throw new InjectedFaultError('producer crashed after the local step, before commit');
      }
    },
  };
}
