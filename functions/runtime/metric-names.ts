import { Env } from './environment';

/** The CloudWatch namespace of the metrics the library's functions publish (EMF, through Powertools Metrics). */
export const METRICS_NAMESPACE = 'ReliableMessaging';

/**
 * The dimension that says which stack published a metric, beside Powertools' `service`: two stacks in one account
 * and region publish the same metric names, and each stack's alarms must see its own only.
 */
export const STACK_DIMENSION = 'stack';

/** The environment variable the constructs set to the function's stack name (the value of `STACK_DIMENSION`). */
export const METRICS_STACK_ENV = Env.METRICS_STACK_NAME;
