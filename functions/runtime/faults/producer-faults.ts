import type { PaymentHooks } from '../../reference/payments/payment-service';
import { chance, type FaultSource, InjectedFaultError } from './fault-injector';

/** The crashes a half-message producer can suffer: before its local step, and between it and the commit. */
export function paymentFaultHooks(faults: FaultSource, random: () => number = Math.random): PaymentHooks {
  return {
    async beforeLocalStep() {
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
