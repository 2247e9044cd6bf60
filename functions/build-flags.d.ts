/**
 * Replaced by the bundler (esbuild `define`): `true` only in the functions of a stack synthesized with fault
 * injection, `false` everywhere else, so that in a production bundle every fault branch is dead code and is
 * removed. Undefined when the code runs unbundled (unit tests).
 */
declare const FAULT_INJECTION_ENABLED: boolean | undefined;
