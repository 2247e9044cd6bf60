/**
 * The environment variable that names the SSM parameter a TEST stack's functions read the faults to inject from: set
 * by `FaultInjection`, read by the fault injector. Not in `Env` (environment.ts), which every bundle carries: a
 * production bundle holds no fault code, not even this name (test/cdk/reference/reliability-and-faults.test.ts looks
 * for it).
 */
export const FAULTS_PARAMETER_ENV = 'FAULTS_PARAMETER_NAME';
